"""3D view: Open3D offscreen render to an image, an interactive window, or a matplotlib fallback.

Open3D's ``OffscreenRenderer`` runs headless only with a Vulkan driver (Debian: ``libvulkan1``
and ``mesa-vulkan-drivers``, software rendering through llvmpipe); without one the process
aborts inside Filament rather than raising. So the first 3D render of a process probes the
renderer in a subprocess (:func:`open3d_offscreen_problem`) and, when that fails, draws the view
with matplotlib's 3D axes instead, with a warning saying why.

The Open3D render uses the pinhole :class:`ViewCamera`, with post-processing (tone mapping,
anti-aliasing) off, so :meth:`ViewCamera.project` says exactly where a LiDAR point lands and
colours come out unchanged.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np

from perception3d.geometry.boxes import corners_lidar
from perception3d.viz.open3d_offscreen import (
    open3d_geometries,
    open3d_offscreen_problem,
    render_open3d,
)
from perception3d.viz.scene_geometry import EDGES, ViewCamera, ring_line_arrays
from perception3d.viz.style import (
    BACKGROUND_RGB,
    HEIGHT_RANGE_M,
    RING_RGB,
    ViewBoxes,
    box_sets,
    colormap_rgb,
)

__all__ = [
    "ViewCamera",
    "display_available",
    "open3d_offscreen_problem",
    "render_scene3d",
    "show_scene3d",
]

Backend = Literal["auto", "open3d", "matplotlib"]


def _colors(points: np.ndarray, colors_rgb: np.ndarray | None) -> np.ndarray:
    if colors_rgb is not None:
        return np.asarray(colors_rgb, dtype=np.uint8).reshape(-1, 3)
    return colormap_rgb(points[:, 2], *HEIGHT_RANGE_M, "viridis")


def _render_matplotlib(
    points, point_colors, sets, camera: ViewCamera, rings_m, point_size, note: str
) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    fig = Figure(figsize=(camera.width / dpi, camera.height / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    fig.patch.set_facecolor(np.array(BACKGROUND_RGB) / 255.0)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0), projection="3d")
    ax.set_facecolor(np.array(BACKGROUND_RGB) / 255.0)
    ax.set_axis_off()
    eye, target = np.asarray(camera.eye, float), np.asarray(camera.target, float)
    back = eye - target
    ax.view_init(
        elev=np.degrees(np.arctan2(back[2], np.hypot(back[0], back[1]))),
        azim=np.degrees(np.arctan2(back[1], back[0])),
    )
    ax.set_proj_type("persp", focal_length=1.0 / np.tan(np.radians(camera.fov_deg) / 2))
    half = 0.8 * np.linalg.norm(back)  # the ground square around the target that is shown
    lo, hi = target - np.array([half, half, 3.0]), target + np.array([half, half, 5.0])
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_zlim(lo[2], hi[2])
    ax.set_box_aspect(hi - lo, zoom=1.9)  # metric proportions
    inside = np.all((points[:, :3] >= lo) & (points[:, :3] <= hi), axis=1)
    ax.scatter(
        *points[inside, :3].T, c=point_colors[inside] / 255.0, s=point_size / 2, linewidths=0
    )
    for s in sets:
        corners = corners_lidar(s.boxes_lidar)
        for k in range(len(s)):
            if not np.all((corners[k] >= lo) & (corners[k] <= hi)):
                continue  # mplot3d does not clip to the axes box
            for a, b in EDGES:
                seg = corners[k, [a, b]]
                color = s.colors_rgb[k] / 255.0
                ax.plot(*seg.T, color=color, linewidth=s.line_width, antialiased=False)
    ring_verts, ring_lines = ring_line_arrays(rings_m)
    for a, b in ring_lines:
        if np.all((ring_verts[[a, b]] >= lo) & (ring_verts[[a, b]] <= hi)):
            ax.plot(*ring_verts[[a, b]].T, color=np.array(RING_RGB) / 255.0, linewidth=0.6)
    fig.text(0.01, 0.01, note, color="white", fontsize=8)
    canvas.draw()
    return np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[..., :3])


def render_scene3d(
    points: np.ndarray,
    boxes: ViewBoxes | None = None,
    *,
    camera: ViewCamera | None = None,
    point_colors_rgb: np.ndarray | None = None,
    rings_m: Sequence[float] = (10, 20, 30, 40, 50),
    point_size: float = 2.0,
    backend: Backend = "auto",
) -> np.ndarray:
    """Render the sweep and boxes in 3D to an image.

    Args:
        points: (N, 3+) LiDAR frame, metres; coloured by height unless ``point_colors_rgb``.
        boxes: as in :func:`perception3d.viz.bev.render_bev` (no text labels in 3D).
        camera: the view (default :class:`ViewCamera`: behind and above the car, looking
            forward).
        rings_m: range rings drawn on the ground (z = -1.73 m).
        point_size: pixels.
        backend: "open3d" (offscreen), "matplotlib", or "auto": Open3D when its probe
            succeeds, else matplotlib with a ``RuntimeWarning`` saying why.

    Returns:
        (camera.height, camera.width, 3) uint8 RGB.
    """
    pts = np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points must be (N, 3+), got {pts.shape}")
    camera = camera or ViewCamera()
    sets = box_sets(boxes)
    colors = _colors(pts, point_colors_rgb)
    if backend not in ("auto", "open3d", "matplotlib"):
        raise ValueError(f"backend must be 'auto', 'open3d' or 'matplotlib', got {backend!r}")
    if backend in ("auto", "open3d"):
        problem = open3d_offscreen_problem()
        if problem is None:
            return render_open3d(pts, colors, sets, camera, rings_m, point_size)
        if backend == "open3d":
            raise RuntimeError(f"3D view: {problem}")
        warnings.warn(f"3D view drawn with matplotlib: {problem}", RuntimeWarning, stacklevel=2)
    return _render_matplotlib(
        pts, colors, sets, camera, rings_m, point_size, "matplotlib 3D view (Open3D unavailable)"
    )


def display_available() -> bool:
    """True when a window can be opened (X11 ``DISPLAY`` or ``WAYLAND_DISPLAY`` set)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def show_scene3d(
    points: np.ndarray,
    boxes: ViewBoxes | None = None,
    *,
    window_name: str = "perception3d",
) -> None:
    """Open an interactive Open3D window (blocks until closed) of ``points`` and ``boxes`` (as
    in :func:`render_scene3d`).

    Raises:
        RuntimeError: no display (use :func:`render_scene3d` on a headless machine).
    """
    if not display_available():
        raise RuntimeError(
            "no display (DISPLAY/WAYLAND_DISPLAY unset): cannot open a 3D window; "
            "render_scene3d() writes the view to an image instead"
        )
    import open3d as o3d

    pts = np.asarray(points)
    sets = box_sets(boxes)
    cloud, boxes, rings = open3d_geometries(pts, _colors(pts, None), sets, (10, 20, 30, 40, 50))
    o3d.visualization.draw_geometries([cloud, boxes, rings], window_name=window_name)
