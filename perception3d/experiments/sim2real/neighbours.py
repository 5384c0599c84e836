"""How labelled objects stand relative to each other, from the label boxes alone (LiDAR frame,
bird's-eye view: box centres' x, y).

Neighbours: per object, how many other labelled objects of its class have their BEV centre
within a radius of its own (`NEIGHBOUR_RADIUS_M`). Real pedestrians come in crowds (KITTI
004139: two groups of about six on one sidewalk), which this counts.

Car pairs: per car with another car within `PAIR_WITHIN_M`, the direction from it to its
nearest car in its own frame (x along its heading): *side by side* when that direction lies at
45 degrees or more from the car's long axis (within 45 degrees of its lateral axis), else *nose
to tail*. Each car counts once, so a mutual nearest pair counts twice.

Example:
    >>> centres = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])  # three people 1 m apart
    >>> neighbour_counts(centres, 3.0).tolist()
    [2, 2, 2]
    >>> neighbour_counts(centres, 1.5).tolist()
    [1, 2, 1]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "NEIGHBOUR_EDGES",
    "NEIGHBOUR_RADIUS_M",
    "PAIR_KINDS",
    "PAIR_WITHIN_M",
    "frame_neighbours",
    "nearest_neighbours",
    "neighbour_counts",
    "pair_angle_deg",
    "side_by_side",
]

# People walking or waiting together stand 0.5-2 m apart; 3 m keeps a group strung along a
# sidewalk together without reaching across a road. A car's bay neighbour stands 2.4-3 m
# centre to centre, one parked nose to tail about 5-6 m (4-4.5 m of car and a gap): 4 m counts
# the first and not the second.
NEIGHBOUR_RADIUS_M = {"Car": 4.0, "Pedestrian": 3.0, "Cyclist": 3.0}
NEIGHBOUR_EDGES = np.array([0.0, 1, 2, 3, 4, 5, 6, 7, 8, np.inf])  # 0, 1, ..., 7, >= 8
PAIR_WITHIN_M = 6.0  # a car's nearest car this close is its neighbour in a row, lane or lot
PAIR_KINDS = ("nose to tail", "side by side")  # the bins of the 2-bin pair histogram


def _centres_bev(centres_bev_lidar: np.ndarray) -> np.ndarray:
    c = np.asarray(centres_bev_lidar, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] < 2:
        raise ValueError(f"centres must be (N, 2+) [x, y, ...], got shape {c.shape}")
    return c[:, :2]


def _pair_distances_m(centres_bev_lidar: np.ndarray) -> np.ndarray:
    """(N, N) BEV distances between the centres, the diagonal +inf (no object is its own
    neighbour)."""
    c = _centres_bev(centres_bev_lidar)
    dist = np.hypot(*(c[:, None, :] - c[None, :, :]).transpose(2, 0, 1))  # (2, N, N) -> (N, N)
    np.fill_diagonal(dist, np.inf)
    return dist


def neighbour_counts(centres_bev_lidar: np.ndarray, radius_m: float) -> np.ndarray:
    """Per object, how many of the other objects have their centre within ``radius_m``.

    Args:
        centres_bev_lidar: (N, 2+) box centres [x, y, ...], LiDAR frame, metres.
        radius_m: the radius (a centre exactly at it counts).

    Returns:
        (N,) int64 counts.
    """
    return np.count_nonzero(_pair_distances_m(centres_bev_lidar) <= radius_m, axis=1)


def nearest_neighbours(centres_bev_lidar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per object, the index of the nearest other object and its BEV distance.

    Returns:
        (N,) int64 indices (-1 for a lone object) and (N,) float64 distances in metres (+inf
        for a lone object).

    Example:
        >>> index, dist = nearest_neighbours(np.array([[0.0, 0], [0, 2.6], [0, 8]]))
        >>> index.tolist(), dist.tolist()
        ([1, 0, 1], [2.6, 2.6, 5.4])
    """
    dist = _pair_distances_m(centres_bev_lidar)
    if dist.shape[0] < 2:
        return np.full(len(dist), -1, dtype=np.int64), np.full(len(dist), np.inf)
    index = np.argmin(dist, axis=1)
    return index.astype(np.int64), dist[np.arange(len(dist)), index]


