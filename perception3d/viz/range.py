"""Range-image panels (range, intensity, mask) and before/after panels for weather and
augmentation.

A range image (``perception3d.geometry.spherical.RangeImage``) is 64 rows by ~2048 columns; the
panels repeat each row ``row_scale`` times so beams are visible, and keep one column per azimuth
step, so pixel (row * row_scale, col) of a panel is pixel (row, col) of the range image.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from perception3d.geometry.spherical import RangeImage
from perception3d.viz.bev import BevGrid, render_bev
from perception3d.viz.canvas import hstack, text_strip, vstack, with_title
from perception3d.viz.style import FN_RGB, FP_RGB, HEIGHT_RANGE_M, ViewBoxes, colormap_rgb

EMPTY_RGB = (0, 0, 0)
MASK_RGB = (235, 235, 235)


def _panel(values: np.ndarray, mask: np.ndarray, colors: np.ndarray, row_scale: int) -> np.ndarray:
    out = np.zeros((*values.shape, 3), np.uint8)
    out[:] = EMPTY_RGB
    out[mask] = colors
    return np.repeat(out, row_scale, axis=0)  # from (H, W, 3) to (H * row_scale, W, 3)


def range_panels(
    image: RangeImage, max_range_m: float = 80.0, row_scale: int = 3
) -> dict[str, np.ndarray]:
    """The three panels of a range image, without titles.

    Args:
        image: the range image.
        max_range_m: range mapped to the end of the colormap (turbo: red near, blue far).
        row_scale: each beam row is repeated this many times.

    Returns:
        {"range", "intensity", "mask"}: (H * row_scale, W, 3) uint8; empty pixels black, the
        mask white where a point landed.
    """
    mask = image.mask
    rng = colormap_rgb(image.range_m[mask], 0.0, max_range_m, "turbo_r")
    inten = np.maximum(colormap_rgb(image.intensity[mask], 0.0, 1.0, "gray"), 40)
    full = np.broadcast_to(np.array(MASK_RGB, np.uint8), (int(mask.sum()), 3))
    return {
        "range": _panel(image.range_m, mask, rng, row_scale),
        "intensity": _panel(image.intensity, mask, inten, row_scale),
        "mask": _panel(image.range_m, mask, full, row_scale),
    }


def occupied_columns(image: RangeImage) -> tuple[int, int]:
    """(first, last + 1) column holding points (the whole width when empty); a camera-FOV crop
    of a sweep fills only about a quarter of the turn."""
    cols = np.flatnonzero(image.mask.any(axis=0))
    return (int(cols[0]), int(cols[-1]) + 1) if len(cols) else (0, image.width)


def render_range_image(
    image: RangeImage,
    max_range_m: float = 80.0,
    row_scale: int = 3,
    title: str = "",
    columns: tuple[int, int] | None = None,
    side_by_side: bool = False,
) -> np.ndarray:
    """Range, intensity and mask panels, each with a title strip, stacked (or side by side).

    Args:
        image: the range image.
        max_range_m: range at the far end of the colormap.
        row_scale: each beam row is repeated this many times.
        title: optional strip above the panels.
        columns: (start, stop) columns to show (e.g. :func:`occupied_columns`); default all.
        side_by_side: panels left to right instead of top to bottom (for narrow crops).

    Returns:
        (3 * (22 + H * row_scale) + 8 [+ 22], stop - start, 3) uint8: the panels in the order
        range, intensity, mask (title strips 22 px, gaps 4 px); panel pixel (r, c) shows range
        image pixel (r // row_scale, start + c). Side by side: (22 + H * row_scale [+ 22],
        3 * (stop - start) + 8, 3).
    """
    start, stop = columns or (0, image.width)
    panels = {k: v[:, start:stop] for k, v in range_panels(image, max_range_m, row_scale).items()}
    fill = 100.0 * image.mask.mean()
    labels = {
        "range": f"range (0-{max_range_m:g} m, red near, blue far)",
        "intensity": "intensity (0-1)",
        "mask": f"mask ({fill:.1f} % of {image.height}x{image.width} pixels filled)",
    }
    titled = [with_title(panels[k], labels[k]) for k in ("range", "intensity", "mask")]
    out = hstack(titled) if side_by_side else vstack(titled)
    return vstack([text_strip(title, out.shape[1]), out]) if title else out


def changed_points(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which points were removed (in ``before`` only) and added (in ``after`` only).

    Points are compared exactly on (x, y, z) (an augmentation that moves every point, such as
    a global rotation, marks them all).

    Returns:
        removed: (N_before,) bool; added: (N_after,) bool.

    Example:
        >>> a = np.array([[1, 0, 0, 0.5], [2, 0, 0, 0.5]], np.float32)
        >>> b = np.array([[2, 0, 0, 0.1], [3, 0, 0, 0.5]], np.float32)
        >>> [m.tolist() for m in changed_points(a, b)]
        [[True, False], [False, True]]
    """
    xyz_a = np.ascontiguousarray(np.asarray(before)[:, :3], dtype=np.float64)
    xyz_b = np.ascontiguousarray(np.asarray(after)[:, :3], dtype=np.float64)
    key_a = xyz_a.view(np.dtype((np.void, 24))).ravel()
    key_b = xyz_b.view(np.dtype((np.void, 24))).ravel()
    return ~np.isin(key_a, key_b), ~np.isin(key_b, key_a)


