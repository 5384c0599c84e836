"""The ``model:`` section of a detector config (``configs/models/*.yaml``), as frozen
dataclasses loaded by :func:`perception3d.config.load_config`.

Derived values (grid size, feature-map size, channel counts) are properties, never YAML keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from perception3d.lidar.voxelize import VoxelGridConfig


@dataclass(frozen=True)
class AnchorConfig:
    """One anchor family: a class's mean box at every feature-map cell and rotation.

    Attributes:
        class_name: the class these anchors detect (one of ``ModelConfig.classes``).
        size_m: ``(dx, dy, dz)`` metres (dx along the heading).
        bottom_z_m: z of the anchor's bottom face, LiDAR frame (the ground is about -1.73 m
            below a KITTI-mounted sensor).
        rotations_rad: headings of the anchors at each cell.
        matched_iou: nearest-BEV IoU at or above which an anchor is positive.
        unmatched_iou: below which it is negative (in between: ignored).
    """

    class_name: str
    size_m: tuple[float, float, float]
    bottom_z_m: float
    matched_iou: float
    unmatched_iou: float
    rotations_rad: tuple[float, ...] = (0.0, 1.5708)

    def __post_init__(self) -> None:
        if min(self.size_m) <= 0:
            raise ValueError(f"anchor {self.class_name}: size_m must be positive")
        if not 0 <= self.unmatched_iou <= self.matched_iou <= 1:
            raise ValueError(
                f"anchor {self.class_name}: need 0 <= unmatched_iou <= matched_iou <= 1, got "
                f"{self.unmatched_iou}, {self.matched_iou}"
            )


@dataclass(frozen=True)
class PillarEncoderConfig:
    """PointPillars pillar feature net.

    Attributes:
        channels: widths of its per-point layers (the last is the BEV pseudo-image's channel
            count).
        norm_eps: epsilon of its batch norms (OpenPCDet and mmdetection3d: 1e-3).
        first_xyz: the first three input channels of each point: ``absolute`` x, y, z
            (OpenPCDet, ours) or ``pillar_offset``, the offsets from the pillar centre
            (mmdetection3d's ``PillarFeatureNet(legacy=True)``, which overwrites x, y, z in
            place, so those offsets appear twice).
        read_intensity: false feeds every point's intensity as 0 (in training and inference
            alike): a detector of geometry only, for sensors whose reflectivity differs from
            the training data's (ST3D's cross-dataset configs, Yang et al. CVPR 2021, read
            x, y, z only).
    """

    channels: tuple[int, ...] = (64,)
    norm_eps: float = 1e-5
    first_xyz: Literal["absolute", "pillar_offset"] = "absolute"
    read_intensity: bool = True

    def __post_init__(self) -> None:
        if self.first_xyz not in ("absolute", "pillar_offset"):
            raise ValueError(
                f"pillar_encoder.first_xyz must be absolute or pillar_offset, got "
                f"{self.first_xyz!r}"
            )


@dataclass(frozen=True)
class SparseEncoderConfig:
    """SECOND sparse 3D middle encoder: per stage, the width and the number of sparse
    convolutions; every stage after the first starts with a stride-2 sparse convolution, the
    others are submanifold ones.

    Attributes:
        channels: width per stage.
        blocks: convolutions per stage.
        norm_eps: epsilon of its batch norms (OpenPCDet and mmdetection3d: 1e-3).
        extra_z_cell: the sparse tensor has one more z cell than the voxel grid (OpenPCDet's
            ``VoxelBackBone8x`` and mmdetection3d's ``SparseEncoder``: sparse shape
            ``grid[::-1] + [1, 0, 0]``, 41 x 1600 x 1408 on KITTI).
        last_stage_padding_zyx: padding of the last stage's strided convolution (those
            frameworks: (0, 1, 1)).
        out_channels: when set, a final sparse convolution (kernel 3 x 1 x 1, stride 2 x 1 x
            1 in z, y, x, no padding) to this width, as their ``conv_out``.
    """

    channels: tuple[int, ...] = (16, 32, 64, 64)
    blocks: tuple[int, ...] = (1, 2, 2, 2)
    norm_eps: float = 1e-5
    extra_z_cell: bool = False
    last_stage_padding_zyx: tuple[int, int, int] = (1, 1, 1)
    out_channels: int | None = None

    def __post_init__(self) -> None:
        if len(self.channels) != len(self.blocks) or not self.channels:
            raise ValueError("sparse_encoder channels and blocks must have the same length >= 1")

    @property
    def stride(self) -> int:
        """Downsampling factor of the encoder in x and y."""
        return 2 ** (len(self.channels) - 1)

    def output_depth(self, nz: int) -> int:
        """z cells of the encoder's output for a grid of ``nz`` z cells.

        Example:
            >>> SparseEncoderConfig(extra_z_cell=True, last_stage_padding_zyx=(0, 1, 1),
            ...     out_channels=128).output_depth(40)
            2
        """
        depth = nz + int(self.extra_z_cell)
        for i in range(1, len(self.channels)):
            pad = self.last_stage_padding_zyx[0] if i == len(self.channels) - 1 else 1
            depth = (depth + 2 * pad - 3) // 2 + 1  # kernel 3, stride 2
        if self.out_channels is not None:
            depth = (depth - 3) // 2 + 1  # kernel 3, stride 2, no padding
        return depth

    @property
    def bev_channels_per_cell(self) -> int:
        """Channels of each output z cell."""
        return self.channels[-1] if self.out_channels is None else self.out_channels


@dataclass(frozen=True)
class BackboneConfig:
    """2D BEV backbone (strided conv blocks) and its FPN-style neck (each block's output
    upsampled to a common stride and concatenated), as in SECOND/PointPillars.

    Attributes:
        layers: 3x3 convolutions per block after its strided first one.
        strides: stride of each block's first convolution.
        channels: width of each block.
        upsample_strides: upsampling factor of each block's output (transposed convolution).
        upsample_channels: width of each upsampled output.
    """

    layers: tuple[int, ...]
    strides: tuple[int, ...]
    channels: tuple[int, ...]
    upsample_strides: tuple[int, ...]
    upsample_channels: tuple[int, ...]

    def __post_init__(self) -> None:
        n = len(self.layers)
        lengths = [len(self.strides), len(self.channels), len(self.upsample_strides)]
        if n == 0 or [*lengths, len(self.upsample_channels)] != [n] * 4:
            raise ValueError("backbone layers/strides/channels/upsample_* must have equal length")
        strides = {s // u for s, u in zip(self.cumulative_strides, self.upsample_strides)}
        exact = all(s % u == 0 for s, u in zip(self.cumulative_strides, self.upsample_strides))
        if len(strides) != 1 or not exact:
            raise ValueError(
                f"backbone: every block must come out at the same stride, got cumulative strides "
                f"{self.cumulative_strides} / upsample_strides {self.upsample_strides}"
            )

    @property
    def cumulative_strides(self) -> tuple[int, ...]:
        return tuple(math.prod(self.strides[: i + 1]) for i in range(len(self.strides)))

    @property
    def output_stride(self) -> int:
        """Stride of the neck's output w.r.t. the backbone's input."""
        return self.cumulative_strides[0] // self.upsample_strides[0]

    @property
    def out_channels(self) -> int:
        return sum(self.upsample_channels)


@dataclass(frozen=True)
class LossConfig:
    """Loss weights and shapes (defaults: PointPillars/SECOND as in OpenPCDet's KITTI configs:
    sigmoid focal loss alpha 0.25 gamma 2, smooth-L1 beta 1/9, weights 1 / 2 / 0.2)."""

    cls_weight: float = 1.0
    box_weight: float = 2.0
    dir_weight: float = 0.2
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    smooth_l1_beta: float = 1.0 / 9.0


NmsMode = Literal["per_class", "class_agnostic", "top_k_then_per_class"]


@dataclass(frozen=True)
class PostprocessConfig:
    """From head outputs to boxes: score threshold, top-k, rotated BEV NMS.

    Attributes:
        score_threshold: sigmoid score a box needs.
        pre_nms_top_k: boxes entering NMS (see ``nms``).
        nms_iou: a box is suppressed when its BEV IoU with a kept box is above this.
        max_detections: boxes kept per frame.
        nms: ``per_class`` (ours): per class, the boxes with score >= threshold, the best
            ``pre_nms_top_k`` of them, NMS, then the best ``max_detections`` over the classes.
            ``class_agnostic`` (OpenPCDet's ``MULTI_CLASSES_NMS: False``): each anchor's best
            class score and label, score >= threshold, the best ``pre_nms_top_k``, one NMS over
            all classes, at most ``max_detections``. ``top_k_then_per_class``
            (mmdetection3d's ``Anchor3DHead``): the ``pre_nms_top_k`` anchors of highest best
            class score first, then per class the boxes with score > threshold, NMS, and the
            best ``max_detections`` over the classes.
    """

    score_threshold: float = 0.1
    pre_nms_top_k: int = 1000
    nms_iou: float = 0.01
    max_detections: int = 100
    nms: NmsMode = "per_class"

    def __post_init__(self) -> None:
        if self.nms not in ("per_class", "class_agnostic", "top_k_then_per_class"):
            raise ValueError(
                "postprocess.nms must be per_class, class_agnostic or top_k_then_per_class, "
                f"got {self.nms!r}"
            )


@dataclass(frozen=True)
class ModelConfig:
    """A voxel/pillar detector with an anchor head.

    Attributes:
        type: ``pointpillars`` (pillar feature net + scatter) or ``second`` (sparse 3D conv).
        classes: class names, in the order of the classifier's outputs.
        voxel: input grid (pillars: one z cell).
        anchors: one family per class.
        backbone: 2D backbone + neck.
        pillar_encoder / sparse_encoder: the section matching ``type``.
        dir_offset_rad: direction-bin offset of the box coder.
        point_features: channels of each input point: 4 (x, y, z, intensity) or 4 + C for
            points painted with C class scores (PointPainting, ``data.point_source:
            velodyne_painted``).
        anchor_grid: where anchors sit on the feature map: ``cell_centres`` (ours and
            mmdetection3d's ``AlignedAnchor3DRangeGenerator``) or ``range_ends`` (OpenPCDet's
            ``align_center: False``: W positions from x_min to x_max inclusive, same in y).
        wrap_heading: wrap decoded headings to [-pi, pi) (ours); False keeps them as
            OpenPCDet and mmdetection3d leave them, in [dir_offset, dir_offset + 2 pi).
    """

    type: Literal["pointpillars", "second"]
    classes: tuple[str, ...]
    voxel: VoxelGridConfig
    anchors: tuple[AnchorConfig, ...]
    backbone: BackboneConfig
    pillar_encoder: PillarEncoderConfig | None = None
    sparse_encoder: SparseEncoderConfig | None = None
    loss: LossConfig = field(default_factory=LossConfig)
    postprocess: PostprocessConfig = field(default_factory=PostprocessConfig)
    dir_offset_rad: float = 0.7854
    point_features: int = 4
    anchor_grid: Literal["cell_centres", "range_ends"] = "cell_centres"
    wrap_heading: bool = True

    def __post_init__(self) -> None:
        if self.anchor_grid not in ("cell_centres", "range_ends"):
            raise ValueError(
                f"anchor_grid must be cell_centres or range_ends, got {self.anchor_grid!r}"
            )
        if self.point_features < 4:
            raise ValueError(f"point_features must be >= 4, got {self.point_features}")
        if self.type == "pointpillars":
            if self.pillar_encoder is None or not self.voxel.is_pillar_grid:
                raise ValueError("type pointpillars needs pillar_encoder and a one-cell z grid")
        elif self.type == "second":
            if self.sparse_encoder is None:
                raise ValueError("type second needs a sparse_encoder section")
        else:
            raise ValueError(f"type must be 'pointpillars' or 'second', got {self.type!r}")
        names = [a.class_name for a in self.anchors]
        if sorted(names) != sorted(self.classes) or len(set(names)) != len(names):
            raise ValueError(
                f"anchors must cover each class once: classes {self.classes}, anchors for {names}"
            )
        nx, ny, _ = self.voxel.grid_size_xyz
        total = self.encoder_stride * math.prod(self.backbone.strides)
        if nx % total or ny % total:
            raise ValueError(
                f"voxel grid {nx} x {ny} (x, y) must be divisible by the total stride {total} "
                "(encoder x backbone)"
            )

    @property
    def encoder_stride(self) -> int:
        """BEV downsampling of the 3D encoder (1 for pillars)."""
        return (
            1
            if self.sparse_encoder is None or self.type != "second"
            else self.sparse_encoder.stride
        )

    @property
    def bev_channels(self) -> int:
        """Channels of the BEV map entering the 2D backbone."""
        if self.type == "pointpillars":
            return self.pillar_encoder.channels[-1]
        sparse = self.sparse_encoder
        return sparse.bev_channels_per_cell * sparse.output_depth(self.voxel.grid_size_xyz[2])

    @property
    def feature_stride(self) -> int:
        """Stride of the head's feature map w.r.t. the voxel grid."""
        return self.encoder_stride * self.backbone.output_stride

    @property
    def feature_map_hw(self) -> tuple[int, int]:
        """(H, W) = (y cells, x cells) of the head's feature map."""
        nx, ny, _ = self.voxel.grid_size_xyz
        return ny // self.feature_stride, nx // self.feature_stride

    @property
    def anchors_per_cell(self) -> int:
        return sum(len(a.rotations_rad) for a in self.anchors)
