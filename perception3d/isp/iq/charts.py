"""Test charts as reflectance functions of chart coordinates (pixels, origin top left).

Each ``*_chart`` returns a callable ``(x, y) -> (3, ...)`` reflectance in [0, 1] for a chart
of the given size, so :mod:`perception3d.isp.iq.optics` can sample it finely (pixel
integration) and through lens distortion. Layout helpers (``step_cells``, ``dot_centres``)
tell the measures where to look.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Chart = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _grey(value: np.ndarray) -> np.ndarray:
    return np.broadcast_to(value, (3, *value.shape)).copy()


def slanted_edge_chart(width: int, height: int, angle_deg: float = 5.0, low: float = 0.2,
                       high: float = 0.8) -> Chart:  # fmt: skip
    """A near-vertical edge through the chart centre, tilted ``angle_deg`` (ISO 12233 e-SFR:
    a few degrees off the pixel grid; 4:1 contrast by default), dark on the left."""
    t = math.tan(math.radians(angle_deg))

    def chart(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        edge_x = width / 2.0 + (y - height / 2.0) * t
        return _grey(np.where(x >= edge_x, high, low))

    return chart


def step_levels(num_steps: int = 24, stops_per_step: float = 0.75) -> np.ndarray:
    """(num_steps + 1,) reflectances of the step chart: ``2^(-i stops_per_step)`` for
    i = 0..num_steps-1, then 0 (an opaque patch: the black reference)."""
    return np.append(2.0 ** (-stops_per_step * np.arange(num_steps)), 0.0)


def step_cells(width: int, height: int, num_cells: int) -> list[tuple[float, float, float]]:
    """(centre x, centre y, cell size) of the cells of a square-grid step chart, row-major."""
    side = math.ceil(math.sqrt(num_cells))
    cell = min(width, height) / side
    return [((i % side + 0.5) * cell, (i // side + 0.5) * cell, cell) for i in range(num_cells)]


def step_chart(width: int, height: int, levels: np.ndarray) -> Chart:
    """Grey patches of reflectance ``levels`` on a square grid (row-major), no gaps."""
    side = math.ceil(math.sqrt(len(levels)))
    cell = min(width, height) / side
    padded = np.append(levels, np.zeros(side * side - len(levels)))

    def chart(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        col = np.clip((x // cell).astype(int), 0, side - 1)
        row = np.clip((y // cell).astype(int), 0, side - 1)
        return _grey(padded[row * side + col])

    return chart


def flat_chart(level: float = 0.5) -> Chart:
    """A uniform grey of reflectance ``level`` (the flat field)."""

    def chart(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return _grey(np.full(np.shape(x), level))

    return chart


def dot_centres(width: int, height: int, pitch: float) -> np.ndarray:
    """(N, 2) dot centres (x, y) of the grid: a square lattice of ``pitch`` pixels centred on
    the chart, kept a pitch away from the borders."""
    cx, cy = width / 2.0, height / 2.0
    nx, ny = int((width / 2.0 - pitch) // pitch), int((height / 2.0 - pitch) // pitch)
    gx, gy = np.meshgrid(np.arange(-nx, nx + 1), np.arange(-ny, ny + 1))
    return np.stack([cx + gx.ravel() * pitch, cy + gy.ravel() * pitch], axis=1)


def dot_chart(width: int, height: int, pitch: float = 16.0, radius: float = 3.0,
              dot: float = 0.05, background: float = 0.8) -> Chart:  # fmt: skip
    """Dark dots of ``radius`` pixels on a light background at :func:`dot_centres`."""
    cx, cy = width / 2.0, height / 2.0

    def chart(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        u = (x - cx) / pitch - np.round((x - cx) / pitch)
        v = (y - cy) / pitch - np.round((y - cy) / pitch)
        inside = (u**2 + v**2) * pitch**2 <= radius**2
        return _grey(np.where(inside, dot, background))

    return chart


def dead_leaves_disks(size: float, rng: np.random.Generator, r_min: float = 1.0,
                      r_max: float = 48.0, count: int = 6000) -> np.ndarray:  # fmt: skip
    """(count, 4) disks ``(x, y, radius, grey)`` of a dead-leaves chart, front first: radii
    with density ``r^-3`` on [r_min, r_max] (scale invariant; Cao, Guichard, Hornung 2010),
    centres uniform over the square ``size`` plus a margin, greys uniform in [0.15, 0.75]."""
    u = rng.random(count)
    # inverse CDF of p(r) ~ r^-3 on [r_min, r_max]
    radius = 1.0 / np.sqrt(r_min**-2 - u * (r_min**-2 - r_max**-2))
    xy = rng.uniform(-r_max, size + r_max, (count, 2))
    grey = rng.uniform(0.15, 0.75, count)
    return np.column_stack([xy, radius, grey])


def dead_leaves_chart(width: int, height: int, disks: np.ndarray) -> Chart:
    """Left square (``height`` x ``height``): dead leaves of ``disks`` (front first, the
    uncovered remainder mid grey); right of it: a uniform patch at the leaves' mean (area
    average: the noise reference of Cao et al. 2010)."""
    size = float(height)

    def chart(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``x``, ``y``: (H, W) regular grids (a meshgrid; rows share y, columns share x)."""
        xs, ys = x[0], y[:, 0]
        out = np.full(np.shape(x), np.nan)
        for dx, dy, r, g in disks:
            c0, c1 = np.searchsorted(xs, [dx - r, dx + r])
            r0, r1 = np.searchsorted(ys, [dy - r, dy + r])
            if c0 >= c1 or r0 >= r1:
                continue
            win = out[r0:r1, c0:c1]
            hit = np.isnan(win) & (
                (xs[None, c0:c1] - dx) ** 2 + (ys[r0:r1, None] - dy) ** 2 <= r * r
            )
            win[hit] = g
        leaves = x < size
        out = np.where(np.isnan(out), 0.45, out)  # uncovered remainder (rare): mid grey
        return _grey(np.where(leaves, out, out[leaves].mean()))

    return chart
