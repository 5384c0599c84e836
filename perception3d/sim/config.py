"""Configuration of the synthetic dataset generator (``configs/datasets/synthkitti.yaml``).

Frozen dataclasses loaded by :func:`perception3d.config.load_config`; the defaults here are the
embedded default dataset and equal the YAML file (a test keeps them equal). Sizes in metres,
angles in degrees where the name says ``_deg``, image sizes in pixels of the written images.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

from perception3d.data.kitti_stats import KITTI_SIZE_MEAN_M, KITTI_SIZE_STD_M
from perception3d.sim.checks import check_probability, check_range
from perception3d.sim.clutter_config import ClutterConfig
from perception3d.sim.objects_config import CAR_BODIES, OBJECT_CLASSES, OTHER_BODIES, ObjectsConfig

__all__ = [
    "CAR_BODIES",
    "KITTI_SIZE_MEAN_M",
    "KITTI_SIZE_STD_M",
    "OBJECT_CLASSES",
    "OTHER_BODIES",
    "CameraConfig",
    "ClutterConfig",
    "LabelConfig",
    "LidarConfig",
    "ObjectsConfig",
    "SceneConfig",
    "SynthConfig",
    "WorldConfig",
    "load_synth_config",
]


@dataclass(frozen=True)
class SceneConfig:
    """Static scene layout and lighting."""

    night_probability: float = 0.1
    overcast_probability: float = 0.2
    sun_elevation_deg: tuple[float, float] = (12.0, 65.0)
    lanes_per_direction: tuple[int, int] = (1, 2)
    lane_width_m: tuple[float, float] = (3.0, 3.75)
    parking_lane_probability: float = 0.6  # per side
    sidewalk_width_m: tuple[float, float] = (2.0, 4.5)
    # Per side with a parking lane: a kerb strip instead of a sidewalk, the frontage at the cars.
    kerbside_frontage_probability: float = 0.0
    # Per parking lane without a kerb strip: its cars stand side by side in bays at an angle
    # drawn from bay_angle_deg to the road (90: perpendicular) instead of nose to tail.
    bay_parking_probability: float = 0.0
    bay_angle_deg: tuple[float, float] = (45.0, 90.0)
    curb_height_m: tuple[float, float] = (0.10, 0.15)
    intersection_probability: float = 0.35
    urban_probability: float = 0.8  # per side: buildings, else trees and open terrain
    building_height_m: tuple[float, float] = (5.0, 25.0)
    tree_spacing_m: tuple[float, float] = (7.0, 20.0)
    pole_spacing_m: tuple[float, float] = (18.0, 40.0)
    ego_yaw_deg: float = 2.0  # max |yaw| of the ego car against the road
    ego_lateral_m: float = 0.3  # max offset of the ego car from its lane centre
    ego_pitch_deg: float = 1.0  # max |pitch| of the road against the camera (load, grade)
    ego_roll_deg: float = 0.5  # max |roll| (camber)
    camera_height_jitter_m: float = 0.05  # camera 1.65 m +- this above the road

    def __post_init__(self) -> None:
        for name in (f.name for f in fields(self) if f.name.endswith("_probability")):
            check_probability(name, getattr(self, name))
        for name in (
            "sun_elevation_deg",
            "lane_width_m",
            "sidewalk_width_m",
            "curb_height_m",
            "building_height_m",
            "tree_spacing_m",
            "pole_spacing_m",
        ):
            check_range(name, getattr(self, name), 0.0)
        if not 0 < self.bay_angle_deg[0] <= self.bay_angle_deg[1] <= 90:
            raise ValueError(f"bay_angle_deg must be within (0, 90], got {self.bay_angle_deg}")
        if not 1 <= self.lanes_per_direction[0] <= self.lanes_per_direction[1] <= 4:
            raise ValueError(
                f"lanes_per_direction must be within [1, 4], got {self.lanes_per_direction}"
            )


@dataclass(frozen=True)
class LidarConfig:
    """Velodyne HDL-64E model (`perception3d.sim.lidar`): powers are rho cos(inc.)^a / range^2."""

    azimuth_steps: int = 2000  # firings per laser and turn (KITTI 004139: median step 0.18 deg)
    beam_stride: int = 1  # keep every k-th laser (1: all 64)
    max_range_m: float = 120.0
    min_range_m: float = 2.0
    # The response below: fitted on the unlabelled real sweeps (tools/fit_lidar_sensor.py)
    range_noise_m: float = 0.052  # 1 sigma, along the ray (sensor noise and surface roughness)
    range_bias_m: float = 0.028  # 1 sigma of a per-laser range offset drawn per sweep
    detection_threshold: float = 3.4e-6  # power of a 50 % detection
    detection_softness: float = 0.4  # width of the detection logistic in log(power)
    incidence_exponent: float = 0.47  # a in the power
    dropout_probability: float = 0.018  # returns lost at random
    intensity_threshold: float = 9.2e-6  # rho cos^a / range^k under which intensity reads 0
    intensity_softness: float = 0.71  # width of that logistic in its log
    intensity_range_exponent: float = 2.79  # k
    intensity_incidence_exponent: float = 0.16  # b: the reading is rho cos(incidence)^b
    saturation_threshold: float = 0.0163  # power above which a share of the readings is 0
    saturation_share: float = 0.82  # that share, at most
    intensity_speckle: float = 0.28  # 1 sigma of a log-normal factor per return
    reflectivity_spread: float = 0.05  # 1 sigma of a log-normal factor per object / scenery cell
    intensity_noise: float = 0.02  # additive, 1 sigma, on readings (a return not read: exactly 0)
    intensity_floor: float = 7.0 / 256.0  # readings under it report 0 (KITTI: none at 0.01-0.02)
    unread_incidence_exponent: float = 0.0  # e: Material.lidar_unread x (1 - cos(incidence))^e
    glass_passes: int = 2  # at most this many glass surfaces passed per ray

    def __post_init__(self) -> None:
        if self.azimuth_steps < 16 or not 1 <= self.beam_stride <= 64:
            raise ValueError(
                f"azimuth_steps must be >= 16 and beam_stride in [1, 64], got "
                f"{self.azimuth_steps}, {self.beam_stride}"
            )
        if not 0 < self.min_range_m < self.max_range_m:
            raise ValueError(
                f"need 0 < min_range_m < max_range_m, got {self.min_range_m}, {self.max_range_m}"
            )
        check_probability("dropout_probability", self.dropout_probability)
        for name in (
            "detection_threshold",
            "intensity_threshold",
            "detection_softness",
            "intensity_softness",
            "saturation_threshold",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"lidar.{name} must be > 0, got {getattr(self, name)}")
        for name in (
            "range_noise_m",
            "range_bias_m",
            "intensity_speckle",
            "reflectivity_spread",
            "intensity_noise",
            "intensity_floor",
            "unread_incidence_exponent",
            "incidence_exponent",
            "intensity_incidence_exponent",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"lidar.{name} must be >= 0, got {getattr(self, name)}")
        check_probability("saturation_share", self.saturation_share)
        if self.glass_passes < 0:
            raise ValueError(f"lidar.glass_passes must be >= 0, got {self.glass_passes}")

    @property
    def azimuth_step_deg(self) -> float:
        return 360.0 / self.azimuth_steps


@dataclass(frozen=True)
class CameraConfig:
    """Camera 2 (KITTI image_2) and the default camera model writing ``image_2``."""

    calib_file: Path | None = None  # None: the calibration of KITTI training frame 000008
    width: int = 1242
    height: int = 375
    image_scale: float = 1.0  # render at this fraction of width x height (P2 scaled to match)
    exposure_key: float = 0.1  # auto exposure maps the log-mean luminance to this
    max_exposure: float = 3000.0  # night frames stay dark
    sky_occlusion: bool = True  # one extra ray per pixel: sky light blocked by what is above
    sun_disk_deg: float = 0.5  # angular radius of the visible sun

    def __post_init__(self) -> None:
        if self.width < 8 or self.height < 8 or not 0.05 <= self.image_scale <= 1.0:
            raise ValueError(
                f"need width, height >= 8 and image_scale in [0.05, 1], got {self.width}, "
                f"{self.height}, {self.image_scale}"
            )

    @property
    def image_shape_hw(self) -> tuple[int, int]:
        """(H, W) of the written images."""
        return round(self.height * self.image_scale), round(self.width * self.image_scale)


@dataclass(frozen=True)
class LabelConfig:
    """How scene objects become ``label_2`` rows (see docs/synthetic.md, "Labels")."""

    max_distance_m: float = 80.0  # farther objects are DontCare
    min_height_px: float = 10.0  # visible 2D box height below this: DontCare
    min_visible_fraction: float = 0.05  # less of the object visible: DontCare
    min_dontcare_pixels: int = 4  # fewer visible pixels: not in label_2 at all
    occlusion_fractions: tuple[float, float] = (0.85, 0.5)  # visible >= [0]: 0, >= [1]: 1, else 2
    # Least (l, w) margin between a person's body and their label box (boxes are drawn from
    # ObjectsConfig.size_mean_m / size_std_m; KITTI's annotators drew them looser than bodies).
    pedestrian_padding_m: tuple[float, float] = (0.25, 0.1)
    cyclist_padding_m: tuple[float, float] = (0.0, 0.03)
    # 2D boxes of labelled objects: "kitti" as KITTI draws them (vehicles: the 3D box projected
    # through P2 and clipped to the image, amodal; persons and cyclists: the projection's top
    # and bottom, the visible outline's left and right), "visible": the tight box of the
    # visible pixels. DontCare rows keep the visible box either way.
    bbox_convention: Literal["kitti", "visible"] = "kitti"

    def __post_init__(self) -> None:
        if self.bbox_convention not in ("kitti", "visible"):
            raise ValueError(
                f"labels.bbox_convention must be 'kitti' or 'visible', got {self.bbox_convention!r}"
            )
        hi, lo = self.occlusion_fractions
        if not 0.0 < lo <= hi <= 1.0:
            raise ValueError(
                "occlusion_fractions must satisfy 0 < [1] <= [0] <= 1, "
                f"got {self.occlusion_fractions}"
            )


@dataclass(frozen=True)
class WorldConfig:
    """The world and sensor sections shared by the single-frame generator (`SynthConfig`) and
    the drive generator (``sim.drive.config.DriveConfig``); they come first in either file."""

    scene: SceneConfig = field(default_factory=SceneConfig)
    objects: ObjectsConfig = field(default_factory=ObjectsConfig)
    clutter: ClutterConfig = field(default_factory=ClutterConfig)
    lidar: LidarConfig = field(default_factory=LidarConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    labels: LabelConfig = field(default_factory=LabelConfig)


@dataclass(frozen=True)
class SynthConfig(WorldConfig):
    """Everything that defines a synthetic dataset (``DIR/synth_config.yaml`` holds it)."""

    seed: int = 0
    frames: int = 100
    val_fraction: float = 0.5  # share of frames in ImageSets/val.txt (KITTI: 3,769 of 7,481)
    # write radiance_2 and depth_2 (float16 linear radiance and depth: the ISP's and the camera
    # experiments' inputs, about 3.7 of the 5.4 MB of a default frame); false for LiDAR-only sets
    raw_camera: bool = True

    def __post_init__(self) -> None:
        if self.frames < 0 or self.seed < 0:
            raise ValueError(f"frames and seed must be >= 0, got {self.frames}, {self.seed}")
        check_probability("val_fraction", self.val_fraction)


def load_synth_config(path: str | Path | None = None, overrides=()) -> SynthConfig:
    """The config at ``path`` (YAML), or the embedded default when None, with overrides."""
    from perception3d.config import load_config_or_defaults

    return load_config_or_defaults(path, SynthConfig, overrides)
