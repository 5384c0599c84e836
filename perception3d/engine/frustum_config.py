"""Configs of the Frustum PointNet pipeline (``configs/frustum/*.yaml``): the 2D image detector
(:class:`Detector2DExperiment`) and the 3D frustum stage (:class:`FrustumExperiment`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from perception3d.config import load_config


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
    """

    classes: tuple[str, ...] = ("Car", "Pedestrian", "Cyclist")
    input_hw: tuple[int, int] = (192, 640)
    channels: tuple[int, int, int, int] = (16, 32, 64, 128)
    neck_channels: int = 64
    head_channels: int = 32
    score_threshold: float = 0.05
    max_detections: int = 50

    def __post_init__(self) -> None:
        if any(s % 16 for s in self.input_hw):
            raise ValueError(f"input_hw must be multiples of 16, got {self.input_hw}")


@dataclass(frozen=True)
class Detector2DTrainConfig:
    """``train:`` of the 2D detector.

    Attributes:
        data_root: KITTI-layout root (image_2 + label_2).
        train_split, val_split: ImageSets names.
        epochs, batch_size, lr_max, weight_decay: AdamW with a one-cycle schedule.
        crop_width: training crops this wide (pixels of the resized input); 0 = whole image.
        gaussian_alpha: TTFNet's Gaussian size factor for the heatmap targets.
        seed: model init, frame order and augmentation.
        num_threads: torch CPU threads (None: torch's default).
        max_train_frames, max_val_frames: use only the first N frames (None: all).
    """

    data_root: Path
    train_split: str = "train"
    val_split: str = "val"
    epochs: int = 4
    batch_size: int = 8
    lr_max: float = 0.004
    weight_decay: float = 0.0001
    crop_width: int = 320
    gaussian_alpha: float = 0.54
    seed: int = 0
    num_threads: int | None = None
    max_train_frames: int | None = None
    max_val_frames: int | None = None


@dataclass(frozen=True)
class Detector2DExperiment:
    model: Detector2DModelConfig
    train: Detector2DTrainConfig


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
    size_templates_m: tuple[tuple[float, float, float], ...] = (
        (3.883, 1.629, 1.526),
        (0.844, 0.661, 1.763),
        (1.763, 0.597, 1.737),
    )
    min_frustum_points: int = 5

    def __post_init__(self) -> None:
        if len(self.size_templates_m) != len(self.classes):
            raise ValueError(
                f"size_templates_m needs one (l, w, h) per class ({len(self.classes)}), "
                f"got {len(self.size_templates_m)}"
            )


@dataclass(frozen=True)
class FrustumTrainConfig:
    """``train:`` of the 3D frustum stage.

    Attributes:
        data_root, train_split, val_split: KITTI-layout root and ImageSets names.
        epochs, batch_size, lr_max, weight_decay: AdamW with a one-cycle schedule.
        jitter_shift: 2D box centre shift, uniform within +- this fraction of the box size.
        jitter_scale: 2D box size scale, uniform in [1 - s, 1 + s].
        min_object_points: training objects need this many LiDAR points inside their box.
        corner_loss_weight: gamma of the paper's loss.
        seed, num_threads, max_train_frames, max_val_frames: as for the 2D detector.
    """

    data_root: Path
    train_split: str = "train"
    val_split: str = "val"
    epochs: int = 20
    batch_size: int = 32
    lr_max: float = 0.002
    weight_decay: float = 0.0001
    jitter_shift: float = 0.1
    jitter_scale: float = 0.1
    min_object_points: int = 5
    corner_loss_weight: float = 10.0
    seed: int = 0
    num_threads: int | None = None
    max_train_frames: int | None = None
    max_val_frames: int | None = None


@dataclass(frozen=True)
class FrustumExperiment:
    model: FrustumModelConfig
    train: FrustumTrainConfig


def load_detector2d_experiment(
    path: str | Path, overrides: Iterable[str] = ()
) -> Detector2DExperiment:
    """Load ``configs/frustum/detector2d.yaml``-style files."""
    return load_config(path, Detector2DExperiment, overrides)


def load_frustum_experiment(path: str | Path, overrides: Iterable[str] = ()) -> FrustumExperiment:
    """Load ``configs/frustum/frustum_pointnet.yaml``-style files."""
    return load_config(path, FrustumExperiment, overrides)
