"""What a false-positive box hit: a rule-based reading of the labels and of the points inside it.

Rules, first match wins (heights are above the frame's fitted ground plane, `ground.py`):

1. **car (misplaced box)**: the box overlaps a labelled Car (BEV IoU > 0.1): a real car found
   with too little overlap, or a duplicate.
2. **other vehicle class** / **pedestrian or cyclist**: it overlaps (BEV IoU > 0.1, or more than
   20 % of the box's area) a labelled Van, Truck, Tram, Misc or a labelled person.
3. **DontCare region**: its image_2 box lies at least half inside a DontCare box (an object the
   annotators left unlabelled).
4. **nearly empty**: fewer than 10 returns in the box widened by 0.25 m.
5. **ground**: fewer than 10 returns, or under 20 %, stand more than 0.25 m above the ground,
   or 90 % of them are lower than 0.6 m (road, curb, sidewalk, a grass bank).
6. **pole or trunk**: the standing returns are thin in bird's-eye view (standard deviation
   along their main horizontal axis under 0.25 m) and reach above 1.5 m.
7. **vegetation**: the standing returns are rough: the median curvature (smallest eigenvalue
   over the trace of the covariance) of the 0.5 m voxels holding at least 4 of them is above
   0.05 (a hedge or a canopy scatters returns in depth; walls, car bodies and poles are locally
   smooth, under about 0.03); with no such voxel (sparse far returns), the curvature of them
   all above 0.06.
8. **wall** / **fence**: the standing returns lie on a vertical plane (curvature of them all
   under 0.03, normal within 24 degrees of horizontal); a fence when under half of the
   plane's 0.2 m grid over their extent holds a return (slats, mesh, gaps), else a wall.
9. **other structure**: none of the above (unlabelled vehicles, building corners, bicycles...).

Example:
    >>> rng = np.random.default_rng(0)
    >>> wall = np.column_stack([np.full(600, 10.0), rng.uniform(-1.5, 1.5, 600),
    ...                         rng.uniform(-1.5, 0.5, 600), np.zeros(600)])
    >>> box = np.array([10.0, 0.0, -0.9, 3.9, 1.6, 1.6, np.pi / 2])
    >>> classify_box(box, wall, np.array([0.0, 0.0, -1.73]), np.zeros((0, 7)), [])
    'wall'
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from perception3d.geometry.boxes import points_in_boxes
from perception3d.geometry.iou import bev_iou_lidar

__all__ = ["FP_KINDS", "classify_box", "roughness"]

FP_KINDS = (
    "car (misplaced box)",
    "other vehicle class",
    "pedestrian or cyclist",
    "DontCare region",
    "nearly empty",
    "ground",
    "pole or trunk",
    "vegetation",
    "wall",
    "fence",
    "other structure",
)
_VEHICLES = ("van", "truck", "tram", "misc")
_PEOPLE = ("pedestrian", "person_sitting", "cyclist")


def roughness(xyz: np.ndarray, voxel_m: float = 0.5, min_points: int = 4) -> float:
    """Median curvature (smallest covariance eigenvalue / trace) over the ``voxel_m`` voxels
    with at least ``min_points`` of the (N, 3) points; NaN when no voxel qualifies."""
    if len(xyz) < min_points:
        return float("nan")
    _, group, counts = np.unique(
        np.floor(xyz / voxel_m).astype(np.int64), axis=0, return_inverse=True, return_counts=True
    )
    group = group.ravel()
    curv = []
    for g in np.flatnonzero(counts >= min_points):
        ev = np.linalg.eigvalsh(np.cov(xyz[group == g].T))
        curv.append(ev[0] / max(ev.sum(), 1e-12))
    return float(np.median(curv)) if curv else float("nan")


def _overlaps(box: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BEV IoU with each of ``boxes`` and the intersection over ``box``'s area."""
    if len(boxes) == 0:
        return np.zeros(0), np.zeros(0)
    return bev_iou_lidar(box[None], boxes)[0], bev_iou_lidar(box[None], boxes, "a")[0]


def _label_kind(box: np.ndarray, label_boxes: np.ndarray, label_names: Sequence[str]) -> str:
    names = np.array([str(n).lower() for n in label_names])
    iou, over = _overlaps(box, label_boxes)
    if len(iou) and np.any((iou > 0.1) & (names == "car")):
        return "car (misplaced box)"
    hit = (iou > 0.1) | (over > 0.2)
    if np.any(hit & np.isin(names, _VEHICLES)):
        return "other vehicle class"
    if np.any(hit & np.isin(names, _PEOPLE)):
        return "pedestrian or cyclist"
    return ""


def _structure_kind(xyz: np.ndarray) -> str:
    """Kinds 6-9 from the standing returns (M, 3)."""
    xy = xyz[:, :2] - xyz[:, :2].mean(axis=0)
    s_major = float(np.sqrt(max(np.linalg.eigvalsh(np.cov(xy.T))[-1], 0.0)))
    if s_major < 0.25 and xyz[:, 2].max() - xyz[:, 2].min() > 1.2:
        return "pole or trunk"
    rough = roughness(xyz)
    ev, vec = np.linalg.eigh(np.cov(xyz.T))
    curvature = ev[0] / max(ev.sum(), 1e-12)
    if (rough > 0.05) if np.isfinite(rough) else (curvature > 0.06):
        return "vegetation"
    if ev[0] < 0.03 * ev.sum() and abs(vec[2, 0]) < 0.4:
        along = xyz[:, :2] @ vec[:2, 2] / max(np.linalg.norm(vec[:2, 2]), 1e-9)
        u = np.floor((along - along.min()) / 0.2).astype(np.int64)
        v = np.floor((xyz[:, 2] - xyz[:, 2].min()) / 0.2).astype(np.int64)
        fill = len(np.unique(u * 100000 + v)) / max((u.max() + 1) * (v.max() + 1), 1)
        return "fence" if fill < 0.5 else "wall"
    return "other structure"


def classify_box(
    box_lidar: np.ndarray,
    points: np.ndarray,
    ground_coeffs: np.ndarray,
    label_boxes: np.ndarray,
    label_names: Sequence[str],
    in_dontcare: bool = False,
) -> str:
    """The :data:`FP_KINDS` entry of one false-positive box (rules in the module docstring).

    Args:
        box_lidar: (7,) the false positive, LiDAR frame.
        points: (N, 4) the frame's points (camera field of view).
        ground_coeffs: (3,) ground plane z = a x + b y + c (`ground.GroundFit.coeffs`).
        label_boxes: (M, 7) LiDAR boxes of the frame's labels; label_names: (M,) classes.
        in_dontcare: its image_2 box lies at least half inside a DontCare box.
    """
    box = np.asarray(box_lidar, dtype=np.float64)
    kind = _label_kind(box, np.asarray(label_boxes, np.float64).reshape(-1, 7), label_names)
    if kind:
        return kind
    if in_dontcare:
        return "DontCare region"
    wide = box.copy()
    wide[3:5] += 0.5
    wide[5] += 0.5
    inside = points[points_in_boxes(points[:, :3], wide[None]) == 0, :3].astype(np.float64)
    if len(inside) < 10:
        return "nearly empty"
    a, b, c = ground_coeffs
    height = (inside[:, 2] - a * inside[:, 0] - b * inside[:, 1] - c) / np.sqrt(1 + a * a + b * b)
    standing = inside[height > 0.25]
    if len(standing) < 10 or len(standing) < 0.2 * len(inside) or np.quantile(height, 0.9) < 0.6:
        return "ground"
    return _structure_kind(standing)
