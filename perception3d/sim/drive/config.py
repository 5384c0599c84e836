"""Configuration of synthetic drives (``perception3d synth-drive``).

Frozen dataclasses loaded by :func:`perception3d.config.from_dict`; the world and sensor sections
are the single-frame generator's (:mod:`perception3d.sim.config`), so a drive looks like the
frames of ``perception3d synth``. Speeds in m/s, accelerations in m/s^2, times in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from perception3d.sim.config import SynthConfig, WorldConfig

__all__ = ["DriveConfig", "EgoConfig", "TrafficConfig", "load_drive_config"]


def _check_range(name: str, lo_hi: tuple[float, float], low: float = 0.0) -> None:
    lo, hi = lo_hi
    if not low <= lo <= hi:
        raise ValueError(f"{name} must satisfy {low} <= lo <= hi, got {lo_hi}")


@dataclass(frozen=True)
class EgoConfig:
    """The ego car: an intelligent-driver-model (IDM) follower in its lane.

    Defaults: urban driving as in KITTI's city and residential drives (30-50 km/h), IDM
    parameters of Treiber et al. 2000 for city traffic (a = 1.0-1.5 m/s^2, b = 1.5-2 m/s^2,
    T = 1.5 s, s0 = 2 m).
    """

    desired_speed_mps: tuple[float, float] = (7.0, 11.0)
    start_speed_fraction: tuple[float, float] = (0.5, 1.0)  # of the desired speed
    max_accel_mps2: float = 1.5
    comfort_decel_mps2: float = 2.0
    time_headway_s: float = 1.5
    min_gap_m: float = 2.0
    lateral_wander_m: float = 0.15  # amplitude of the drift within the lane
    wander_length_m: tuple[float, float] = (60.0, 150.0)  # its wavelength along the road
    pitch_per_accel_rad: float = 0.004  # body pitch (nose up) per m/s^2 of acceleration

    def __post_init__(self) -> None:
        _check_range("ego.desired_speed_mps", self.desired_speed_mps, 0.5)
        _check_range("ego.start_speed_fraction", self.start_speed_fraction)
        if self.max_accel_mps2 <= 0 or self.comfort_decel_mps2 <= 0:
            raise ValueError("ego.max_accel_mps2 and ego.comfort_decel_mps2 must be > 0")


@dataclass(frozen=True)
class TrafficConfig:
    """How the other road users move.

    Vehicles and cyclists in a driving lane follow the IDM (with the ego's parameters) at their
    own desired speed; pedestrians walk along the sidewalk or across the road; parked cars,
    cars in driveways and at a cross street, and sitting people stand still.
    """

    vehicle_speed_mps: tuple[float, float] = (6.0, 13.0)
    cyclist_speed_mps: tuple[float, float] = (3.0, 6.0)
    pedestrian_speed_mps: tuple[float, float] = (0.9, 1.7)
    standing_pedestrian_fraction: float = 0.3
    anchor_spacing_m: float = 45.0  # objects are placed around the route every this far

    def __post_init__(self) -> None:
        _check_range("traffic.vehicle_speed_mps", self.vehicle_speed_mps, 0.5)
        _check_range("traffic.cyclist_speed_mps", self.cyclist_speed_mps, 0.5)
        _check_range("traffic.pedestrian_speed_mps", self.pedestrian_speed_mps, 0.1)
        if not 0.0 <= self.standing_pedestrian_fraction <= 1.0:
            raise ValueError("traffic.standing_pedestrian_fraction must be in [0, 1]")
        if self.anchor_spacing_m < 10.0:
            raise ValueError(f"traffic.anchor_spacing_m must be >= 10, got {self.anchor_spacing_m}")


@dataclass(frozen=True)
class DriveConfig(WorldConfig):
    """Everything that defines a set of synthetic drives (``DIR/drive_config.yaml``): the world
    and sensor sections of `WorldConfig` and these.

    Attributes:
        seed, frames, drives: drive d (0-based) of seed s is the same whatever the others.
        frame_rate_hz: camera and LiDAR rate (KITTI: 10 Hz).
        date: the date folder (``YYYY_MM_DD``) and the timestamps' day.
        max_route_m: the drive must stay within this distance of its start (the static world
            holds detail up to 250 m ahead; the sensors see ~80 m): frames * top speed / rate
            above it is refused.
    """

    seed: int = 0
    frames: int = 50
    drives: int = 1
    frame_rate_hz: float = 10.0
    date: str = "2011_09_26"
    max_route_m: float = 170.0
    ego: EgoConfig = field(default_factory=EgoConfig)
    traffic: TrafficConfig = field(default_factory=TrafficConfig)

    def __post_init__(self) -> None:
        if self.seed < 0 or self.frames < 2 or self.drives < 1:
            raise ValueError(
                f"need seed >= 0, frames >= 2, drives >= 1, got {self.seed}, {self.frames}, "
                f"{self.drives}"
            )
        if not 1.0 <= self.frame_rate_hz <= 100.0:
            raise ValueError(f"frame_rate_hz must be in [1, 100], got {self.frame_rate_hz}")
        parts = self.date.split("_")
        if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
            raise ValueError(f"date must look like YYYY_MM_DD, got {self.date!r}")
        route = self.duration_s * max(self.ego.desired_speed_mps[1], 0.0)
        if route > self.max_route_m:
            raise ValueError(
                f"{self.frames} frames at {self.frame_rate_hz} Hz and up to "
                f"{self.ego.desired_speed_mps[1]} m/s reach {route:.0f} m, beyond "
                f"max_route_m={self.max_route_m}: use fewer frames or a lower ego speed"
            )

    @property
    def duration_s(self) -> float:
        """Time from the first frame to the last."""
        return (self.frames - 1) / self.frame_rate_hz

    @property
    def frame_period_s(self) -> float:
        return 1.0 / self.frame_rate_hz

    def synth(self) -> SynthConfig:
        """The single-frame generator's config with this drive's seed, frame count, world and
        sensor sections (the fields both configs have); ``val_fraction`` keeps its default."""
        shared = [f.name for f in fields(SynthConfig) if hasattr(self, f.name)]
        return SynthConfig(**{name: getattr(self, name) for name in shared})


def load_drive_config(path: str | Path | None = None, overrides=()) -> DriveConfig:
    """The config at ``path`` (YAML), or the embedded default when None, with overrides."""
    from perception3d.config import load_config_or_defaults

    return load_config_or_defaults(path, DriveConfig, overrides)
