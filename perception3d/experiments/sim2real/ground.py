"""The ground under a sweep: a plane fitted to the lowest return of each cell, and what stands
on it.

Method (pure numpy, deterministic): the points at 3-40 m horizontal distance are binned into
2 m x 2 m cells; the lowest return of each cell is a ground candidate. A plane
z = a x + b y + c is fitted by least squares to the candidates within 0.5 m, then 0.3 m, then
0.15 m of the previous plane (starting from the horizontal plane at the median candidate
height), so cells whose lowest return is a car roof or a wall drop out. Points within
``inlier_m`` of the plane are ground.

Reported: the sensor's height above the plane (at the origin, along the normal), the plane's
slope (degrees from horizontal), pitch and roll (slope along x and y), the ground height of each
inlier cell relative to the sensor (the unevenness a single plane misses), the height above
the plane of every non-ground point, and the vertical curve of the road ahead
(:func:`curve_ahead`): how the ground 15-45 m ahead leaves the plane of the near ground (3-15 m),
as z = k x^2 (a road whose grade changes; a crest k < 0, a sag k > 0).

Example:
    >>> rng = np.random.default_rng(0)
    >>> xy = rng.uniform([3, -20], [40, 20], size=(4000, 2))
    >>> z = -1.7 + 0.02 * xy[:, 0]  # rising 1.15 degrees ahead
    >>> fit = fit_ground(np.column_stack([xy, z, np.zeros(4000)]))
    >>> round(fit.height_m, 3), round(fit.pitch_deg, 2), round(fit.roll_deg, 2)
    (1.7, 1.15, 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GroundFit", "curve_ahead", "fit_ground", "height_above"]

_THRESHOLDS_M = (0.5, 0.3, 0.15)


@dataclass(frozen=True)
class GroundFit:
    """A ground plane z = a x + b y + c (LiDAR frame, metres).

    Attributes:
        coeffs: (3,) float64 [a, b, c].
        cell_heights_m: (K,) z of the ground (the plane's inlier cells' lowest return) per cell.
        num_cells: cells the final fit used.
    """

    coeffs: np.ndarray
    cell_heights_m: np.ndarray
    num_cells: int

    @property
    def height_m(self) -> float:
        """Sensor height above the plane, along its normal."""
        a, b, c = self.coeffs
        return float(-c / np.sqrt(1.0 + a * a + b * b))

    @property
    def slope_deg(self) -> float:
        a, b, _ = self.coeffs
        return float(np.degrees(np.arctan(np.hypot(a, b))))

    @property
    def pitch_deg(self) -> float:
        """Rise of the ground along +x (ahead), degrees."""
        return float(np.degrees(np.arctan(self.coeffs[0])))

    @property
    def roll_deg(self) -> float:
        """Rise of the ground along +y (left), degrees."""
        return float(np.degrees(np.arctan(self.coeffs[1])))


def _cell_minima(xyz: np.ndarray, cell_m: float) -> np.ndarray:
    """(K, 3) the lowest point of each occupied cell, in cell order."""
    ij = np.floor(xyz[:, :2] / cell_m).astype(np.int64)
    key = (ij[:, 0] + (1 << 20)) * (1 << 21) + (ij[:, 1] + (1 << 20))
    order = np.lexsort((xyz[:, 2], key))  # by cell, then height
    first = np.ones(len(order), bool)
    first[1:] = key[order[1:]] != key[order[:-1]]
    return xyz[order[first]]


def fit_ground(
    points: np.ndarray,
    cell_m: float = 2.0,
    range_m: tuple[float, float] = (3.0, 40.0),
    sensor_height_m: float | None = None,
) -> GroundFit:
    """Fit the ground plane of a sweep (see the module docstring).

    Args:
        points: (N, 3+) LiDAR-frame points, metres.
        cell_m: cell size of the lowest-return candidates.
        range_m: horizontal distances of the points used.
        sensor_height_m: starting plane z = -this; default the median candidate height.

    Returns:
        The fit. With fewer than 3 candidate cells left, the horizontal plane at the median
        candidate height (or at -1.73 m without any) and ``num_cells`` = 0.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points must be (N, 3+), got {pts.shape}")
    d = np.hypot(pts[:, 0], pts[:, 1])
    sel = pts[(d >= range_m[0]) & (d <= range_m[1]), :3]
    cells = _cell_minima(sel, cell_m) if len(sel) else np.zeros((0, 3))
    if len(cells) == 0:
        return GroundFit(np.array([0.0, 0.0, -1.73]), np.zeros(0), 0)
    start = -sensor_height_m if sensor_height_m is not None else float(np.median(cells[:, 2]))
    coeffs = np.array([0.0, 0.0, start])
    used = np.zeros(len(cells), bool)
    for thr in _THRESHOLDS_M:
        resid = cells[:, 2] - (cells[:, 0] * coeffs[0] + cells[:, 1] * coeffs[1] + coeffs[2])
        inl = np.abs(resid) < thr
        if inl.sum() < 3:
            break
        a = np.column_stack([cells[inl, 0], cells[inl, 1], np.ones(inl.sum())])
        coeffs = np.linalg.lstsq(a, cells[inl, 2], rcond=None)[0]
        used = inl
    return GroundFit(coeffs, cells[used, 2].copy(), int(used.sum()))


