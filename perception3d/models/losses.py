"""Loss of the anchor head: a pure function of head outputs and targets.

Classification: sigmoid focal loss (Lin et al., ICCV 2017) over positive and negative anchors;
box regression: smooth-L1 over positives with the heading residual compared through
``sin(a - b) = sin a cos b - cos a sin b`` (SECOND's sine-error loss); direction: 2-bin cross
entropy over positives. Each is normalised by the frame's positive count and averaged over the
batch, as in SECOND/PointPillars.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from perception3d.models.box_coder import ResidualBoxCoder
from perception3d.models.config import LossConfig
from perception3d.models.heads import HeadOutput


class AnchorTargets(NamedTuple):
    """Targets of a batch.

    Attributes:
        labels: (B, A) int64, -1 ignored, 0 background, c + 1 positive of class c.
        gt_index: (B, A) int64 index into ``gt_boxes`` of the matched box (positives), else -1.
        gt_boxes: (B, M, 7) float32 LiDAR boxes, zero padded.
    """

    labels: torch.Tensor
    gt_index: torch.Tensor
    gt_boxes: torch.Tensor


def sigmoid_focal_loss(
    logits: torch.Tensor, targets: torch.Tensor, alpha: float, gamma: float
) -> torch.Tensor:
    """Element-wise focal loss ``-alpha_t (1 - p_t)^gamma log(p_t)`` of sigmoid ``logits``
    against 0/1 ``targets`` (same shape)."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return alpha_t * (1 - p_t) ** gamma * ce


def compute_loss(
    head: HeadOutput,
    targets: AnchorTargets,
    anchors: torch.Tensor,
    box_coder: ResidualBoxCoder,
    cfg: LossConfig,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total loss and its detached parts ``{"cls", "box", "dir"}``.

    Args:
        head: outputs for B frames and A anchors.
        targets: matching targets.
        anchors: (A, 7) LiDAR anchors.
        box_coder: the coder the head regresses.
        cfg: weights and loss shapes.
    """
    labels = targets.labels
    b, a, num_classes = head.cls_logits.shape
    if labels.shape != (b, a):
        raise ValueError(f"targets.labels must be ({b}, {a}), got {tuple(labels.shape)}")
    pos = labels > 0
    care = labels >= 0
    normalizer = pos.sum(dim=1, keepdim=True).clamp(min=1).to(head.cls_logits.dtype)  # (B, 1)

    onehot = F.one_hot((labels - 1).clamp(min=0), num_classes).to(head.cls_logits.dtype)
    onehot = onehot * pos.unsqueeze(-1)  # (B, A, C), background rows all zero
    cls = sigmoid_focal_loss(head.cls_logits, onehot, cfg.focal_alpha, cfg.focal_gamma)
    cls_loss = (cls.sum(-1) * care / normalizer).sum() / b

    batch = torch.arange(b, device=labels.device)[:, None]
    matched = targets.gt_boxes[batch, targets.gt_index.clamp(min=0)]  # (B, A, 7)
    pos_b, pos_a = torch.nonzero(pos, as_tuple=True)
    weight = (1.0 / normalizer.squeeze(1))[pos_b]  # (P,)
    if len(pos_b):
        target = box_coder.encode(matched[pos_b, pos_a], anchors[pos_a])  # (P, 7)
        pred = head.box_deltas[pos_b, pos_a]
        # sine-error trick: compare sin(p)cos(t) with cos(p)sin(t)
        p_rot, t_rot = pred[:, 6:7], target[:, 6:7]
        pred = torch.cat([pred[:, :6], torch.sin(p_rot) * torch.cos(t_rot)], dim=1)
        target = torch.cat([target[:, :6], torch.cos(p_rot) * torch.sin(t_rot)], dim=1)
        box = F.smooth_l1_loss(pred, target, beta=cfg.smooth_l1_beta, reduction="none").sum(1)
        box_loss = (box * weight).sum() / b
        dir_target = box_coder.direction_targets(matched[pos_b, pos_a, 6])
        dir_ce = F.cross_entropy(head.dir_logits[pos_b, pos_a], dir_target, reduction="none")
        dir_loss = (dir_ce * weight).sum() / b
    else:  # keep the graph connected (DDP expects every parameter to receive a gradient)
        box_loss = head.box_deltas.sum() * 0.0
        dir_loss = head.dir_logits.sum() * 0.0
    total = cfg.cls_weight * cls_loss + cfg.box_weight * box_loss + cfg.dir_weight * dir_loss
    parts = {"cls": cls_loss.detach(), "box": box_loss.detach(), "dir": dir_loss.detach()}
    return total, parts
