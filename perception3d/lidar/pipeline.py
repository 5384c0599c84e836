"""The training config's ``augmentation:`` section and the transform list it builds.

Each augmentation family owns one sub-section (a frozen dataclass); ``build_augmentation``
turns the whole section into the ordered list of ``transform(sample, rng) -> sample`` callables
the dataset applies to training samples:

1. ``physical`` (optional, :mod:`perception3d.lidar.augment`): occlusion-aware object paste
   resampled on the beams, intensity, weather, beam downsampling and sector dropout; these
   reason about the sensor's rays, so they run on the sweep as the sensor produced it;
2. ``global_transform`` (:mod:`perception3d.lidar.global_aug`): flip, rotation, scaling,
   translation of the whole sample, last (as in SECOND), since they move the sensor's rays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from perception3d.data.sample import Transform
from perception3d.lidar.augment import PhysicalAugmentConfig, build_transforms
from perception3d.lidar.global_aug import GlobalAugConfig, global_transforms


@dataclass(frozen=True)
class AugmentationConfig:
    """``augmentation:`` section of a training config.

    Attributes:
        global_transform: flip / rotation / scaling / translation of the whole sample.
        physical: the physically consistent set (``configs/augment/physical.yaml`` documents
            every key); null (the default) leaves it out.
    """

    global_transform: GlobalAugConfig = field(default_factory=GlobalAugConfig)
    physical: PhysicalAugmentConfig | None = None


def build_augmentation(cfg: AugmentationConfig) -> list[Transform]:
    """Ordered training transforms of ``cfg``: the physical set, then the global transforms."""
    physical = build_transforms(cfg.physical) if cfg.physical is not None else []
    return [*physical, *global_transforms(cfg.global_transform)]
