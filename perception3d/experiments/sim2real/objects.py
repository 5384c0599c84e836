"""What a detector sees of each labelled object and of the background: point counts against
distance, reflectivity (intensity) per class, and where in its box an object's points lie.

Points per object: the returns inside the object's 3D label box (camera field of view only),
against the horizontal distance of the box centre. Since the count of a fixed-size object falls
about as 1 / distance^2, the histogram compared between the sets is that of
log2(count * (distance / 10 m)^2): the count the object would have at 10 m.

Height in the box: each point's height above the box bottom as a fraction of the box height
(0 bottom, 1 top). Real KITTI cars beyond 20 m hold most returns low (windows and dark roofs
return little; docs/sim2real.md, row 16), which a detector reads as a lower box.

Example:
    >>> pts = np.array([[10.0, 0, -1, 0.2], [10.2, 0.1, -1.2, 0.4], [30, 5, -1, 0.9]])
    >>> box = np.array([[10.0, 0, -1, 4, 2, 1.5, 0]])
    >>> rows = object_points(pts, box, np.array(["Car"], dtype=object))
    >>> rows[0]["points"], rows[0]["distance_m"], round(rows[0]["intensity_mean"], 2)
    (2, 10.0, 0.3)
"""

from __future__ import annotations

import numpy as np

from perception3d.geometry.boxes import points_in_boxes

__all__ = [
    "DENSITY_EDGES",
    "HEIGHT_EDGES",
    "INTENSITY_EDGES",
    "ZERO_READING_MAX",
    "coarse_intensity",
    "normalized_count",
    "object_points",
]

# KITTI's readings are 0.01 steps, and its 0 is a flag (a return not read or read under the
# lowest level, about 0.03): [0, 0.005) holds exactly the zeros, [0.005, 0.05) the low
# readings, then 0.05-wide bins (12-13 of KITTI's 8-bit readings each)
ZERO_READING_MAX = 0.005
INTENSITY_EDGES = np.concatenate([[0.0, ZERO_READING_MAX], np.linspace(0.05, 1.0, 20)])
DENSITY_EDGES = np.arange(0.0, 15.01, 0.5)  # log2 of the count at 10 m
HEIGHT_EDGES = np.linspace(0.0, 1.0, 11)  # fraction of the box height, tenths


def coarse_intensity(hist: np.ndarray) -> np.ndarray:
    """Intensity histograms on `INTENSITY_EDGES` (last axis, 21 bins) -> the 20 bins 0.05 wide
    of earlier reports (the zero bin merged into [0, 0.05)).

    Example:
        >>> coarse_intensity(np.arange(21.0))[:3].tolist()
        [1.0, 2.0, 3.0]
    """
    h = np.asarray(hist, dtype=np.float64)
    if h.shape[-1] != len(INTENSITY_EDGES) - 1:
        raise ValueError(f"expected {len(INTENSITY_EDGES) - 1} intensity bins, got {h.shape}")
    return np.concatenate([h[..., :2].sum(axis=-1, keepdims=True), h[..., 2:]], axis=-1)


def object_points(points: np.ndarray, boxes_lidar: np.ndarray, names: np.ndarray) -> list[dict]:
    """Per labelled box: class, distance, points inside, their mean intensity and the points'
    intensities.

    Args:
        points: (N, 4) LiDAR points [x, y, z, intensity] (already restricted to the FOV).
        boxes_lidar: (M, 7) label boxes, LiDAR frame; names: (M,) their classes.

    Returns:
        One dict per box: ``class``, ``distance_m`` (horizontal, box centre), ``points``,
        ``intensity_mean`` (NaN without points), ``intensity`` ((k,) float32 array),
        ``height_in_box`` ((k,) float32: height above the box bottom / box height, in [0, 1]).
    """
    boxes = np.asarray(boxes_lidar, dtype=np.float64).reshape(-1, 7)
    index = points_in_boxes(points[:, :3], boxes) if len(boxes) else np.full(len(points), -1)
    order = np.argsort(index, kind="stable")
    starts = np.searchsorted(index[order], np.arange(len(boxes) + 1))
    out = []
    for j in range(len(boxes)):
        inside = order[starts[j] : starts[j + 1]]
        inten = points[inside, 3].astype(np.float32)
        bottom = boxes[j, 2] - boxes[j, 5] / 2
        height = np.clip((points[inside, 2] - bottom) / boxes[j, 5], 0.0, 1.0).astype(np.float32)
        out.append(
            {
                "class": str(names[j]),
                "distance_m": float(np.hypot(boxes[j, 0], boxes[j, 1])),
                "points": len(inside),
                "intensity_mean": float(inten.mean()) if len(inten) else float("nan"),
                "intensity": inten,
                "height_in_box": height,
            }
        )
    return out


def normalized_count(points: np.ndarray, distance_m: np.ndarray) -> np.ndarray:
    """log2 of the point count scaled to 10 m: log2(max(count, 1) * (distance / 10)^2).

    Example:
        >>> normalized_count(np.array([100, 25]), np.array([10.0, 20.0])).tolist()
        [6.643856189774724, 6.643856189774724]
    """
    n = np.maximum(np.asarray(points, dtype=np.float64), 1.0)
    d = np.asarray(distance_m, dtype=np.float64)
    return np.log2(n * (d / 10.0) ** 2)
