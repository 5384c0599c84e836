"""Where each view goes in a composite picture, and the BEV extent that fills its panel.

Views come in two kinds. The camera image and the range panels have a fixed aspect ratio: each
takes a full row, scaled to the picture's width. The bird's-eye view and the 3D view can be
rendered at any size: they are given their panel's size before rendering, two of them side by
side (each a square half of the width), one alone a full-width 2:1 row. So every row spans
the whole width and no part of the picture is left as padding.

The BEV then zooms to what matters: :func:`fit_bev_grid` takes the box corners of the ground
truth and the predictions (and the ego car), adds a margin and widens the extent to the
panel's aspect ratio, so the metric grid fills the panel exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from perception3d.geometry.boxes import corners_lidar
from perception3d.viz.bev import BevGrid
from perception3d.viz.canvas import check_rgb, hstack, resize_to_width, vstack, with_title

FLEXIBLE_VIEWS = ("bev", "3d")
PAIR_ASPECT = 1.0  # width / height of each of two flexible views side by side
ALONE_ASPECT = 2.0  # width / height of a flexible view alone in its row
GAP_PX = 4


@dataclass(frozen=True)
class Row:
    """One row of a composite: its views left to right and their pixel sizes (height, width),
    titles excluded; the widths plus the gaps between them add up to the picture's width."""

    views: tuple[str, ...]
    sizes: tuple[tuple[int, int], ...]


def plan_rows(
    views: Sequence[str], fixed_aspects: Mapping[str, float], width: int = 1242
) -> list[Row]:
    """Rows of a composite picture ``width`` px wide.

    Args:
        views: view names in display order; names in ``FLEXIBLE_VIEWS`` ("bev", "3d") can be
            rendered at any size, every other one needs its aspect ratio in ``fixed_aspects``.
        fixed_aspects: view -> width / height of its rendered picture.
        width: the picture's width in pixels.

    Returns:
        The rows, top to bottom. Fixed views take a full row each; flexible views are paired
        side by side (the pair placed where its first member comes) or, alone, fill a 2:1 row.

    Example:
        >>> rows = plan_rows(["bev", "image", "3d"], {"image": 1242 / 375}, width=1000)
        >>> [(r.views, r.sizes) for r in rows]
        [(('bev', '3d'), ((498, 498), (498, 498))), (('image',), ((302, 1000),))]
        >>> plan_rows(["bev", "image"], {"image": 1242 / 375}, width=1000)[0].sizes
        ((500, 1000),)
    """
    if width < 2 * GAP_PX + 2:
        raise ValueError(f"width must be at least {2 * GAP_PX + 2} px, got {width}")
    slots: list[list[str]] = []
    open_pair: list[str] | None = None
    for view in views:
        if view in FLEXIBLE_VIEWS:
            if open_pair is None:
                open_pair = [view]
                slots.append(open_pair)
            else:
                open_pair.append(view)
                open_pair = None
        else:
            if view not in fixed_aspects:
                raise ValueError(f"view {view!r}: no aspect ratio given for a fixed-size view")
            slots.append([view])
    rows = []
    for slot in slots:
        if slot[0] not in FLEXIBLE_VIEWS:
            aspect = float(fixed_aspects[slot[0]])
            rows.append(Row((slot[0],), ((max(1, round(width / aspect)), width),)))
        elif len(slot) == 1:
            rows.append(Row((slot[0],), ((max(1, round(width / ALONE_ASPECT)), width),)))
        else:
            left = (width - GAP_PX) // 2
            right = width - GAP_PX - left
            height = max(1, round(left / PAIR_ASPECT))
            rows.append(Row(tuple(slot), ((height, left), (height, right))))
    return rows


def objects_extent_lidar(
    boxes_lidar: Sequence[np.ndarray | None], margin_m: float = 5.0, min_size_m: float = 20.0
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The (x, y) region, LiDAR frame, holding every box of ``boxes_lidar`` and the ego car.

    Args:
        boxes_lidar: arrays of (M, 7) boxes (None or empty arrays are skipped).
        margin_m: added on every side.
        min_size_m: each side is at least this long (centred on the boxes).

    Returns:
        ((x_min, x_max), (y_min, y_max)) metres, or None when there is no box.
    """
    corners = [
        corners_lidar(np.asarray(b, np.float64).reshape(-1, 7))[:, :4, :2].reshape(-1, 2)
        for b in boxes_lidar
        if b is not None and len(b)
    ]
    if not corners:
        return None
    xy = np.concatenate([np.zeros((1, 2)), *corners])  # the ego car at the origin
    lo, hi = xy.min(axis=0) - margin_m, xy.max(axis=0) + margin_m
    centre, size = (lo + hi) / 2, np.maximum(hi - lo, min_size_m)
    lo, hi = centre - size / 2, centre + size / 2
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def fit_bev_grid(
    height_px: int,
    width_px: int,
    region: tuple[tuple[float, float], tuple[float, float]] | None = None,
) -> BevGrid:
    """The BEV grid showing at least ``region`` that is exactly ``height_px`` x ``width_px``.

    Args:
        height_px, width_px: the panel's size in pixels.
        region: ((x_min, x_max), (y_min, y_max)) metres, LiDAR frame, to show; default the
            :class:`BevGrid` default extent (x -20..70 m, y -40..40 m).

    Returns:
        A grid with ``grid.height == height_px`` and ``grid.width == width_px``: forward up,
        or forward to the right when that shows the region at a finer resolution (a long
        region in a wide panel); the shorter side is widened about its centre to the panel's
        aspect ratio.

    Example:
        >>> g = fit_bev_grid(100, 100, ((0.0, 10.0), (-2.5, 2.5)))
        >>> (g.height, g.width, g.resolution_m, g.forward, g.y_range_m)
        (100, 100, 0.1, 'up', (-5.0, 5.0))
        >>> fit_bev_grid(100, 200, ((0.0, 20.0), (-5.0, 5.0))).forward
        'right'
    """
    if height_px < 1 or width_px < 1:
        raise ValueError(f"panel size must be positive, got {height_px} x {width_px}")
    default = BevGrid()
    (x0, x1), (y0, y1) = region or (default.x_range_m, default.y_range_m)
    up = max((x1 - x0) / height_px, (y1 - y0) / width_px)
    right = max((x1 - x0) / width_px, (y1 - y0) / height_px)
    forward = "right" if right < up * (1 - 1e-9) else "up"
    resolution = min(up, right)
    x_px, y_px = (height_px, width_px) if forward == "up" else (width_px, height_px)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_x, half_y = x_px * resolution / 2, y_px * resolution / 2
    return BevGrid((cx - half_x, cx + half_x), (cy - half_y, cy + half_y), resolution, forward)


def compose_rows(rows: Sequence[Row], panels: Mapping[str, tuple[str, np.ndarray]]) -> np.ndarray:
    """The composite picture: each row's panels side by side under their titles, rows stacked.

    Args:
        rows: from :func:`plan_rows`.
        panels: view -> (title, (H, W, 3) uint8 picture); a picture not at its planned size is
            resized to it (Lanczos when shrinking, nearest neighbour when enlarging).

    Returns:
        (sum of row heights + 22 px title per row + 4 px gaps, width, 3) uint8.
    """
    pictures = []
    for row in rows:
        titled = []
        for view, (height, width) in zip(row.views, row.sizes):
            title, rgb = panels[view]
            rgb = resize_to_width(check_rgb(rgb, f"view {view!r}"), width, height)
            titled.append(with_title(rgb, title))
        pictures.append(hstack(titled, gap=GAP_PX))
    return vstack(pictures, gap=GAP_PX)