def pair_angle_deg(boxes_lidar: np.ndarray, neighbour_index: np.ndarray) -> np.ndarray:
    """Per box, the angle between its long axis and the direction to its neighbour.

    Args:
        boxes_lidar: (N, 7) boxes [x, y, z, dx, dy, dz, heading], LiDAR frame (dx along the
            heading, counter-clockwise from +x).
        neighbour_index: (N,) int, the neighbour of each box (-1: none).

    Returns:
        (N,) float64 degrees in [0, 90]: 0 the neighbour straight ahead or behind, 90 straight
        beside; NaN without a neighbour.
    """
    boxes = np.asarray(boxes_lidar, dtype=np.float64).reshape(-1, 7)
    index = np.asarray(neighbour_index, dtype=np.int64)
    if index.shape != (len(boxes),):
        raise ValueError(f"neighbour_index must be ({len(boxes)},), got {index.shape}")
    has = index >= 0
    delta = boxes[np.where(has, index, 0), :2] - boxes[:, :2]  # (N, 2) to the neighbour
    c, s = np.cos(boxes[:, 6]), np.sin(boxes[:, 6])
    along = delta[:, 0] * c + delta[:, 1] * s  # the box frame: x along the heading
    across = -delta[:, 0] * s + delta[:, 1] * c
    angle = np.degrees(np.arctan2(np.abs(across), np.abs(along)))
    return np.where(has, angle, np.nan)


def side_by_side(boxes_lidar: np.ndarray, within_m: float = PAIR_WITHIN_M) -> np.ndarray:
    """Per box, how it stands to its nearest box: 1.0 side by side (the direction 45 degrees
    or more from its long axis), 0.0 nose to tail, NaN when no other box is within
    ``within_m`` (BEV centre distance).

    Example:
        >>> bay = np.array([[10.0, 0, -1, 4.2, 1.8, 1.5, 0], [10.0, 2.6, -1, 4.2, 1.8, 1.5, 0]])
        >>> side_by_side(bay).tolist()
        [1.0, 1.0]
    """
    boxes = np.asarray(boxes_lidar, dtype=np.float64).reshape(-1, 7)
    index, dist = nearest_neighbours(boxes[:, :2])
    index = np.where(dist <= within_m, index, -1)
    angle = pair_angle_deg(boxes, index)
    return np.where(np.isnan(angle), np.nan, (angle >= 45.0).astype(np.float64))


def frame_neighbours(
    boxes_lidar: np.ndarray, names: np.ndarray, classes: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """One frame's boxes: per box of a class in ``classes``, its neighbours of the same class
    within the class's `NEIGHBOUR_RADIUS_M` and, for cars, `side_by_side` among the cars.

    Args:
        boxes_lidar: (M, 7) label boxes, LiDAR frame; names: (M,) their classes.
        classes: the classes counted (each needs a `NEIGHBOUR_RADIUS_M` entry).

    Returns:
        (M,) int64 neighbour counts (-1 for a box of another class) and (M,) float64 side by
        side (1.0 / 0.0; NaN for a car without a car within `PAIR_WITHIN_M` and for every
        other class).
    """
    boxes = np.asarray(boxes_lidar, dtype=np.float64).reshape(-1, 7)
    names = np.asarray(names).astype(str)
    if names.shape != (len(boxes),):
        raise ValueError(f"names must be ({len(boxes)},), got {names.shape}")
    counts = np.full(len(boxes), -1, dtype=np.int64)
    pairs = np.full(len(boxes), np.nan)
    for cls in classes:
        if cls not in NEIGHBOUR_RADIUS_M:
            raise ValueError(f"no neighbour radius for class {cls!r}: {sorted(NEIGHBOUR_RADIUS_M)}")
        mine = names == cls
        counts[mine] = neighbour_counts(boxes[mine, :2], NEIGHBOUR_RADIUS_M[cls])
        if cls == "Car":
            pairs[mine] = side_by_side(boxes[mine])
    return counts, pairs
