"""What a detector sees of each labelled object and of the background: point counts against
distance, reflectivity (intensity) per class, and where in its box an object's points lie.

Points per object: the returns inside the object's 3D label box (camera field of view only),
against the horizontal distance of the box centre. Since the count of a fixed-size object falls
about as 1 / distance^2, the histogram compared between the sets is that of
log2(count * (distance / 10 m)^2): the count the object would have at 10 m.

Height in the box: each point's height above the box bottom as a fraction of the box height
(0 bottom, 1 top). Real KITTI cars beyond 20 m hold most returns low (windows and dark roofs
return little; docs/sim2real.md, row 16), which a detector reads as a lower box.

Clearance: the horizontal distance from the box's outline to the k-th nearest (k = 5, so a
few stray returns do not decide it) standing return beyond 0.2 m of the outline; standing means
0.2-2.5 m above the box bottom (LiDAR z). The 0.2 m are the object's own: label boxes hug the
surface, and range noise and bumpers put a synthetic car's returns up to 0.2 m outside it (seed
4242, 114 cars of 40 frames: of the 12,047 standing returns within 1 m outside their boxes,
10,124 lie within 0.05 m, 53 at 0.15-0.2 m, 4 at 0.2-0.25 m), which would make nearly every
clearance 0.
Returns of other labelled objects count: a neighbouring car is clutter to a detector as much as
a wall or a hedge. Capped at 4 m (fewer than k returns within 4 m: 4 m, the last bin).

Clutter: how many of those standing returns lie within 2 m of the outline (beyond the 0.2 m),
scaled to 30 m as count x (distance / 30 m)^2. The clearance says how close the nearest
clutter stands, the count how much of it a detector's receptive field holds.

Overhead: how many returns lie over the box's footprint 0.3-6 m above its top: tree crowns,
awnings, signs over the object. A pillar detector pools every return of a ground cell into one
feature, so these returns are pooled with the object's own. In a first count, 3 of the 11 real
cars within 40 m of the six real labelled frames had a crown over them, against 2 of 335
synthetic cars. A raw count (not scaled with distance); 0 its own bin.

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
    "CLEARANCE_CAP_M",
    "CLEARANCE_EDGES",
    "CLEARANCE_K",
    "CLEARANCE_OWN_M",
    "CLUTTER_EDGES",
    "CLUTTER_WITHIN_M",
    "DENSITY_EDGES",
    "HEIGHT_EDGES",
    "INTENSITY_EDGES",
    "OVERHEAD_BAND_M",
    "OVERHEAD_EDGES",
    "ZERO_READING_MAX",
    "coarse_intensity",
    "normalized_count",
    "object_clearance",
    "object_clutter",
    "object_overhead",
    "object_points",
    "object_surroundings",
]

# KITTI's readings are 0.01 steps, and its 0 is a flag (a return not read or read under the
# lowest level, about 0.03): [0, 0.005) holds exactly the zeros, [0.005, 0.05) the low
# readings, then 0.05-wide bins (12-13 of KITTI's 8-bit readings each)
ZERO_READING_MAX = 0.005
INTENSITY_EDGES = np.concatenate([[0.0, ZERO_READING_MAX], np.linspace(0.05, 1.0, 20)])
DENSITY_EDGES = np.arange(0.0, 15.01, 0.5)  # log2 of the count at 10 m
HEIGHT_EDGES = np.linspace(0.0, 1.0, 11)  # fraction of the box height, tenths
CLEARANCE_CAP_M = 4.0
CLEARANCE_OWN_M = 0.2  # returns this close to the outline are the object's own
CLEARANCE_EDGES = np.array(
    [CLEARANCE_OWN_M, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, CLEARANCE_CAP_M, np.inf]
)
CLEARANCE_K = 5
CLUTTER_WITHIN_M = 2.0
# clutter: the count scaled to 30 m, count x (distance / 30 m)^2; 0 its own bin
CLUTTER_EDGES = np.array([0.0, 1.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, np.inf])
STANDING_BAND_M = (0.2, 2.5)  # above the box bottom: what stands beside the object
OVERHEAD_BAND_M = (0.3, 6.0)  # above the box top: what hangs over the object
# overhead: returns over the footprint; bins 0, 1-2, 3-9, 10-29, 30 and more
OVERHEAD_EDGES = np.array([0.0, 1.0, 3.0, 10.0, 30.0, np.inf])


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


def object_surroundings(
    points: np.ndarray,
    boxes_lidar: np.ndarray,
    k: int = CLEARANCE_K,
    cap_m: float = CLEARANCE_CAP_M,
    within_m: float = CLUTTER_WITHIN_M,
    own_m: float = CLEARANCE_OWN_M,
) -> tuple[np.ndarray, np.ndarray]:
    """Per box, its clearance and its clutter from one pass over the standing returns (0.2-2.5 m
    above the box bottom) farther than ``own_m`` from its outline.

    The distance of a return at (lx, ly) in the box frame (x along the heading) is
    hypot(max(|lx| - dx / 2, 0), max(|ly| - dy / 2, 0)): 0 inside or over the box's footprint,
    growing from its sides and corners. Returns within ``own_m`` are the object's own (its box
    hugs the surface; noise and bumpers fall just outside) and are skipped.

    Args:
        points: (N, 3+) LiDAR points [x, y, z, ...] (the field-of-view points of the sweep).
        boxes_lidar: (M, 7) label boxes, LiDAR frame.

    Returns:
        (M,) float64 clearances: the distance to the k-th nearest of those returns, in
        (own_m, cap_m], ``cap_m`` when fewer than k lie closer; and (M,) int64 clutter: how many
        of them lie at most ``within_m`` from the outline.
    """
    pts = np.asarray(points, dtype=np.float64)[:, :3]
    boxes = np.asarray(boxes_lidar, dtype=np.float64).reshape(-1, 7)
    clearance = np.full(len(boxes), float(cap_m))
    clutter = np.zeros(len(boxes), dtype=np.int64)
    for j, box in enumerate(boxes):
        dist = _standing_distances(pts, box, max(cap_m, within_m), own_m)
        if len(dist) >= k:
            clearance[j] = min(float(np.partition(dist, k - 1)[k - 1]), cap_m)
        clutter[j] = np.count_nonzero(dist <= within_m)
    return clearance, clutter


def object_clearance(
    points: np.ndarray,
    boxes_lidar: np.ndarray,
    k: int = CLEARANCE_K,
    cap_m: float = CLEARANCE_CAP_M,
    own_m: float = CLEARANCE_OWN_M,
) -> np.ndarray:
    """Per box, the horizontal distance (m) from its outline to the k-th nearest standing return
    farther than ``own_m``, capped at ``cap_m`` (`object_surroundings`).

    Example:
        >>> wall = np.column_stack([np.full(9, 10.0), np.linspace(-2, 2, 9), np.full(9, -1.0)])
        >>> object_clearance(wall, np.array([[7.0, 0, -1, 4, 2, 1.5, 0]])).tolist()
        [1.0]
    """
    return object_surroundings(points, boxes_lidar, k=k, cap_m=cap_m, own_m=own_m)[0]


def object_clutter(
    points: np.ndarray,
    boxes_lidar: np.ndarray,
    within_m: float = CLUTTER_WITHIN_M,
    own_m: float = CLEARANCE_OWN_M,
) -> np.ndarray:
    """Per box, how many standing returns lie farther than ``own_m`` and at most ``within_m``
    from its outline (`object_surroundings`).

    Example:
        >>> wall = np.column_stack([np.full(9, 10.0), np.linspace(-2, 2, 9), np.full(9, -1.0)])
        >>> object_clutter(wall, np.array([[7.0, 0, -1, 4, 2, 1.5, 0]])).tolist()
        [9]
    """
    return object_surroundings(points, boxes_lidar, within_m=within_m, own_m=own_m)[1]


def object_overhead(
    points: np.ndarray, boxes_lidar: np.ndarray, band_m: tuple[float, float] = OVERHEAD_BAND_M
) -> np.ndarray:
    """Per box, how many returns lie over its footprint (the rotated dx x dy rectangle, LiDAR
    frame) between ``band_m[0]`` and ``band_m[1]`` metres (inclusive) above its top, z = cz +
    dz / 2.

    Args:
        points: (N, 3+) LiDAR points [x, y, z, ...], metres (the field-of-view points).
        boxes_lidar: (M, 7) label boxes [x, y, z, dx, dy, dz, heading], LiDAR frame.
        band_m: (low, high) heights above the box top, metres.

    Returns:
        (M,) int64 counts.

    Raises:
        ValueError: points not (N, 3+), boxes not (M, 7), or the band not 0 <= low < high.

    Example:
        >>> pts = np.array([[10.0, 0, 1.0], [10, 0, -0.1], [13, 0, 1.0], [11, 0.5, 5.0]])
        >>> object_overhead(pts, np.array([[10.0, 0, -1, 4, 2, 1.5, 0]])).tolist()
        [2]
    """
    pts = np.asarray(points, dtype=np.float64)
    boxes = np.asarray(boxes_lidar, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points must be (N, 3+), got {pts.shape}")
    if boxes.ndim != 2 or boxes.shape[1] != 7:
        raise ValueError(f"boxes_lidar must be (M, 7), got {boxes.shape}")
    low, high = band_m
    if not 0.0 <= low < high:
        raise ValueError(f"band_m must be (low, high) with 0 <= low < high, got {band_m}")
    counts = np.zeros(len(boxes), dtype=np.int64)
    for j, (cx, cy, cz, dx, dy, dz, heading) in enumerate(boxes):
        above = pts[:, 2] - (cz + dz / 2)
        p = pts[(above >= low) & (above <= high), :2] - (cx, cy)  # (K, 2) offsets from the centre
        c, s = np.cos(heading), np.sin(heading)
        along, across = p[:, 0] * c + p[:, 1] * s, -p[:, 0] * s + p[:, 1] * c  # box frame
        counts[j] = np.count_nonzero((np.abs(along) <= dx / 2) & (np.abs(across) <= dy / 2))
    return counts


def _standing_distances(pts: np.ndarray, box: np.ndarray, reach_m: float, own_m: float):
    """Horizontal distances from ``box``'s outline of the standing returns farther than
    ``own_m`` (only those of the square reaching ``reach_m`` beyond the box are looked at)."""
    cx, cy, cz, dx, dy, dz, heading = box
    reach = 0.5 * np.hypot(dx, dy) + reach_m  # the square around the box
    p = pts[(np.abs(pts[:, 0] - cx) <= reach) & (np.abs(pts[:, 1] - cy) <= reach)]
    above = p[:, 2] - (cz - dz / 2)
    p = p[(above >= STANDING_BAND_M[0]) & (above <= STANDING_BAND_M[1])]
    c, s = np.cos(heading), np.sin(heading)
    ox = np.abs((p[:, 0] - cx) * c + (p[:, 1] - cy) * s) - dx / 2
    oy = np.abs(-(p[:, 0] - cx) * s + (p[:, 1] - cy) * c) - dy / 2
    dist = np.hypot(np.maximum(ox, 0.0), np.maximum(oy, 0.0))
    return dist[dist > own_m]
