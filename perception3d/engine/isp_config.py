"""Configs of the learned ISP stages' training (``configs/isp/train_*.yaml``): a stage
(``task: isp``) or the HDR stage's camera-response estimator (``task: crf``), in the
experiment schema of :mod:`perception3d.engine.config`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

from perception3d.engine.config import DataSection, TrainConfig, adam_cosine
from perception3d.isp.weights import IspModelConfig


@dataclass(frozen=True)
class IspData(DataSection):
    """``data:``: where training scenes come from, and the crops cut from them.

    Attributes:
        root: a ``perception3d synth`` root with ``radiance_2``/``depth_2`` (or null).
        train_split: ImageSets split to draw from (null: every frame of the root); held-out
            frames stay out.
        max_train_frames: at most this many synthetic frames are loaded.
        procedural: number of seeded procedural scenes added to the pool.
        real_images: sRGB photographs unprocessed into raw (e.g. KITTI image_2 PNGs).
        real_fraction: share of crops drawn from the real images (when there are some).
        lowlight_fraction: share of ``raw`` captures at low-light ISO (the rest: normal).
        highlight_fraction: share of crops centred near a scene's brightest pixels.
        frame_exposure: ``hdr``: expose each crop as its whole frame would be (the held-out
            evaluation exposes whole frames), not the crop alone.
        crop: crop width (and height, unless ``crop_height``), pixels.
        crop_height: crop height (larger than a frame: full-height strips).
    """

    train_split: str | None = "train"
    max_train_frames: int | None = 200
    procedural: int = 48
    real_images: tuple[Path, ...] = ()
    real_fraction: float = 0.25
    lowlight_fraction: float = 0.6
    highlight_fraction: float = 0.0
    frame_exposure: bool = False
    crop: int = 128
    crop_height: int | None = None


@dataclass(frozen=True)
class IspLoss:
    """``loss:`` of a stage.

    Attributes:
        hdr_mu_law_weight: weight of the mu-law L1 term of the HDR loss (with 1, the boost of
            clipped highlights stayed near the median of their log radiance, about 2x the
            clip level).
        hdr_true_crf: ``hdr``: invert each capture's true camera response instead of the
            model's estimate, so that only the highlight network learns (the response
            estimator is trained by ``task: crf``).
    """

    hdr_mu_law_weight: float = 4.0
    hdr_true_crf: bool = False


def _train_isp() -> TrainConfig:
    return adam_cosine(epochs=20, steps_per_epoch=100, batch_size=8, lr_max=0.001,
                       num_threads=2, validate_every=0)  # fmt: skip


@dataclass(frozen=True)
class IspExperiment:
    """``task: isp``: one learned stage trained on pairs the sensor model makes on the fly."""

    model: IspModelConfig
    data: IspData = field(default_factory=IspData)
    train: TrainConfig = field(default_factory=_train_isp)
    loss: IspLoss = field(default_factory=IspLoss)
    task: Literal["isp"] = "isp"

    @property
    def kind(self) -> str:
        return self.model.kind


@dataclass(frozen=True)
class CrfData(IspData):
    """``data:`` of the response estimator: whole-frame captures of the scenes.

    Attributes:
        captures_per_scene: whole-frame HDR captures per scene.
        pixels_per_capture: unsaturated pixels sampled from each capture for the response's
            image-domain loss (``loss.pixel_weight``; 0 when that weight is 0).
    """

    captures_per_scene: int = 8
    pixels_per_capture: int = 2048


@dataclass(frozen=True)
class CrfLoss:
    """``loss:`` of the response estimator: cross entropy of the curve family + 5 x L1 of the
    power law's gamma, plus ``pixel_weight`` x the mu-law L1 of the linearization on sampled
    pixels (:func:`perception3d.isp.losses.crf_pixel_loss`: a wrong estimate costs what it
    costs the HDR metric; 0: off, the first shipped estimator).
    """

    pixel_weight: float = 0.0


def _train_crf() -> TrainConfig:
    return adam_cosine(epochs=10, steps_per_epoch=300, batch_size=256, lr_max=0.001,
                       weight_decay=0.0001, grad_clip_norm=None, num_threads=1,
                       validate_every=1)  # fmt: skip


@dataclass(frozen=True)
class CrfExperiment:
    """``task: crf``: the HDR stage's camera-response estimator, trained on its own; the rest
    of the HDR stage comes unchanged from ``train.init_weights``. Writes an ``isp_hdr``
    checkpoint."""

    model: IspModelConfig = field(default_factory=lambda: IspModelConfig("hdr", crf="stats"))
    data: CrfData = field(default_factory=CrfData)
    train: TrainConfig = field(default_factory=_train_crf)
    loss: CrfLoss = field(default_factory=CrfLoss)
    task: Literal["crf"] = "crf"

    kind: ClassVar[str] = "isp_hdr"

    def __post_init__(self) -> None:
        if (self.model.stage, self.model.crf) != ("hdr", "stats"):
            raise ValueError(
                f"task crf trains an HDR stage's statistics estimator: model.stage must be hdr "
                f"and model.crf stats, got {self.model.stage} and {self.model.crf}"
            )
