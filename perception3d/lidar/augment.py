"""The physically consistent augmentation set: its configuration and its transform list.

Order (each step sees what a sensor would have produced by then):

1. paste objects (`paste.py`): visibility resolved in the range image, resampled on the beams;
   then scale objects (`object_scale.py`: cars of other lengths, with their boxes);
2. perturb reflectivities (`beam_aug.perturb_intensity`), thin out the objects' returns
   (`object_dropout.py`: real cars return about half the synthetic count);
3. weather (`weather.py`, `precipitation.py`): on the full beam pattern, so that a cheaper
   sensor (step 4) loses clutter on its missing beams too;
4. beam downsampling 64 -> 32 -> 16 and sector dropout (`beam_aug.py`).

Global flip/rotation/scaling/translation (detect's `lidar/global_aug.py`) come after these:
they move the sensor's rays (see docs/augmentation.md for what scaling does to beam geometry).

Example:
    >>> config = PhysicalAugmentConfig()  # paste disabled: no database given
    >>> [type(t).__name__ for t in build_transforms(config)]
    ['IntensityPerturbation', 'Weather', 'BeamDownsample', 'SectorDropout']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from perception3d.config import load_config
from perception3d.data.gt_database import GtDatabase
from perception3d.data.sample import Transform
from perception3d.lidar.beam_aug import (
    BeamDownsample,
    BeamDownsampleConfig,
    IntensityConfig,
    IntensityPerturbation,
    SectorDropout,
    SectorDropoutConfig,
)
from perception3d.lidar.object_dropout import (
    ObjectDropoutConfig,
    ObjectPointDropout,
    UpperDropoutConfig,
    UpperPointDropout,
)
from perception3d.lidar.object_scale import ObjectScale, ObjectScaleConfig
from perception3d.lidar.paste import PasteConfig, PasteObjects
from perception3d.lidar.scanner import ScannerModel
from perception3d.lidar.weather import Weather, WeatherConfig

__all__ = [
    "PhysicalAugmentConfig",
    "ScannerConfig",
    "build_scanner",
    "build_transforms",
    "load_augment_config",
]


@dataclass(frozen=True)
class ScannerConfig:
    """The sensor whose rays the augmentations use.

    Attributes:
        model: "kitti_hdl64e" (KITTI's lasers: cones from heads 0.12-0.21 m above the LiDAR
            origin), "nominal_hdl64e" (+2.0 to -24.9 deg, rays from the origin, as a simulator
            casts them) or "custom" (``elevations_deg`` and ``head_heights_m``).
        width: columns (firings) per turn.
        elevations_deg: custom beam elevations, descending.
        head_heights_m: custom laser head heights (one per beam, or empty for 0).
    """

    model: Literal["kitti_hdl64e", "nominal_hdl64e", "custom"] = "kitti_hdl64e"
    width: int = 2048
    elevations_deg: tuple[float, ...] = ()
    head_heights_m: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.model == "custom" and not self.elevations_deg:
            raise ValueError("scanner.elevations_deg is required for model 'custom'")
        if self.head_heights_m and len(self.head_heights_m) != len(self.elevations_deg):
            raise ValueError("scanner.head_heights_m needs one value per elevation")


@dataclass(frozen=True)
class PhysicalAugmentConfig:
    """All physically consistent augmentations (the ``physical:`` block of a training YAML).

    ``paste.database`` null disables the paste; each other step has its own ``prob``.
    """

    scanner: ScannerConfig = field(default_factory=ScannerConfig)
    paste: PasteConfig = field(default_factory=PasteConfig)
    object_scale: ObjectScaleConfig = field(default_factory=ObjectScaleConfig)
    intensity: IntensityConfig = field(default_factory=IntensityConfig)
    object_dropout: ObjectDropoutConfig = field(default_factory=ObjectDropoutConfig)
    upper_dropout: UpperDropoutConfig = field(default_factory=UpperDropoutConfig)
    weather: WeatherConfig = field(default_factory=WeatherConfig)
    beam_downsample: BeamDownsampleConfig = field(default_factory=BeamDownsampleConfig)
    sector_dropout: SectorDropoutConfig = field(default_factory=SectorDropoutConfig)


def build_scanner(config: ScannerConfig) -> ScannerModel:
    """The `ScannerModel` of a `ScannerConfig`."""
    if config.model == "kitti_hdl64e":
        return ScannerModel.kitti_hdl64e(config.width)
    elif config.model == "nominal_hdl64e":
        return ScannerModel.nominal_hdl64e(config.width)
    elif config.model == "custom":
        heads = config.head_heights_m or 0.0
        return ScannerModel.from_elevations(
            np.radians(config.elevations_deg), config.width, np.asarray(heads)
        )
    else:
        raise ValueError(f"scanner.model must be kitti_hdl64e|nominal_hdl64e|custom, got "
                         f"{config.model!r}")  # fmt: skip


def build_transforms(
    config: PhysicalAugmentConfig, database: GtDatabase | None = None
) -> list[Transform]:
    """The transform list, in the module's order; steps with probability 0 are left out.

    Args:
        config: the augmentation settings.
        database: an already loaded database (default: loaded from ``config.paste.database``).
    """
    scanner = build_scanner(config.scanner)
    transforms: list[Transform] = []
    if database is None and config.paste.database is not None:
        database = GtDatabase.load(config.paste.database)
    if database is not None:
        transforms.append(PasteObjects(database, scanner, config.paste))
    if config.object_scale.prob > 0:
        transforms.append(ObjectScale(config.object_scale))
    if config.intensity.prob > 0:
        transforms.append(IntensityPerturbation(config.intensity))
    if config.object_dropout.prob > 0:
        transforms.append(ObjectPointDropout(config.object_dropout))
    if config.upper_dropout.prob > 0:
        transforms.append(UpperPointDropout(config.upper_dropout))
    if config.weather.prob > 0:
        transforms.append(Weather(scanner, config.weather))
    if config.beam_downsample.prob > 0:
        transforms.append(BeamDownsample(scanner, config.beam_downsample))
    if config.sector_dropout.prob > 0:
        transforms.append(SectorDropout(config.sector_dropout))
    return transforms


def load_augment_config(path: str | Path, overrides=()) -> PhysicalAugmentConfig:
    """Load a YAML holding a `PhysicalAugmentConfig` (e.g. configs/augment/physical.yaml)."""
    return load_config(path, PhysicalAugmentConfig, overrides)
