"""Anchors on the head's feature map and the assignment of ground-truth boxes to them (numpy,
so it runs in DataLoader workers).

Anchor order (the head's outputs follow it): dims are ``[y, x, k]``, k running over the anchor
families of ``ModelConfig.anchors`` and, inside a family, over its rotations.

Matching follows SECOND / PointPillars: the overlap is the IoU of the boxes' nearest
axis-aligned BEV rectangles (a box turned more than 45 degrees swaps dx and dy); an anchor is
positive at ``IoU >= matched_iou``, negative below ``unmatched_iou``, ignored in between, and
each ground-truth box also claims the anchors of highest IoU with it (so small or oddly
placed objects get at least one positive). Boxes named ``DontCare`` (DontCare label rows that
carry a 3D box: pseudo-labels of uncertain detections, `perception3d.experiments.sim2real.pseudo`)
are regions where background anchors are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from perception3d.geometry.calib import limit_period
from perception3d.models.config import ModelConfig

IGNORE, BACKGROUND = -1, 0
IGNORE_REGION = "DontCare"  # boxes of this name: regions whose background anchors are ignored


def make_anchors(cfg: ModelConfig) -> tuple[np.ndarray, np.ndarray]:
    """All anchors of a model.

    Returns:
        anchors: (H * W * K, 7) float32 LiDAR boxes ``[x, y, z, dx, dy, dz, heading]`` centred
            on the feature-map cells.
        anchor_class: (H * W * K,) int64 class index (into ``cfg.classes``) of each anchor.
    """
    h, w = cfg.feature_map_hw
    xs, ys = anchor_positions(cfg)
    families = []
    classes = []
    for a in cfg.anchors:
        for rot in a.rotations_rad:
            families.append([*a.size_m, rot, a.bottom_z_m + a.size_m[2] / 2])
            classes.append(cfg.classes.index(a.class_name))
    fam = np.array(families, dtype=np.float64)  # (K, 5) [dx, dy, dz, heading, z]
    k = len(fam)
    grid_y, grid_x = np.meshgrid(ys, xs, indexing="ij")  # (H, W)
    anchors = np.zeros((h, w, k, 7), dtype=np.float64)
    anchors[..., 0] = grid_x[..., None]
    anchors[..., 1] = grid_y[..., None]
    anchors[..., 2] = fam[:, 4]
    anchors[..., 3:6] = fam[:, :3]
    anchors[..., 6] = fam[:, 3]
    anchor_class = np.broadcast_to(np.array(classes), (h, w, k))
    return anchors.reshape(-1, 7).astype(np.float32), anchor_class.reshape(-1).astype(np.int64)


def anchor_positions(cfg: ModelConfig) -> tuple[np.ndarray, np.ndarray]:
    """x (W,) and y (H,) positions of the anchors, metres (float64 holding the float32 values
    the anchors get), by ``cfg.anchor_grid``.

    ``cell_centres``: the centre of each feature-map cell. ``range_ends``: OpenPCDet's
    ``align_center: False``, W positions from x_min to x_max inclusive, computed as its
    ``torch.arange`` over the float32 range does, so the anchors equal its own bit for bit.
    """
    h, w = cfg.feature_map_hw
    r = cfg.voxel.point_range_m
    if cfg.anchor_grid == "cell_centres":
        step_x = cfg.voxel.voxel_size_m[0] * cfg.feature_stride
        step_y = cfg.voxel.voxel_size_m[1] * cfg.feature_stride
        return r[0] + (np.arange(w) + 0.5) * step_x, r[1] + (np.arange(h) + 0.5) * step_y
    elif cfg.anchor_grid == "range_ends":
        lo, hi = np.float32(r[:3]), np.float32(r[3:])  # the frameworks' float32 range
        out = []
        for axis, n in ((0, w), (1, h)):
            step = float(hi[axis] - lo[axis]) / (n - 1)
            pos = torch.arange(float(lo[axis]), float(hi[axis]) + 1e-5, step, dtype=torch.float32)
            out.append(pos[:n].double().numpy())
        return out[0], out[1]
    else:
        raise ValueError(f"unknown anchor_grid {cfg.anchor_grid!r}")


def nearest_bev_rects(boxes_lidar: np.ndarray) -> np.ndarray:
    """(M, 7) LiDAR boxes -> (M, 4) ``[x1, y1, x2, y2]`` of the nearest axis-aligned BEV box.

    Example:
        >>> nearest_bev_rects(np.array([[0.0, 0, 0, 4, 2, 1, 1.5]])).tolist()
        [[-1.0, -2.0, 1.0, 2.0]]
    """
    b = np.asarray(boxes_lidar, dtype=np.float64).reshape(-1, 7)
    turned = np.abs(limit_period(b[:, 6], 0.5, np.pi)) > np.pi / 4
    size = np.where(turned[:, None], b[:, [4, 3]], b[:, [3, 4]])
    return np.concatenate([b[:, :2] - size / 2, b[:, :2] + size / 2], axis=1)


def _iou_aligned(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4) x (M, 4) axis-aligned rectangles -> (N, M) IoU."""
    wh = np.minimum(a[:, None, 2:], b[None, :, 2:]) - np.maximum(a[:, None, :2], b[None, :, :2])
    inter = np.clip(wh, 0, None).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).prod(-1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)


