"""Flip test-time augmentation for voxel detectors: the sweep and its mirror image about the
LiDAR x-z plane (``y -> -y``) go through the detector as one batch, the mirrored pass's boxes
are mirrored back, and the two passes' boxes are fused.

Mirroring is done on the voxelized batch: each point's y is negated and its voxel's y index
becomes ``ny - 1 - iy``, which is the voxel the mirrored point falls in when the grid's y range
is symmetric about 0 (KITTI grids are; others are refused). A mirrored box has
``y -> -y`` and ``heading -> -heading``.

Fusion (weighted box fusion, Solovyev, Wang and Gabruseva, "Weighted boxes fusion", Image and
Vision Computing 2021, applied to rotated BEV boxes): per class, boxes are taken by descending
score; each opens a cluster of the not yet clustered boxes with a BEV IoU of at least
``cluster_iou`` with it. The fused box is the score-weighted mean of the cluster's centres
and sizes with the heading of its best box (headings are not averaged: a box's heading is
ambiguous by pi between passes); its score is the sum over passes of each pass's best score in
the cluster divided by the number of passes, so a box only one pass sees keeps half its
score. The fused boxes then go through the detector's own rotated NMS, as single-pass boxes do.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from perception3d.errors import ConfigError
from perception3d.geometry.iou import bev_iou_lidar
from perception3d.lidar.voxelize import VoxelGridConfig
from perception3d.models.detector import Detections, VoxelBatch
from perception3d.models.nms import rotated_nms

__all__ = [
    "TTA_MODES",
    "fuse_mirrored",
    "fuse_passes",
    "heading_start",
    "mirror_boxes_y",
    "mirror_voxel_batch",
]

TTA_MODES = ("none", "flip")
CLUSTER_IOU = 0.3  # BEV IoU that makes two passes' boxes one object (before the config's NMS)


def mirror_voxel_batch(batch: VoxelBatch, grid: VoxelGridConfig) -> VoxelBatch:
    """``batch`` followed by its mirror image (``y -> -y``): a batch twice as large whose frame
    ``b + batch_size`` is frame ``b`` mirrored.

    Raises:
        ConfigError: the voxel grid's y range is not symmetric about 0.
    """
    _, y0, _, _, y1, _ = grid.point_range_m
    if not math.isclose(y0, -y1, abs_tol=1e-6):
        raise ConfigError(
            f"flip test-time augmentation needs a voxel grid symmetric in y; "
            f"the grid's point_range_m has y from {y0} to {y1}"
        )
    ny = grid.grid_size_xyz[1]
    points = batch.points.clone()
    points[..., 1] = -points[..., 1]
    coords = batch.coords.clone()  # (V, 4) [b, z, y, x]
    coords[:, 0] += batch.batch_size
    coords[:, 2] = ny - 1 - coords[:, 2]
    return VoxelBatch(
        torch.cat([batch.points, points]),
        torch.cat([batch.num_points, batch.num_points]),
        torch.cat([batch.coords, coords]),
        2 * batch.batch_size,
    )


def heading_start(box_coder) -> float:
    """Start of the interval a detector's decoded headings lie in: -pi (``wrap_heading``) or
    ``dir_offset_rad`` (OpenPCDet's convention, unwrapped)."""
    return -math.pi if box_coder.wrap_heading else box_coder.dir_offset_rad


def mirror_boxes_y(boxes_lidar: torch.Tensor, heading_from: float) -> torch.Tensor:
    """(K, 7) LiDAR boxes mirrored about the x-z plane, headings kept in
    ``[heading_from, heading_from + 2 pi)``."""
    out = boxes_lidar.clone()
    out[:, 1] = -boxes_lidar[:, 1]
    out[:, 6] = torch.remainder(-boxes_lidar[:, 6] - heading_from, 2 * math.pi) + heading_from
    return out


def _fuse_class(boxes: np.ndarray, scores: np.ndarray, passes: np.ndarray, n_passes: int):
    """Weighted box fusion of one class's boxes: (F, 7) boxes, (F,) scores."""
    order = np.argsort(-scores, kind="stable")
    boxes, scores, passes = boxes[order], scores[order], passes[order]
    iou = bev_iou_lidar(boxes, boxes)
    free = np.ones(len(boxes), bool)
    fused_boxes, fused_scores = [], []
    for i in range(len(boxes)):
        if not free[i]:
            continue
        member = free & (iou[i] >= CLUSTER_IOU)
        member[i] = True
        free &= ~member
        w = scores[member]
        box = boxes[i].copy()
        box[:6] = (boxes[member, :6] * w[:, None]).sum(0) / w.sum()
        best = [scores[member & (passes == p)].max(initial=0.0) for p in range(n_passes)]
        fused_boxes.append(box)
        fused_scores.append(sum(best) / n_passes)
    return np.array(fused_boxes, np.float32).reshape(-1, 7), np.array(fused_scores, np.float32)


def fuse_passes(passes: list[Detections], nms_iou: float, max_detections: int) -> Detections:
    """One frame's detections from several passes over it (boxes already in the frame's own
    LiDAR frame): weighted box fusion per class, then rotated NMS per class at ``nms_iou``,
    at most ``max_detections`` by descending score."""
    boxes = torch.cat([d.boxes_lidar for d in passes]).cpu().numpy()
    scores = torch.cat([d.scores for d in passes]).cpu().numpy()
    labels = torch.cat([d.labels for d in passes]).cpu().numpy()
    pass_of = np.concatenate([np.full(len(d.scores), k) for k, d in enumerate(passes)])
    out_b, out_s, out_l = [], [], []
    for c in np.unique(labels):
        sel = labels == c
        fb, fs = _fuse_class(boxes[sel], scores[sel], pass_of[sel], len(passes))
        tb, ts = torch.from_numpy(fb), torch.from_numpy(fs)
        keep = rotated_nms(tb, ts, nms_iou)
        out_b.append(tb[keep])
        out_s.append(ts[keep])
        out_l.append(torch.full((len(keep),), int(c), dtype=torch.long))
    if not out_b:
        return Detections(torch.zeros((0, 7)), torch.zeros(0), torch.zeros(0, dtype=torch.long))
    b, s, lab = torch.cat(out_b), torch.cat(out_s), torch.cat(out_l)
    order = torch.argsort(s, descending=True, stable=True)[:max_detections]
    return Detections(b[order], s[order], lab[order])


def fuse_mirrored(dets: list[Detections], model) -> list[Detections]:
    """The detections of a :func:`mirror_voxel_batch` batch (``2 n`` frames, as
    ``model.postprocess`` gives them) as ``n`` frames: frame ``k`` fused with frame ``n + k``
    mirrored back. ``model``: the detector (its ``box_coder`` and ``post_cfg``)."""
    n = len(dets) // 2
    start, post = heading_start(model.box_coder), model.post_cfg
    out = []
    for k in range(n):
        m = dets[n + k]
        mirrored = Detections(mirror_boxes_y(m.boxes_lidar, start), m.scores, m.labels)
        out.append(fuse_passes([dets[k], mirrored], post.nms_iou, post.max_detections))
    return out
