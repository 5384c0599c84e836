"""Beam-level augmentations: cheaper sensors, blocked sectors, reflectivity changes.

- `downsample_beams`: keep every 2nd or 4th laser, the 32- and 16-beam scans a cheaper sensor
  of the same field of view would give (LiDAR distillation / "beam reduction" practice); the
  beam of each point comes from the scanner's cones (`ScannerModel.rows`), never from the
  elevation seen from the origin (KITTI's laser heads sit 0.12-0.21 m above it).
- `drop_sectors`: remove every return in a few azimuth sectors (a blocked or dirty window
  segment, lost data packets).
- `perturb_intensity`: change the surfaces' reflectivity (one factor per labelled object, one
  for the whole sweep: different paint, a differently calibrated unit) and redraw the reported
  intensity with noise whose relative size grows as the received power falls (range, incidence
  and reflectivity through `intensity.return_power`); a return made too weak to be detected is
  dropped, as the sensor would miss it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from perception3d.data.sample import LidarSample
from perception3d.geometry.boxes import points_in_boxes
from perception3d.lidar.intensity import DETECTION_FLOOR, reflectivity_of
from perception3d.lidar.sample_ops import replace_points
from perception3d.lidar.scanner import ScannerModel

__all__ = [
    "BeamDownsample",
    "BeamDownsampleConfig",
    "IntensityConfig",
    "IntensityPerturbation",
    "SectorDropout",
    "SectorDropoutConfig",
    "downsample_beams",
    "drop_sectors",
    "perturb_intensity",
]


def downsample_beams(
    sample: LidarSample, scanner: ScannerModel, keep_every: int, phase: int = 0
) -> LidarSample:
    """Keep the points of beams ``phase, phase + keep_every, ...`` (rows of ``scanner``).

    Example:
        >>> scanner = ScannerModel.from_elevations(np.radians([1.0, 0.0, -1.0, -2.0]), width=8)
        >>> pts = scanner.ray_points([0, 1, 2, 3], [0, 0, 0, 0], [10.0] * 4)
        >>> s = LidarSample("0", np.c_[pts, np.zeros(4)], np.zeros((0, 7)), np.array([]))
        >>> downsample_beams(s, scanner, keep_every=2, phase=1).points.shape
        (2, 4)
    """
    if keep_every < 1 or not 0 <= phase < keep_every:
        raise ValueError(f"need keep_every >= 1 and 0 <= phase < keep_every, got "
                         f"{keep_every}, {phase}")  # fmt: skip
    rows = scanner.rows(sample.points)
    return replace_points(sample, rows % keep_every == phase)


@numba.njit(cache=True)
def _outside_sectors_kernel(points, sectors, keep):
    for i in range(points.shape[0]):
        azimuth = np.arctan2(float(points[i, 1]), float(points[i, 0]))
        keep[i] = True
        for j in range(sectors.shape[0]):
            off = abs((azimuth - sectors[j, 0] + np.pi) % (2 * np.pi) - np.pi)
            if off <= sectors[j, 1] / 2:
                keep[i] = False
                break


def drop_sectors(sample: LidarSample, sectors_rad: np.ndarray) -> LidarSample:
    """Remove the points whose azimuth lies in any (centre, width) sector, radians."""
    sectors = np.asarray(sectors_rad, dtype=np.float64).reshape(-1, 2)
    keep = np.empty(len(sample.points), bool)
    _outside_sectors_kernel(sample.points, sectors, keep)
    return replace_points(sample, keep)


@numba.njit(cache=True)
def _perturb_kernel(points, factor, noise_std, normal, floor, detected):
    """In place: intensity x factor with noise noise_std / sqrt(SNR), 0.01 quantized, in
    [0, 1]; detected[i] = the scaled return still reaches the floor."""
    for i in range(points.shape[0]):
        x, y, z = float(points[i, 0]), float(points[i, 1]), float(points[i, 2])
        r2 = max(x * x + y * y + z * z, 1e-6)
        intensity = float(points[i, 3])
        power = reflectivity_of(intensity, np.sqrt(r2), floor) * factor[i] / r2
        detected[i] = power >= floor
        noise = noise_std / np.sqrt(max(power / floor, 1.0)) * normal[i]
        reported = np.rint(intensity * factor[i] * (1.0 + noise) * 100.0) / 100.0
        points[i, 3] = min(max(reported, 0.0), 1.0)


def perturb_intensity(
    sample: LidarSample,
    scene_factor: float,
    object_factors: np.ndarray,
    noise_std: float,
    rng: np.random.Generator,
    floor: float = DETECTION_FLOOR,
) -> LidarSample:
    """Scale the reflectivity of the whole sweep and of each labelled object, then re-measure.

    Args:
        sample: points (N, C) with intensity in column 3.
        scene_factor: reflectivity factor of every surface.
        object_factors: (M,) extra factor of the points inside each of the M boxes.
        noise_std: relative intensity noise at the detection floor; it falls as
            sqrt(floor / power) above it (shot-noise-like).
        rng: randomness of the noise.
        floor: detection floor of `intensity.return_power`.

    Returns:
        The sample with intensities re-measured in [0, 1] and the returns now below the floor
        removed.
    """
    pts = sample.points
    factor = np.full(len(pts), float(scene_factor))
    object_factors = np.asarray(object_factors, dtype=np.float64)
    if len(sample.boxes_lidar) and np.any(object_factors != 1.0):
        box = points_in_boxes(pts, sample.boxes_lidar)
        inside = box >= 0
        factor[inside] *= object_factors[box[inside]]
    out, detected = pts.copy(), np.empty(len(pts), bool)
    normal = rng.standard_normal(len(pts)) if noise_std > 0 else np.zeros(len(pts))
    _perturb_kernel(out, factor, noise_std, normal, floor, detected)
    return replace_points(sample.with_(points=out), detected)


def _check_prob(prob: float, name: str) -> None:
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"{name}.prob must be in [0, 1], got {prob}")


@dataclass(frozen=True)
class BeamDownsampleConfig:
    """With probability ``prob`` keep 1 beam in (scanner beams / choice), random phase."""

    prob: float = 0.2
    beams_choices: tuple[int, ...] = (32, 16)

    def __post_init__(self) -> None:
        _check_prob(self.prob, "beam_downsample")
        if not self.beams_choices or min(self.beams_choices) < 1:
            raise ValueError(f"beams_choices must be positive ints, got {self.beams_choices}")


@dataclass(frozen=True)
class SectorDropoutConfig:
    """With probability ``prob`` drop 1..max_sectors azimuth sectors of random widths."""

    prob: float = 0.2
    max_sectors: int = 2
    width_deg: tuple[float, float] = (2.0, 20.0)

    def __post_init__(self) -> None:
        _check_prob(self.prob, "sector_dropout")
        if self.max_sectors < 1 or not 0 < self.width_deg[0] <= self.width_deg[1] <= 360:
            raise ValueError("sector_dropout: max_sectors >= 1, 0 < width_deg min <= max <= 360")


@dataclass(frozen=True)
class IntensityConfig:
    """With probability ``prob``: log-normal reflectivity factors (whole sweep sigma
    ``scene_sigma``, per labelled object ``object_sigma``), re-measurement noise ``noise_std``
    (relative, at the detection floor)."""

    prob: float = 0.5
    scene_sigma: float = 0.1
    object_sigma: float = 0.2
    noise_std: float = 0.1

    def __post_init__(self) -> None:
        _check_prob(self.prob, "intensity")
        if min(self.scene_sigma, self.object_sigma, self.noise_std) < 0:
            raise ValueError("intensity: sigmas and noise_std must be >= 0")


@dataclass(frozen=True, eq=False)
class BeamDownsample:
    """Transform of `downsample_beams` drawn from a `BeamDownsampleConfig`."""

    scanner: ScannerModel
    config: BeamDownsampleConfig

    def __call__(self, sample: LidarSample, rng: np.random.Generator) -> LidarSample:
        if rng.random() >= self.config.prob:
            return sample
        beams = int(rng.choice(self.config.beams_choices))
        keep_every = max(self.scanner.num_beams // beams, 1)
        return downsample_beams(sample, self.scanner, keep_every, int(rng.integers(keep_every)))


@dataclass(frozen=True, eq=False)
class SectorDropout:
    """Transform of `drop_sectors` drawn from a `SectorDropoutConfig`."""

    config: SectorDropoutConfig

    def __call__(self, sample: LidarSample, rng: np.random.Generator) -> LidarSample:
        if rng.random() >= self.config.prob:
            return sample
        count = int(rng.integers(1, self.config.max_sectors + 1))
        centres = rng.uniform(-np.pi, np.pi, count)
        widths = np.radians(rng.uniform(*self.config.width_deg, count))
        return drop_sectors(sample, np.stack([centres, widths], axis=1))


@dataclass(frozen=True, eq=False)
class IntensityPerturbation:
    """Transform of `perturb_intensity` drawn from an `IntensityConfig`."""

    config: IntensityConfig

    def __call__(self, sample: LidarSample, rng: np.random.Generator) -> LidarSample:
        cfg = self.config
        if rng.random() >= cfg.prob:
            return sample
        scene = float(np.exp(rng.normal(0.0, cfg.scene_sigma)))
        objects = np.exp(rng.normal(0.0, cfg.object_sigma, len(sample.boxes_lidar)))
        return perturb_intensity(sample, scene, objects, cfg.noise_std, rng)