def assign_targets(
    anchors: np.ndarray,
    anchor_class: np.ndarray,
    gt_boxes: np.ndarray,
    gt_class: np.ndarray,
    matched_iou: np.ndarray,
    unmatched_iou: np.ndarray,
    anchor_rects: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Match ground-truth boxes to anchors of their class.

    Args:
        anchors: (A, 7) LiDAR boxes.
        anchor_class: (A,) class index of each anchor.
        gt_boxes: (M, 7) LiDAR boxes.
        gt_class: (M,) class index, -1 for boxes of classes the model does not detect.
        matched_iou, unmatched_iou: (C,) per-class thresholds.
        anchor_rects: ``nearest_bev_rects(anchors)`` if already computed.

    Returns:
        labels: (A,) int64, ``-1`` ignored, ``0`` background, ``c + 1`` positive of class c.
        gt_index: (A,) int64 index of the matched box for positives, else -1.
    """
    a = len(anchors)
    labels = np.full(a, BACKGROUND, dtype=np.int64)
    gt_index = np.full(a, -1, dtype=np.int64)
    if anchor_rects is None:
        anchor_rects = nearest_bev_rects(anchors)
    gt_rects = nearest_bev_rects(gt_boxes)
    for c in range(len(matched_iou)):
        a_idx = np.flatnonzero(anchor_class == c)
        g_idx = np.flatnonzero(gt_class == c)
        if len(g_idx) == 0:
            continue
        # only anchors whose rectangle overlaps the boxes' bounding rectangle can match
        lo, hi = gt_rects[g_idx, :2].min(axis=0), gt_rects[g_idx, 2:].max(axis=0)
        rects = anchor_rects[a_idx]
        near = ((rects[:, 2:] > lo) & (rects[:, :2] < hi)).all(axis=1)
        a_idx, rects = a_idx[near], rects[near]
        if len(a_idx) == 0:
            continue
        iou = _iou_aligned(rects, gt_rects[g_idx])  # (A_c, M_c)
        best_gt = iou.argmax(axis=1)
        best_iou = iou[np.arange(len(a_idx)), best_gt]
        pos = best_iou >= matched_iou[c]
        ignore = (best_iou >= unmatched_iou[c]) & ~pos
        # every box claims its best anchors (ties included) when it overlaps any
        gt_best = iou.max(axis=0)  # (M_c,)
        claim_a, claim_g = np.nonzero((iou == gt_best[None, :]) & (gt_best[None, :] > 0))
        best_gt[claim_a] = claim_g
        pos[claim_a] = True
        ignore[claim_a] = False
        labels[a_idx[ignore]] = IGNORE
        labels[a_idx[pos]] = c + 1
        gt_index[a_idx[pos]] = g_idx[best_gt[pos]]
    return labels, gt_index


@dataclass(frozen=True)
class AnchorTargetAssigner:
    """Picklable ``assign(boxes_lidar, names) -> {"anchor_labels", "anchor_gt_index"}`` for a
    model config, used by the dataset (each worker builds the anchors once)."""

    cfg: ModelConfig

    def __call__(self, boxes_lidar: np.ndarray, names: np.ndarray) -> dict[str, np.ndarray]:
        cache = self.__dict__.get("_anchors")
        if cache is None:
            anchors, anchor_class = make_anchors(self.cfg)
            cache = anchors, anchor_class, nearest_bev_rects(anchors)
            object.__setattr__(self, "_anchors", cache)
        anchors, anchor_class, anchor_rects = cache
        by_name = {a.class_name: a for a in self.cfg.anchors}
        matched = np.array([by_name[c].matched_iou for c in self.cfg.classes])
        unmatched = np.array([by_name[c].unmatched_iou for c in self.cfg.classes])
        gt_class = np.array(
            [self.cfg.classes.index(n) if n in self.cfg.classes else -1 for n in names],
            dtype=np.int64,
        )
        labels, gt_index = assign_targets(
            anchors, anchor_class, boxes_lidar, gt_class, matched, unmatched, anchor_rects
        )
        ignore = np.array([n == IGNORE_REGION for n in names], dtype=bool)
        if ignore.any():
            labels = ignore_regions(labels, anchor_rects, nearest_bev_rects(boxes_lidar[ignore]))
        return {"anchor_labels": labels, "anchor_gt_index": gt_index}


def ignore_regions(
    labels: np.ndarray, anchor_rects: np.ndarray, region_rects: np.ndarray, min_iou: float = 0.1
) -> np.ndarray:
    """``labels`` with the background anchors that overlap an ignore region (axis-aligned BEV
    IoU >= ``min_iou``, ``nearest_bev_rects`` rectangles) set to ignored: no loss either way.

    Example:
        >>> rects = np.array([[0.0, 0, 2, 2], [5, 5, 7, 7]])
        >>> ignore_regions(np.array([0, 0]), rects, np.array([[0.5, 0, 2.5, 2]])).tolist()
        [-1, 0]
    """
    out = labels.copy()
    iou = _iou_aligned(anchor_rects, region_rects)  # (A, R)
    hit = (iou >= min_iou).any(axis=1) & (out == BACKGROUND)
    out[hit] = IGNORE
    return out
