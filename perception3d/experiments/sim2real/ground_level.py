"""Ground leveling: a sweep's points moved vertically so the ground under them follows the plane
of the near ground, and boxes moved back. An experiment, not part of the detector: it lost Car
AP on held-out synthetic frames, bent or not (docs/sim2real.md, "Row 46a";
``tools/level_ground_infer.py`` reproduces it).

A detector trained on synthetic roads (planes) sees real roads that bend: the ground 30-40 m
ahead of a real KITTI sweep lies up to about 0.5 m off the plane of the ground under the car
(docs/sim2real.md, "Rows 44-45"), and so do the cars standing on it. Leveling removes that
departure before detection, without labels:

1. the plane of the near ground (:func:`perception3d.experiments.sim2real.ground.fit_ground`
   on the returns at 3-15 m, robust to roofs and walls);
2. the lowest return of each ``cell_m`` cell, as height above that plane; cells more than
   ``max_offset_m`` off it are not ground;
3. a cell is ground when its lowest return is within ``step_m`` of the lowest in its 3 x 3
   neighbourhood (a car's cell, whose lowest return is its sill, is not); the ground cells are
   smoothed and filled by a normalized Gaussian average (``smooth_cells``, then
   ``fill_cells`` cells where no ground was seen nearby; the plane beyond that);
4. the field re-centred so the near ground (3-15 m) keeps its height (its median is 0).

Points move by minus the field at their (x, y); boxes found on leveled points move back by the
field at their centre. Headings and sizes are unchanged (slopes here are a few degrees).

Example:
    >>> rng = np.random.default_rng(0)
    >>> xy = rng.uniform([0, -20], [60, 20], size=(30000, 2))
    >>> z = -1.73 + 3e-4 * np.clip(xy[:, 0] - 20, 0, None) ** 2  # road rising past 20 m
    >>> surface = estimate_ground(np.column_stack([xy, z]))
    >>> round(float(surface.offset_at(np.array([[45.0, 0.0]]))[0]), 1)  # 0.19 m up
    0.2
    >>> leveled = level_points(np.column_stack([xy, z]), surface)
    >>> bool(np.abs(leveled[:, 2] + 1.73).max() < 0.1)
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from perception3d.experiments.sim2real.ground import fit_ground

__all__ = ["GroundLevelConfig", "GroundSurface", "estimate_ground", "level_points", "unlevel_boxes"]


@dataclass(frozen=True)
class GroundLevelConfig:
    """How the ground field is estimated (see the module docstring).

    Attributes:
        cell_m: cell size, metres.
        extent_m: half-width of the square grid around the sensor, metres.
        max_offset_m: cells whose lowest return is further than this from the near plane are
            not ground.
        step_m: a cell more than this above the lowest of its neighbours is not ground.
        smooth_cells: Gaussian sigma of the smoothing, cells.
        fill_cells: Gaussian sigma of the fill where the smoothing saw no ground, cells.
    """

    cell_m: float = 2.0
    extent_m: float = 80.0
    max_offset_m: float = 1.5
    step_m: float = 0.2
    smooth_cells: float = 1.0
    fill_cells: float = 3.0

    def __post_init__(self) -> None:
        for name in ("cell_m", "extent_m", "max_offset_m", "step_m", "smooth_cells", "fill_cells"):
            if not getattr(self, name) > 0:
                raise ValueError(f"ground leveling: {name} must be > 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class GroundSurface:
    """The ground's departure from the plane of the near ground, on a grid (LiDAR frame).

    Attributes:
        offsets_m: (nx, ny) float64 ground height minus the near plane's, per cell, metres.
        origin_m: (x, y) of cell (0, 0)'s corner.
        cell_m: cell size, metres.
        plane: (3,) [a, b, c] of the near plane z = a x + b y + c.
    """

    offsets_m: np.ndarray
    origin_m: tuple[float, float]
    cell_m: float
    plane: np.ndarray

    def offset_at(self, xy: np.ndarray) -> np.ndarray:
        """(N,) the field at (N, 2+) x, y, metres: bilinear between cell centres, the edge
        cells' values outside the grid."""
        xy = np.asarray(xy, dtype=np.float64)
        cells = (xy[:, :2] - self.origin_m) / self.cell_m - 0.5  # cell-centre coordinates
        return ndimage.map_coordinates(self.offsets_m, cells.T, order=1, mode="nearest")