def height_above(points: np.ndarray, fit: GroundFit) -> np.ndarray:
    """(N,) float64 height of each point above the plane, along its normal, metres."""
    a, b, c = fit.coeffs
    pts = np.asarray(points, dtype=np.float64)
    return (pts[:, 2] - a * pts[:, 0] - b * pts[:, 1] - c) / np.sqrt(1.0 + a * a + b * b)


def curve_ahead(
    points: np.ndarray,
    near_m: tuple[float, float] = (3.0, 15.0),
    ahead_m: tuple[float, float] = (15.0, 45.0),
    half_width_m: float = 12.0,
    cell_m: float = 2.0,
    min_cells: int = 5,
) -> float:
    """The vertical curvature k (1/m) of the ground ahead: z = a x + b y + c + k x^2 fitted to
    the lowest return of each cell, over the near ground (``near_m``, all around) and the road
    ahead (``ahead_m`` ahead, within ``half_width_m`` sideways). It starts from the plane of the
    near ground (:func:`fit_ground`) and refits with the cells within 1.5, 0.6, 0.3 and 0.15 m
    of the previous surface, so roofs and walls drop out. A plane fitted near and extended
    ahead would hide part of the curve in its slope; the joint fit does not.

    Args:
        points: (N, 3+) LiDAR-frame points, metres.

    Returns:
        k in 1/m (the ground x metres ahead lies k x^2 above the tangent plane at the sensor);
        NaN with fewer than ``min_cells`` ground cells in the far half of ``ahead_m`` (a car
        or a wall ahead hides the road: a curve fitted to the near part alone is a guess).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> xy = rng.uniform([3, -15], [45, 15], size=(20000, 2))
        >>> z = -1.73 + 0.01 * xy[:, 0] + 2e-4 * xy[:, 0] ** 2  # a sag: 0.32 m up at 40 m
        >>> round(curve_ahead(np.column_stack([xy, z])), 6)
        0.0002
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points must be (N, 3+), got {pts.shape}")
    d = np.hypot(pts[:, 0], pts[:, 1])
    near = (d >= near_m[0]) & (d <= near_m[1])
    ahead = (pts[:, 0] > ahead_m[0]) & (pts[:, 0] < ahead_m[1])
    ahead &= np.abs(pts[:, 1]) < half_width_m
    sel = pts[near | ahead, :3]
    if len(sel) == 0:
        return float("nan")
    cells = _cell_minima(sel, cell_m)
    x, y, z = cells.T
    design = np.column_stack([x, y, np.ones(len(x)), x * x])
    coeffs = np.append(fit_ground(pts, cell_m, near_m).coeffs, 0.0)
    far = x > (ahead_m[0] + ahead_m[1]) / 2
    for thr in (1.5, 0.6, 0.3, 0.15):
        inl = np.abs(z - design @ coeffs) < thr
        if (inl & far).sum() < min_cells or inl.sum() < 4:
            return float("nan")
        coeffs = np.linalg.lstsq(design[inl], z[inl], rcond=None)[0]
    return float(coeffs[3])
