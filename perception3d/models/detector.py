"""A voxel/pillar 3D detector assembled from its parts, and the plain factories that build
PointPillars and SECOND from a :class:`~perception3d.models.config.ModelConfig`.

Data flow: ``VoxelBatch`` -> encoder (pillar net + scatter, or sparse 3D convs) -> BEV map
(B, C, H, W) -> 2D backbone + neck -> anchor head -> :class:`HeadOutput`; the loss
(:func:`~perception3d.models.losses.compute_loss`) and :meth:`VoxelDetector.postprocess`
(decode + rotated NMS) are separate steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from perception3d.models.anchors import make_anchors
from perception3d.models.bev_backbone import BEVBackbone
from perception3d.models.box_coder import ResidualBoxCoder
from perception3d.models.config import LossConfig, ModelConfig, PostprocessConfig
from perception3d.models.heads import AnchorHead, HeadOutput
from perception3d.models.losses import AnchorTargets, compute_loss
from perception3d.models.pillars import PillarEncoder, PillarFeatureNet
from perception3d.models.postprocess import select_detections


class VoxelBatch(NamedTuple):
    """Voxelized points of a batch (see :func:`perception3d.lidar.voxelize.voxelize`).

    Attributes:
        points: (V, P, C) float32 points per voxel, LiDAR frame, zero padded.
        num_points: (V,) int32 valid points per voxel.
        coords: (V, 4) int32 ``[batch, z, y, x]`` voxel indices.
        batch_size: B.
    """

    points: torch.Tensor
    num_points: torch.Tensor
    coords: torch.Tensor
    batch_size: int


@dataclass(frozen=True)
class Detections:
    """One frame's detections, by descending score.

    Attributes:
        boxes_lidar: (K, 7) float32 ``[x, y, z, dx, dy, dz, heading]``, LiDAR frame.
        scores: (K,) float32 in [0, 1].
        labels: (K,) int64 class index into the model's ``classes``.
    """

    boxes_lidar: torch.Tensor
    scores: torch.Tensor
    labels: torch.Tensor


@torch.no_grad()
def detections_per_frame(
    head_out: HeadOutput,
    anchors: torch.Tensor,
    box_coder: ResidualBoxCoder,
    post_cfg: PostprocessConfig,
) -> list[Detections]:
    """:func:`select_detections` on each frame of a batch's head output (tensors (B, A, ...),
    ``anchors`` (A, 7)), each frame's detections moved to the CPU."""
    out = []
    for cls_logits, deltas, dir_logits in zip(*head_out):
        det = select_detections(cls_logits, deltas, dir_logits, anchors, box_coder, post_cfg)
        out.append(Detections(det.boxes_lidar.cpu(), det.scores.cpu(), det.labels.cpu()))
    return out


class VoxelDetector(nn.Module):
    """Single-stage anchor detector on a BEV feature map.

    Args:
        encoder: ``(points, num_points, coords, batch_size) -> (B, C, H, W)`` BEV map.
        backbone: BEV map -> feature map at the head's stride.
        head: feature map -> :class:`HeadOutput`.
        box_coder: anchor box coder.
        anchors: (A, 7) anchors in the head's order.
        classes: class names of the classifier outputs.
        loss_cfg, post_cfg: loss weights, post-processing thresholds.
    """

    def __init__(
        self,
        encoder: nn.Module,
        backbone: nn.Module,
        head: AnchorHead,
        box_coder: ResidualBoxCoder,
        anchors: torch.Tensor,
        classes: tuple[str, ...],
        loss_cfg: LossConfig,
        post_cfg: PostprocessConfig,
    ) -> None:
        super().__init__()
        self.encoder, self.backbone, self.head = encoder, backbone, head
        self.box_coder = box_coder
        self.classes = tuple(classes)
        self.loss_cfg, self.post_cfg = loss_cfg, post_cfg
        self.register_buffer("anchors", anchors, persistent=False)  # derived from the config

    def forward(self, batch: VoxelBatch) -> HeadOutput:
        bev = self.encoder(batch.points, batch.num_points, batch.coords, batch.batch_size)
        return self.head(self.backbone(bev))

    def compute_loss(
        self, head_out: HeadOutput, targets: AnchorTargets
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Loss of ``head_out`` against ``targets`` (see :func:`compute_loss`)."""
        return compute_loss(head_out, targets, self.anchors, self.box_coder, self.loss_cfg)

    @torch.no_grad()
    def postprocess(self, head_out: HeadOutput) -> list[Detections]:
        """Decode boxes, resolve headings with the direction bins, threshold and rotated NMS
        in the order ``post_cfg.nms`` names (:func:`select_detections`)."""
        return detections_per_frame(head_out, self.anchors, self.box_coder, self.post_cfg)


def _assemble(cfg: ModelConfig, encoder: nn.Module) -> VoxelDetector:
    backbone = BEVBackbone(cfg.bev_channels, cfg.backbone)
    head = AnchorHead(cfg.backbone.out_channels, cfg.anchors_per_cell, len(cfg.classes))
    anchors, _ = make_anchors(cfg)
    return VoxelDetector(
        encoder,
        backbone,
        head,
        ResidualBoxCoder(cfg.dir_offset_rad, wrap_heading=cfg.wrap_heading),
        torch.from_numpy(anchors),
        cfg.classes,
        cfg.loss,
        cfg.postprocess,
    )


def build_pointpillars(cfg: ModelConfig, in_channels: int = 4) -> VoxelDetector:
    """PointPillars: pillar feature net + BEV scatter + 2D backbone + anchor head."""
    pillar = cfg.pillar_encoder
    feature_net = PillarFeatureNet(
        cfg.voxel,
        in_channels,
        pillar.channels,
        pillar.norm_eps,
        pillar.first_xyz,
        pillar.read_intensity,
    )
    return _assemble(cfg, PillarEncoder(feature_net, cfg.voxel))


def build_second(cfg: ModelConfig, in_channels: int = 4) -> VoxelDetector:
    """SECOND: mean voxel features + sparse 3D middle encoder + 2D backbone + anchor head."""
    from perception3d.models.second import MeanVoxelEncoder, SecondEncoder, SparseMiddleEncoder

    sparse = cfg.sparse_encoder
    middle = SparseMiddleEncoder(
        cfg.voxel,
        in_channels,
        sparse.channels,
        sparse.blocks,
        sparse.norm_eps,
        sparse.extra_z_cell,
        sparse.last_stage_padding_zyx,
        sparse.out_channels,
    )
    return _assemble(cfg, SecondEncoder(MeanVoxelEncoder(), middle))


def build_detector(cfg: ModelConfig, in_channels: int | None = None) -> VoxelDetector:
    """The detector named by ``cfg.type`` (``in_channels`` default: ``cfg.point_features``)."""
    in_channels = cfg.point_features if in_channels is None else in_channels
    if cfg.type == "pointpillars":
        return build_pointpillars(cfg, in_channels)
    elif cfg.type == "second":
        return build_second(cfg, in_channels)
    else:
        raise ValueError(f"model type must be 'pointpillars' or 'second', got {cfg.type!r}")
