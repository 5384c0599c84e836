"""Bird's-eye view (matplotlib): points, boxes, range rings and the camera's field of view.

The picture is a metric grid: x (forward) points up, y (left) points left, one pixel is
``resolution_m`` metres, and :meth:`BevGrid.lidar_to_pixel` says where any LiDAR point lands.
Points are rasterized exactly (the highest point wins each pixel, as seen from above); boxes,
rings and text are drawn by matplotlib on top, without anti-aliasing for the box lines so their
colours are exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from perception3d.geometry.boxes import corners_lidar
from perception3d.geometry.calib import Calibration
from perception3d.viz.style import (
    BACKGROUND_RGB,
    FOV_RGB,
    HEIGHT_RANGE_M,
    RING_RGB,
    BoxSet,
    ViewBoxes,
    box_sets,
    colormap_rgb,
    legend_entries,
)


@dataclass(frozen=True)
class BevGrid:
    """The metric extent, resolution and orientation of a BEV picture (LiDAR frame, metres).

    Attributes:
        x_range_m: (min, max) forward extent.
        y_range_m: (min, max) lateral extent (y points left).
        resolution_m: metres per pixel.
        forward: "up" (x to the top, y to the left: the default) or "right" (x to the right,
            y to the top: for panels wider than tall).

    Example:
        >>> grid = BevGrid((0.0, 40.0), (-20.0, 20.0), 0.1)
        >>> grid.height, grid.width, grid.lidar_to_pixel(np.array([[39.95, 19.95]])).tolist()
        (400, 400, [[0, 0]])
        >>> wide = BevGrid((0.0, 40.0), (-10.0, 10.0), 0.1, forward="right")
        >>> wide.height, wide.width, wide.lidar_to_pixel(np.array([[39.95, 9.95]])).tolist()
        (200, 400, [[0, 399]])
    """

    x_range_m: tuple[float, float] = (-20.0, 70.0)
    y_range_m: tuple[float, float] = (-40.0, 40.0)
    resolution_m: float = 0.1
    forward: Literal["up", "right"] = "up"

    def __post_init__(self) -> None:
        for name in ("x_range_m", "y_range_m"):
            lo, hi = getattr(self, name)
            if not hi > lo:
                raise ValueError(f"BevGrid.{name} must be (min, max) with max > min, got {lo, hi}")
        if not self.resolution_m > 0:
            raise ValueError(f"BevGrid.resolution_m must be > 0, got {self.resolution_m}")
        if self.forward not in ("up", "right"):
            raise ValueError(f"BevGrid.forward must be 'up' or 'right', got {self.forward!r}")

    def _pixels(self, range_m: tuple[float, float]) -> int:
        return round((range_m[1] - range_m[0]) / self.resolution_m)

    @property
    def height(self) -> int:
        return self._pixels(self.x_range_m if self.forward == "up" else self.y_range_m)

    @property
    def width(self) -> int:
        return self._pixels(self.y_range_m if self.forward == "up" else self.x_range_m)

    def lidar_to_pixel(self, xy_lidar: np.ndarray) -> np.ndarray:
        """(N, 2+) LiDAR x, y -> (N, 2) int64 ``[row, col]`` (may fall outside the picture)."""
        xy = np.asarray(xy_lidar, dtype=np.float64)
        u, v = self.to_plot(xy[:, :2])
        u0, _, _, v1 = self.plot_extent
        row = np.floor((v1 - v) / self.resolution_m)
        col = np.floor((u - u0) / self.resolution_m)
        return np.stack([row, col], axis=1).astype(np.int64)

    def to_plot(self, xy_lidar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """LiDAR (..., 2) x, y -> plot coordinates (u to the right, v up), metres."""
        xy = np.asarray(xy_lidar, dtype=np.float64)
        if self.forward == "up":
            return -xy[..., 1], xy[..., 0]
        return xy[..., 0], xy[..., 1]

    @property
    def plot_extent(self) -> tuple[float, float, float, float]:
        """(u_min, u_max, v_min, v_max) of the picture in plot coordinates, metres."""
        (x0, x1), (y0, y1) = self.x_range_m, self.y_range_m
        return (-y1, -y0, x0, x1) if self.forward == "up" else (x0, x1, y0, y1)


def nice_length_m(target_m: float) -> float:
    """The largest of 1, 2, 5 x 10^k not above ``target_m`` (a scale bar's length).

    Example:
        >>> nice_length_m(13.0), nice_length_m(0.7), nice_length_m(50.0)
        (10.0, 0.5, 50.0)
    """
    if not target_m > 0:
        raise ValueError(f"target_m must be > 0, got {target_m}")
    power = 10.0 ** np.floor(np.log10(target_m))
    for step in (5.0, 2.0, 1.0):
        if step * power <= target_m * (1 + 1e-9):
            return float(step * power)
    return float(power)


def _check_points(points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points must be (N, 3+) [x, y, z, intensity, ...], got {pts.shape}")
    return pts


def rasterize_points(
    points: np.ndarray,
    grid: BevGrid,
    color_by: Literal["height", "intensity"] = "height",
    colors_rgb: np.ndarray | None = None,
    height_range_m: tuple[float, float] = HEIGHT_RANGE_M,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-down point raster: the highest point of each pixel gives its colour.

    Args:
        points: (N, 3+) LiDAR frame ``[x, y, z, intensity, ...]``, metres.
        grid: the picture's extent.
        color_by: "height" (viridis over ``height_range_m``) or "intensity" (inferno, 0..1).
        colors_rgb: (N, 3) uint8 per-point colours overriding ``color_by``.
        height_range_m: z range mapped to the colormap.

    Returns:
        rgb: (H, W, 3) uint8 colours (0 where empty); filled: (H, W) bool.
    """
    pts = _check_points(points)
    if colors_rgb is not None:
        colors = np.asarray(colors_rgb, dtype=np.uint8).reshape(-1, 3)
        if len(colors) != len(pts):
            raise ValueError(f"colors_rgb must be ({len(pts)}, 3), got {colors.shape}")
    elif color_by == "height":
        colors = colormap_rgb(pts[:, 2], *height_range_m, "viridis")
    elif color_by == "intensity":
        if pts.shape[1] < 4:
            raise ValueError("color_by='intensity' needs (N, 4) points")
        colors = colormap_rgb(pts[:, 3], 0.0, 1.0, "inferno")
        colors = np.maximum(colors, 60)  # keep zero-intensity returns visible on the background
    else:
        raise ValueError(f"color_by must be 'height' or 'intensity', got {color_by!r}")
    rc = grid.lidar_to_pixel(pts)
    inside = (rc[:, 0] >= 0) & (rc[:, 0] < grid.height) & (rc[:, 1] >= 0) & (rc[:, 1] < grid.width)
    idx = np.flatnonzero(inside)
    flat = rc[idx, 0] * grid.width + rc[idx, 1]
    # Highest point per pixel, ties to the lower index: sort by (pixel, -z, index), take firsts.
    order = np.lexsort((idx, -pts[idx, 2].astype(np.float64), flat))
    first = np.ones(len(order), bool)
    first[1:] = flat[order[1:]] != flat[order[:-1]]
    winners = order[first]
    rgb = np.zeros((grid.height * grid.width, 3), np.uint8)
    filled = np.zeros(grid.height * grid.width, bool)
    rgb[flat[winners]] = colors[idx[winners]]
    filled[flat[winners]] = True
    return rgb.reshape(grid.height, grid.width, 3), filled.reshape(grid.height, grid.width)


def camera_fov_lidar(
    calib: Calibration, image_width: int, range_m: float = 80.0
) -> tuple[np.ndarray, np.ndarray]:
    """Camera 2's centre and the ends of its left/right field-of-view rays, LiDAR frame.

    Returns:
        centre: (3,) metres; ends: (2, 3), the left and right image borders at ``range_m``
        depth.
    """
    cy = calib.P2[1, 2]
    uv = np.array([[0.0, cy], [image_width - 1.0, cy], [0.0, cy]])
    rect = calib.image_to_rect(uv, np.array([range_m, range_m, 0.0]))
    lidar = calib.rect_to_lidar(rect)
    return lidar[2], lidar[:2]


def default_rings_m(grid: BevGrid, step_m: float = 10.0) -> tuple[float, ...]:
    """Range rings every ``step_m`` out to the grid's farthest corner from the sensor."""
    far = max(np.hypot(x, y) for x in grid.x_range_m for y in grid.y_range_m)
    return tuple(float(r) for r in np.arange(step_m, min(far, 200.0) + step_m, step_m))


def _draw_scale_bar(ax, grid: BevGrid) -> None:
    """A white bar of a round length (about a fifth of the width) in the bottom-right corner."""
    u_min, u_max, v_min, v_max = grid.plot_extent
    width_m = u_max - u_min
    length = nice_length_m(0.2 * width_m)
    margin = 0.03 * width_m
    u1 = u_max - margin
    u0, v = u1 - length, v_min + margin + 0.02 * (v_max - v_min)
    tick = 0.012 * width_m
    style = {"color": "white", "linewidth": 2.0, "zorder": 6, "solid_capstyle": "butt"}
    ax.plot([u0, u1], [v, v], **style)
    ax.plot([u0, u0], [v - tick, v + tick], **style)
    ax.plot([u1, u1], [v - tick, v + tick], **style)
    ax.text((u0 + u1) / 2, v + 1.5 * tick, f"{length:g} m", color="white", fontsize=8,
            ha="center", va="bottom", zorder=6,
            bbox={"facecolor": "black", "alpha": 0.5, "pad": 1.0, "linewidth": 0})  # fmt: skip


def _draw_boxes(ax, sets: Sequence[BoxSet], show_labels: bool, grid: BevGrid) -> None:
    from matplotlib.patches import Polygon

    for s in sorted(sets, key=lambda s: s.kind == "pred"):
        if not len(s):
            continue
        corners = corners_lidar(s.boxes_lidar)[:, :4, :2]  # (M, 4, 2) bottom face
        for k in range(len(s)):
            color = s.colors_rgb[k] / 255.0
            u, v = grid.to_plot(corners[k])
            ax.add_patch(
                Polygon(
                    np.stack([u, v], 1),
                    closed=True,
                    fill=False,
                    edgecolor=color,
                    linewidth=s.line_width,
                    antialiased=False,
                    zorder=3 if s.kind == "pred" else 2,
                )
            )
            centre = s.boxes_lidar[k, :2]
            front = (corners[k, 0] + corners[k, 3]) / 2  # heading: centre -> front edge middle
            hu, hv = grid.to_plot(np.stack([centre, front]))
            ax.plot(hu, hv, color=color, linewidth=s.line_width, antialiased=False, zorder=3)
            if show_labels and s.labels[k]:
                ax.text(
                    u.min(),
                    v.max() + 0.4,
                    s.labels[k],
                    color=color,
                    fontsize=7,
                    zorder=4,
                    clip_on=True,
                    bbox={"facecolor": "black", "alpha": 0.5, "pad": 0.5, "linewidth": 0},
                )


def render_bev(
    points: np.ndarray,
    boxes: ViewBoxes | None = None,
    *,
    calib: Calibration | None = None,
    image_width: int = 1242,
    grid: BevGrid | None = None,
    color_by: Literal["height", "intensity"] = "height",
    point_colors_rgb: np.ndarray | None = None,
    rings_m: Sequence[float] | None = None,
    show_labels: bool = True,
    scale_bar: bool = True,
    show_legend: bool = True,
    title: str = "",
) -> np.ndarray:
    """Render a bird's-eye view.

    Args:
        points: (N, 3+) LiDAR frame ``[x, y, z, intensity, ...]``, metres.
        boxes: ground truth and predictions, LiDAR frame (:class:`ViewBoxes`: prediction
            names and scores are printed next to the boxes, statuses give the TP/FP/FN
            colouring of :func:`perception3d.viz.style.box_sets`).
        calib: when given, camera 2's field of view is drawn (``image_width`` px wide).
        grid: extent and resolution (default :class:`BevGrid`: x -20..70 m, y -40..40 m, 0.1 m).
        color_by: "height" or "intensity"; ``point_colors_rgb`` (N, 3) uint8 overrides it.
        rings_m: radii of the range rings, metres (empty: none; default every 10 m out to the
            grid's farthest corner).
        scale_bar: a bar of a round length in metres in the bottom-right corner.
        show_labels, show_legend: text next to boxes, colour legend in the top-left corner.
        title: text at the top centre of the picture.

    Returns:
        (grid.height, grid.width, 3) uint8 RGB; x forward points up, y left points left (with
        ``grid.forward == "right"``: x to the right, y up).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    grid = grid or BevGrid()
    sets = box_sets(boxes)
    raster, filled = rasterize_points(points, grid, color_by, point_colors_rgb)
    layer = np.empty((grid.height, grid.width, 3), np.uint8)
    layer[:] = BACKGROUND_RGB
    layer[filled] = raster[filled]

    dpi = 100
    fig = Figure(figsize=(grid.width / dpi, grid.height / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    u_min, u_max, v_min, v_max = grid.plot_extent
    ax.imshow(layer, extent=grid.plot_extent, interpolation="nearest", origin="upper", zorder=0)
    ax.set_xlim(u_min, u_max)
    ax.set_ylim(v_min, v_max)
    _draw_guides(ax, grid, rings_m, calib, image_width)
    _draw_boxes(ax, sets, show_labels, grid)
    if scale_bar:
        _draw_scale_bar(ax, grid)
    _draw_legend_and_title(ax, sets, show_legend, title)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return np.ascontiguousarray(rgba[: grid.height, : grid.width, :3])


def _draw_guides(ax, grid: BevGrid, rings_m, calib: Calibration | None, image_width: int) -> None:
    """Range rings (default every 10 m out to the grid's corner), camera 2's field of view
    (when ``calib`` is given) and the ego car."""
    (x0, x1), (y0, y1) = grid.x_range_m, grid.y_range_m
    ring_color = np.array(RING_RGB) / 255.0
    theta = np.linspace(0.0, 2.0 * np.pi, 361)
    circle = np.stack([np.cos(theta), np.sin(theta)], axis=1)  # (361, 2) unit circle, LiDAR
    for r in default_rings_m(grid) if rings_m is None else rings_m:
        ax.plot(*grid.to_plot(r * circle), color=ring_color, linewidth=0.8, zorder=1)
        lu, lv = grid.to_plot(np.array([0.71 * r, -0.71 * r]))  # ahead, to the right
        ax.text(lu, lv, f"{r:g} m", color=ring_color, fontsize=7, zorder=1, clip_on=True)
    if calib is not None:
        centre, ends = camera_fov_lidar(calib, image_width, range_m=2.0 * max(x1, y1, -y0, -x0))
        for end in ends:
            u, v = grid.to_plot(np.stack([centre[:2], end[:2]]))
            ax.plot(u, v, color=np.array(FOV_RGB) / 255.0, linewidth=0.8, linestyle="--", zorder=1)
    ego = np.array([[2.0, 0.9], [-2.0, 0.9], [-2.0, -0.9], [2.0, -0.9], [2.0, 0.9]])
    u, v = grid.to_plot(ego)
    ax.plot(u, v, color="white", linewidth=1.0, zorder=1)


def _draw_legend_and_title(ax, sets, show_legend: bool, title: str) -> None:
    from matplotlib.lines import Line2D

    entries = legend_entries(sets)
    if show_legend and entries:
        handles = [Line2D([], [], color=np.array(c) / 255.0, linewidth=2) for _, c in entries]
        legend = ax.legend(handles, [t for t, _ in entries], loc="upper left", fontsize=7)
        legend.set_zorder(5)
    if title:
        ax.text(0.5, 0.99, title, transform=ax.transAxes, ha="center", va="top", color="white",
                fontsize=9, zorder=5)  # fmt: skip
