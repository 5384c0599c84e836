"""Config of the super-resolution networks' training (``task: sr``,
``configs/isp/train_sr_*.yaml``), in the experiment schema of
:mod:`perception3d.engine.config`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from perception3d.engine.config import TrainConfig, adam_cosine
from perception3d.isp.data import CropData
from perception3d.isp.sr import SR_KIND, SrModelConfig
from perception3d.isp.sr_data import Degradation


@dataclass(frozen=True)
class SrData(CropData):
    """``data:``: the scenes crops are cut from (the attributes of `CropData`); ``crop`` and
    ``val_crop_hw`` are high-resolution sides, multiples of 2 x the scale (so the
    low-resolution mosaic has whole RGGB cells)."""

    max_train_frames: int | None = 200
    crop: int = 96
    val_crop_hw: tuple[int, int] = (192, 384)


def _train_sr() -> TrainConfig:
    return adam_cosine(epochs=10, steps_per_epoch=200, batch_size=16, lr_max=0.001,
                       num_threads=1, validate_every=1)  # fmt: skip


@dataclass(frozen=True)
class SrExperiment:
    """``task: sr``: an SR network trained on pairs the sensor model makes on the fly
    (:mod:`perception3d.isp.sr_data`); writes an ``isp_sr`` checkpoint."""

    model: SrModelConfig = field(default_factory=SrModelConfig)
    data: SrData = field(default_factory=SrData)
    degradation: Degradation = field(default_factory=Degradation)
    train: TrainConfig = field(default_factory=_train_sr)
    task: Literal["sr"] = "sr"

    kind: ClassVar[str] = SR_KIND

    def __post_init__(self) -> None:
        m = 2 * self.model.scale
        sides = {"data.crop": (self.data.crop,), "data.val_crop_hw": self.data.val_crop_hw}
        for name, values in sides.items():
            if any(v < m or v % m for v in values):
                raise ValueError(f"{name} must be positive multiples of 2 x scale = {m}, got "
                                 f"{values}")  # fmt: skip