def _normalized_blur(values: np.ndarray, known: np.ndarray, sigma: float):
    """Gaussian average of the known cells: (averages, weights)."""
    num = ndimage.gaussian_filter(np.where(known, values, 0.0), sigma, mode="constant")
    den = ndimage.gaussian_filter(known.astype(np.float64), sigma, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den, den


def estimate_ground(points: np.ndarray, cfg: GroundLevelConfig | None = None) -> GroundSurface:
    """The ground field of a sweep (see the module docstring).

    Args:
        points: (N, 3+) LiDAR-frame points, metres.
        cfg: the estimate's parameters (defaults: :class:`GroundLevelConfig`).

    Returns:
        The field; all zeros (no leveling) when no cell looks like ground.
    """
    cfg = cfg or GroundLevelConfig()
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points must be (N, 3+), got {pts.shape}")
    n = int(np.ceil(2 * cfg.extent_m / cfg.cell_m))
    origin = (-cfg.extent_m, -cfg.extent_m)
    plane = fit_ground(pts, range_m=(3.0, 15.0)).coeffs
    flat = GroundSurface(np.zeros((n, n)), origin, cfg.cell_m, plane)
    ij = np.floor((pts[:, :2] - origin) / cfg.cell_m).astype(np.int64)
    inside = ((ij >= 0) & (ij < n)).all(axis=1)
    if not inside.any():
        return flat
    resid = pts[inside, 2] - pts[inside, :2] @ plane[:2] - plane[2]
    lowest = np.full(n * n, np.inf)
    np.minimum.at(lowest, ij[inside, 0] * n + ij[inside, 1], resid)
    lowest = lowest.reshape(n, n)
    lowest[np.abs(lowest) > cfg.max_offset_m] = np.inf
    floor = ndimage.minimum_filter(lowest, size=3, mode="constant", cval=np.inf)
    known = np.isfinite(lowest)
    known[known] = lowest[known] - floor[known] < cfg.step_m
    if not known.any():
        return flat
    field, weight = _normalized_blur(lowest, known, cfg.smooth_cells)
    wide, wide_weight = _normalized_blur(lowest, known, cfg.fill_cells)
    field = np.where(weight > 0.05, field, np.where(wide_weight > 0.01, wide, 0.0))
    centres = (np.arange(n) + 0.5) * cfg.cell_m + origin[0]
    dist = np.hypot(centres[:, None], centres[None, :])
    near = known & (dist >= 3.0) & (dist <= 15.0)
    if near.any():
        field = field - np.median(field[near])
    return GroundSurface(np.nan_to_num(field), origin, cfg.cell_m, plane)


def level_points(points: np.ndarray, surface: GroundSurface) -> np.ndarray:
    """A copy of (N, C>=3) LiDAR-frame ``points`` with z minus the field at each point."""
    out = np.array(points, copy=True)
    out[:, 2] = out[:, 2] - surface.offset_at(out[:, :2]).astype(out.dtype)
    return out


def unlevel_boxes(boxes_lidar: np.ndarray, surface: GroundSurface) -> np.ndarray:
    """A copy of (K, 7+) LiDAR-frame boxes (centre x, y, z, ...) found on leveled points, with
    z plus the field at each centre."""
    out = np.array(boxes_lidar, copy=True)
    if len(out):
        out[:, 2] = out[:, 2] + surface.offset_at(out[:, :2]).astype(out.dtype)
    return out
