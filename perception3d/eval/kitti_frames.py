"""From per-frame ``KittiObject`` lists to the flat arrays and overlaps the matching runs on.

Overlaps use ``perception3d.geometry.iou`` (exact: identical boxes give exactly 1.0):
``iou_2d`` for the 2D metric and ``criterion="a"`` for detections inside DontCare regions,
``bev_iou_cam`` (rotated x-z rectangles (x, z, l, w, ry)) and ``iou3d_cam`` (times the overlap
of [y - h, y], y pointing down) for bev and 3d, all in the rectified camera frame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from perception3d.data.kitti import KittiObject, labels_to_arrays
from perception3d.eval.kitti_ap import FlatFrames
from perception3d.eval.kitti_protocol import METRICS, NEIGHBOUR_CLASS
from perception3d.geometry.iou import bev_iou_cam, iou3d_cam, iou_2d


@dataclass(frozen=True)
class Objects:
    """Objects of all frames, concatenated; frame ``f`` owns rows ``start[f]:start[f + 1]``.

    Attributes:
        types: (N,) str; bbox: (N, 4) ``[x1, y1, x2, y2]`` px; boxes_cam: (N, 7)
        ``[x, y, z, l, h, w, ry]``; occluded, truncated, alpha, score: (N,) (score NaN for
        ground truth); start: (F + 1,) int64.
    """

    types: list[str]
    bbox: np.ndarray
    boxes_cam: np.ndarray
    occluded: np.ndarray
    truncated: np.ndarray
    alpha: np.ndarray
    score: np.ndarray
    start: np.ndarray

    @classmethod
    def concat(cls, frames: Sequence[Sequence[KittiObject]]) -> Objects:
        """Concatenate per-frame object lists (one ``labels_to_arrays`` call for all)."""
        flat = [obj for objects in frames for obj in objects]
        arrays = labels_to_arrays(flat)
        start = np.zeros(len(frames) + 1, dtype=np.int64)
        np.cumsum([len(objects) for objects in frames], out=start[1:])
        return cls(
            types=list(arrays["type"]),
            bbox=arrays["bbox"],
            boxes_cam=arrays["boxes_cam"],
            occluded=arrays["occluded"],
            truncated=arrays["truncated"],
            alpha=arrays["alpha"],
            score=arrays["score"],
            start=start,
        )


def keeps_for_classes(objects: Sequence[KittiObject], classes: Sequence[str]) -> list[bool]:
    """Whether each ground truth object can matter to one of ``classes``: the class itself or
    its neighbour (Van, Person_sitting); DontCare and other classes never match anything."""
    wanted = {c.lower() for c in classes}
    wanted |= {NEIGHBOUR_CLASS[c] for c in wanted if c in NEIGHBOUR_CLASS}
    return [obj.type.lower() in wanted and not obj.is_dontcare for obj in objects]


def _rotated_overlap(fn: Callable, boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """``fn`` on all pairs; rows/columns of boxes with a negative size (KITTI writes -1 for
    unknown dimensions) overlap nothing."""
    out = np.zeros((len(boxes_a), len(boxes_b)))
    ok_a, ok_b = (boxes_a[:, 3:6] >= 0).all(axis=1), (boxes_b[:, 3:6] >= 0).all(axis=1)
    if ok_a.any() and ok_b.any():
        out[np.ix_(ok_a, ok_b)] = fn(boxes_a[ok_a], boxes_b[ok_b])
    return out


def frame_overlap(
    metric: str,
    dt_bbox: np.ndarray,
    dt_boxes: np.ndarray,
    gt_bbox: np.ndarray,
    gt_boxes: np.ndarray,
) -> np.ndarray:
    """(D, G) overlap of detections with ground truth in one frame for ``metric``."""
    if len(dt_bbox) == 0 or len(gt_bbox) == 0:
        return np.zeros((len(dt_bbox), len(gt_bbox)))
    if metric == "bbox":
        return iou_2d(dt_bbox, gt_bbox)
    elif metric == "bev":
        return _rotated_overlap(bev_iou_cam, dt_boxes, gt_boxes)
    elif metric == "3d":
        return _rotated_overlap(iou3d_cam, dt_boxes, gt_boxes)
    else:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")


def dontcare_overlap(dt_bbox: np.ndarray, dc_bbox: np.ndarray) -> np.ndarray:
    """(D, C) fraction of each detection's 2D box area inside each DontCare box."""
    if len(dt_bbox) == 0 or len(dc_bbox) == 0:
        return np.zeros((len(dt_bbox), len(dc_bbox)))
    return iou_2d(dt_bbox, dc_bbox, criterion="a")


def flatten(gt: Objects, dt: Objects, dc_bbox: np.ndarray, dc_start: np.ndarray) -> dict:
    """``FlatFrames`` of each metric ("bbox", "bev", "3d") for the matching kernels.

    Args:
        gt, dt: ground truth (DontCare removed) and detections of the same F frames.
        dc_bbox: (C, 4) DontCare boxes of all frames; dc_start: (F + 1,) their row offsets.
    """
    num_frames = len(gt.start) - 1
    blocks: dict[str, list[np.ndarray]] = {m: [] for m in METRICS}
    dc_blocks = []
    for f in range(num_frames):
        g0, g1, d0, d1 = gt.start[f], gt.start[f + 1], dt.start[f], dt.start[f + 1]
        for metric in METRICS:
            overlap = frame_overlap(
                metric, dt.bbox[d0:d1], dt.boxes_cam[d0:d1], gt.bbox[g0:g1], gt.boxes_cam[g0:g1]
            )
            blocks[metric].append(overlap.ravel())
        dc_blocks.append(dontcare_overlap(dt.bbox[d0:d1], dc_bbox[dc_start[f] : dc_start[f + 1]]))
    sizes = np.diff(gt.start) * np.diff(dt.start)
    ov_start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    dc_sizes = np.array([b.size for b in dc_blocks], dtype=np.int64)
    dcov_start = np.concatenate([[0], np.cumsum(dc_sizes)[:-1]]).astype(np.int64)
    dc_overlap = np.concatenate([b.ravel() for b in dc_blocks] + [np.zeros(0)])
    return {
        metric: FlatFrames(
            overlap=np.concatenate([*blocks[metric], np.zeros(0)]),
            ov_start=ov_start,
            gt_start=gt.start,
            dt_start=dt.start,
            dc_start=dc_start,
            dc_overlap=dc_overlap,
            dcov_start=dcov_start,
            dt_score=dt.score,
            gt_alpha=gt.alpha,
            dt_alpha=dt.alpha,
        )
        for metric in METRICS
    }
