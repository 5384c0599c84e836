"""The training config's ``augmentation:`` section and the transform list it builds.

Each augmentation family owns one sub-section (a frozen dataclass); ``build_augmentation``
turns the whole section into the ordered list of ``transform(sample, rng) -> sample`` callables
the dataset applies to training samples. Today: the global transforms
(:mod:`perception3d.lidar.global_aug`); the physically consistent set (object paste, beam and
weather augmentation) plugs in here with its own sections.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from perception3d.data.sample import Transform
from perception3d.lidar.global_aug import GlobalAugConfig, global_transforms


@dataclass(frozen=True)
class AugmentationConfig:
    """``augmentation:`` section of a training config.

    Attributes:
        global_transform: flip / rotation / scaling / translation of the whole sample.
    """

    global_transform: GlobalAugConfig = field(default_factory=GlobalAugConfig)


def build_augmentation(cfg: AugmentationConfig) -> list[Transform]:
    """Ordered training transforms of ``cfg`` (global transforms last, as in SECOND)."""
    return global_transforms(cfg.global_transform)