def render_before_after(
    points_before: np.ndarray,
    points_after: np.ndarray,
    boxes_before: np.ndarray | None = None,
    boxes_after: np.ndarray | None = None,
    *,
    beam_elevations_rad: Sequence[float] | None = None,
    range_width: int | None = None,
    grid: BevGrid | None = None,
    titles: tuple[str, str] = ("before", "after"),
    highlight_changes: bool = True,
) -> np.ndarray:
    """Side-by-side BEVs (and range images) of a sweep before and after a transform.

    With ``highlight_changes``, points that exist only before are drawn red in the left BEV
    (removed: occluded by a pasted object, lost in fog) and points that exist only after amber
    in the right one (added: pasted objects, fog clutter); the others keep the height colours.

    Args:
        points_before, points_after: (N, 4) LiDAR frame ``[x, y, z, intensity]``.
        boxes_before, boxes_after: (M, 7) LiDAR boxes drawn as ground truth.
        beam_elevations_rad: (H,) beam table; when given, range-image panels of both sweeps are
            added below (``range_width`` columns; default: the width of the BEV pair).
        grid: BEV extent (default :class:`BevGrid`).
        titles: captions of the two columns.

    Returns:
        (H, W, 3) uint8.
    """
    grid = grid or BevGrid()
    colors: list[np.ndarray | None] = [None, None]
    counts = ["", ""]
    if highlight_changes:
        removed, added = changed_points(points_before, points_after)
        for k, (pts, changed, rgb) in enumerate(
            ((points_before, removed, FP_RGB), (points_after, added, FN_RGB))
        ):
            c = colormap_rgb(np.asarray(pts)[:, 2], *HEIGHT_RANGE_M, "viridis")
            c[changed] = rgb
            colors[k] = c
        counts = [f", {int(removed.sum())} removed (red)", f", {int(added.sum())} added (amber)"]
    bevs = [
        render_bev(points_before, ViewBoxes(boxes_before), grid=grid, point_colors_rgb=colors[0]),
        render_bev(points_after, ViewBoxes(boxes_after), grid=grid, point_colors_rgb=colors[1]),
    ]
    captions = [
        f"{titles[0]}: {len(points_before)} points{counts[0]}",
        f"{titles[1]}: {len(points_after)} points{counts[1]}",
    ]
    top = hstack([with_title(b, c) for b, c in zip(bevs, captions)])
    if beam_elevations_rad is None:
        return top
    rows = [top]
    range_width = range_width or top.shape[1]
    for pts, title in zip((points_before, points_after), titles):
        image = RangeImage.from_points(np.asarray(pts)[:, :4], beam_elevations_rad, range_width)
        rows.append(render_range_image(image, title=f"{title}: range image"))
    return vstack(rows)
