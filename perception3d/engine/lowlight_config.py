"""Config of the low-light enhancer's training (``task: lowlight``,
``configs/isp/train_lowlight.yaml``), in the experiment schema of
:mod:`perception3d.engine.config`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from perception3d.config import at_least
from perception3d.engine.config import TrainConfig, adam_cosine
from perception3d.isp.data import CropData
from perception3d.isp.enhance.illumination import ENHANCE_KIND, EnhanceLoss, EnhanceModelConfig
from perception3d.isp.enhance.pairs import LowLight


@dataclass(frozen=True)
class LowLightData(CropData):
    """``data:``: the scenes crops are cut from (the attributes of `CropData`; ``crop`` and
    ``val_crop_hw`` even), and:

    Attributes:
        procedural: procedural daylight street scenes added to the pool (seeded by
            ``train.seed``; :func:`perception3d.isp.scenes.procedural_scene`).
    """

    procedural: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        at_least(self, 0, "procedural")
        if any(v < 16 or v % 2 for v in (self.crop, *self.val_crop_hw)):
            raise ValueError(f"crop and val_crop_hw must be even and >= 16, got {self.crop}, "
                             f"{self.val_crop_hw}")  # fmt: skip


def _train_lowlight() -> TrainConfig:
    return adam_cosine(epochs=10, steps_per_epoch=200, batch_size=8, lr_max=0.001,
                       num_threads=1, validate_every=1)  # fmt: skip


@dataclass(frozen=True)
class LowLightExperiment:
    """``task: lowlight``: the illumination-map enhancer trained on dark / well-exposed sRGB
    pairs the sensor model makes on the fly (:mod:`perception3d.isp.enhance.pairs`); writes an
    ``isp_lowlight`` checkpoint."""

    model: EnhanceModelConfig = field(default_factory=EnhanceModelConfig)
    data: LowLightData = field(default_factory=LowLightData)
    lowlight: LowLight = field(default_factory=LowLight)
    loss: EnhanceLoss = field(default_factory=EnhanceLoss)
    train: TrainConfig = field(default_factory=_train_lowlight)
    task: Literal["lowlight"] = "lowlight"

    kind: ClassVar[str] = ENHANCE_KIND
