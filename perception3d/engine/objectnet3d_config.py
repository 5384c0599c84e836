"""Configs of the ObjectNet3D networks (``configs/objectnet3d/*.yaml``): PointNet recognition
of CAD models (``task: recognition``) and viewpoint estimation on box crops
(``task: viewpoint``), in the experiment schema of :mod:`perception3d.engine.config`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from perception3d.engine.config import DataSection, TrainConfig, torch_one_cycle


@dataclass(frozen=True)
class RecognitionModelConfig:
    """``model:`` (:class:`perception3d.models.pointnet_classifier.PointNetClassifier`).

    Attributes:
        classes: class names in output order (null: the dataset's ``classes.txt``, filled in
            when training starts, so a checkpoint names them).
        input_transform: the input T-Net (3x3) of PointNet.
        widths: per-point MLP; the last is the global feature size.
    """

    classes: tuple[str, ...] | None = None
    input_transform: bool = True
    widths: tuple[int, ...] = (64, 128, 256)


@dataclass(frozen=True)
class RecognitionData(DataSection):
    """``data:``: an ObjectNet3D root's CAD models, split by index per class.

    Attributes:
        num_points: points sampled on the mesh surface per cloud.
        clouds_per_mesh: fresh training clouds per training mesh and epoch.
        test_clouds_per_mesh: test clouds per held-out mesh (fixed seed).
        test_fraction: the last share of each class's CAD indices are held-out test shapes.
        train_rotation: ``so3``: a random rotation of every training cloud.
        jitter_std: Gaussian jitter of points (clipped at 0.05), unit-sphere units.
        scale_range: random anisotropic scale per axis.
    """

    num_points: int = 256
    clouds_per_mesh: int = 32
    test_clouds_per_mesh: int = 16
    test_fraction: float = 0.25
    train_rotation: Literal["none", "so3"] = "none"
    jitter_std: float = 0.01
    scale_range: tuple[float, float] = (0.85, 1.15)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_points < 1:
            raise ValueError(f"num_points must be >= 1, got {self.num_points}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in [0, 1), got {self.test_fraction}")


def _train_recognition() -> TrainConfig:
    return TrainConfig(epochs=20, batch_size=32, optimizer="adam", lr_max=0.001,
                       weight_decay=0.0001, schedule="cosine", grad_clip_norm=None,
                       device="cpu", validate_every=20)  # fmt: skip


@dataclass(frozen=True)
class RecognitionExperiment:
    """``task: recognition``: PointNet on point clouds sampled from the CAD models."""

    model: RecognitionModelConfig = field(default_factory=RecognitionModelConfig)
    data: RecognitionData = field(default_factory=RecognitionData)
    train: TrainConfig = field(default_factory=_train_recognition)
    task: Literal["recognition"] = "recognition"

    kind: ClassVar[str] = "recognition"


@dataclass(frozen=True)
class ViewpointModelConfig:
    """``model:`` (:class:`perception3d.models.viewpoint_net.ViewpointNet`).

    Attributes:
        classes: class names (null: the dataset's ``classes.txt``, filled in at training).
        num_bins: bins per angle over [-180, 180) degrees.
        widths: channels of the four stride-2 stages.
        label_sigma_bins: soft label: circular Gaussian over bins, std in bins (a loss
            setting).
    """

    classes: tuple[str, ...] | None = None
    num_bins: int = 36
    widths: tuple[int, ...] = (32, 64, 128, 256)
    label_sigma_bins: float = 1.0


@dataclass(frozen=True)
class ViewpointData(DataSection):
    """``data:``: an ObjectNet3D root; crops of its objects.

    Attributes:
        crop_size: network input, pixels (square).
        context: crop side = context x the box's longer side, centred on the box.
        precrop_size, precrop_context: crops cut once per object at this size with this much
            context, so jitter needs no image re-read.
        flip: horizontal flip (azimuth -> -azimuth, theta -> -theta).
        shift_jitter: random shift of the crop window, fraction of its side.
        scale_jitter: random scale of the crop window, +- fraction.
    """

    crop_size: int = 64
    context: float = 1.15
    precrop_size: int = 80
    precrop_context: float = 1.4
    flip: bool = True
    shift_jitter: float = 0.05
    scale_jitter: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.precrop_context < self.context * (1 + self.scale_jitter + self.shift_jitter):
            raise ValueError("precrop_context must cover context with its shift/scale jitter")


def _train_viewpoint() -> TrainConfig:
    return torch_one_cycle(epochs=30, batch_size=64, lr_max=0.002, pct_start=0.3,
                           grad_clip_norm=None, device="cpu", validate_every=30)  # fmt: skip


@dataclass(frozen=True)
class ViewpointExperiment:
    """``task: viewpoint``: the viewpoint network on box crops, scored with the
    ground-truth boxes of the val split."""

    model: ViewpointModelConfig = field(default_factory=ViewpointModelConfig)
    data: ViewpointData = field(default_factory=ViewpointData)
    train: TrainConfig = field(default_factory=_train_viewpoint)
    task: Literal["viewpoint"] = "viewpoint"

    kind: ClassVar[str] = "viewpoint"
    FREE_MODEL_KEYS: ClassVar = ("label_sigma_bins",)
