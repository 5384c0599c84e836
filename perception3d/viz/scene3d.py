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
import subprocess
import sys
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from perception3d.geometry.boxes import BOX_EDGES, corners_lidar
from perception3d.viz.style import (
    BACKGROUND_RGB,
    HEADING_EDGES,
    HEIGHT_RANGE_M,
    RING_RGB,
    BoxSet,
    box_sets,
    colormap_rgb,
)

Backend = Literal["auto", "open3d", "matplotlib"]
_EDGES = np.concatenate([BOX_EDGES, HEADING_EDGES])  # 12 edges + the front-face cross
_GROUND_Z_M = -1.73  # KITTI: the LiDAR is mounted about 1.73 m above the ground (REFERENCE.md)
_PROBE = (
    "import numpy as np, open3d as o3d\n"
    "r = o3d.visualization.rendering.OffscreenRenderer(16, 16)\n"
    "img = np.asarray(r.render_to_image())\n"
    "del r\n"
    "print('open3d-offscreen-ok', img.shape)\n"
)


@dataclass(frozen=True)
class ViewCamera:
    """A pinhole camera looking at the scene, LiDAR frame (metres).

    Attributes:
        eye: (3,) camera position; target: (3,) the point looked at; up: (3,) world up.
        fov_deg: vertical field of view; width, height: pixels.

    Example:
        >>> cam = ViewCamera(eye=(0, 0, 0), target=(10, 0, 0), width=200, height=100)
        >>> uv, depth = cam.project(np.array([[10.0, 0.0, 0.0]]))
        >>> uv.tolist(), depth.tolist()
        ([[100.0, 50.0]], [10.0])
    """

    eye: tuple[float, float, float] = (-16.0, 0.0, 10.0)
    target: tuple[float, float, float] = (16.0, 0.0, -1.5)
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    fov_deg: float = 55.0
    width: int = 960
    height: int = 600

    @property
    def intrinsic(self) -> np.ndarray:
        """(3, 3) K, principal point at the image centre, square pixels."""
        f = 0.5 * self.height / np.tan(np.radians(self.fov_deg) / 2)
        return np.array([[f, 0, self.width / 2], [0, f, self.height / 2], [0, 0, 1.0]])

    @property
    def extrinsic(self) -> np.ndarray:
        """(4, 4) LiDAR -> camera transform (OpenCV axes: x right, y down, z forward)."""
        eye, target, up = (
            np.asarray(v, dtype=np.float64) for v in (self.eye, self.target, self.up)
        )
        forward = target - eye
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, up)
        if np.linalg.norm(right) < 1e-9:
            raise ValueError("ViewCamera: 'up' is parallel to the viewing direction")
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        rot = np.stack([right, down, forward])  # rows: camera axes in the LiDAR frame
        out = np.eye(4)
        out[:3, :3] = rot
        out[:3, 3] = -rot @ eye
        return out

    def project(self, points_lidar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3+) LiDAR points -> ``uv`` (N, 2) pixels (continuous, pixel centres at +0.5
        in Open3D's render), ``depth_m`` (N,) along the viewing axis."""
        xyz = np.asarray(points_lidar, dtype=np.float64)[:, :3]
        cam = xyz @ self.extrinsic[:3, :3].T + self.extrinsic[:3, 3]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = (cam @ self.intrinsic.T)[:, :2] / cam[:, 2:3]
        return uv, cam[:, 2]


@lru_cache(maxsize=1)
def open3d_offscreen_problem(timeout_s: float = 120.0) -> str | None:
    """Probe Open3D's offscreen renderer in a subprocess; ``None`` when it works, else why not.

    The answer is cached for the process (the environment, e.g. ``VK_ICD_FILENAMES``, is read
    when the probe runs).
    """
    try:
        import open3d  # noqa: F401
    except ImportError as exc:
        return f"open3d is not installed ({exc}); pip install 'perception3d[open3d]'"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=dict(os.environ),
        )
    except subprocess.TimeoutExpired:
        return f"the Open3D offscreen renderer did not answer within {timeout_s:.0f} s"
    if proc.returncode == 0 and "open3d-offscreen-ok" in proc.stdout:
        return None
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return (
        f"the Open3D offscreen renderer failed (exit code {proc.returncode}: {tail}); it needs a "
        "Vulkan driver: install the Debian packages libvulkan1 and mesa-vulkan-drivers"
    )


def _colors(points: np.ndarray, colors_rgb: np.ndarray | None) -> np.ndarray:
    if colors_rgb is not None:
        return np.asarray(colors_rgb, dtype=np.uint8).reshape(-1, 3)
    return colormap_rgb(points[:, 2], *HEIGHT_RANGE_M, "viridis")


def _line_arrays(sets: Sequence[BoxSet]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices (V, 3), lines (L, 2) and line colours (L, 3) uint8 of all boxes."""
    verts, lines, colors, base = [], [], [], 0
    for s in sorted(sets, key=lambda s: s.kind == "pred"):
        if not len(s):
            continue
        corners = corners_lidar(s.boxes_lidar)  # (M, 8, 3)
        verts.append(corners.reshape(-1, 3))
        offsets = base + 8 * np.arange(len(s))[:, None, None]  # (M, 1, 1)
        lines.append((_EDGES[None] + offsets).reshape(-1, 2))
        colors.append(np.repeat(s.colors_rgb, len(_EDGES), axis=0))
        base += 8 * len(s)
    if not verts:
        return np.zeros((0, 3)), np.zeros((0, 2), np.int64), np.zeros((0, 3), np.uint8)
    return np.concatenate(verts), np.concatenate(lines), np.concatenate(colors)


def _ring_arrays(rings_m: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    theta = np.linspace(0, 2 * np.pi, 121)[:-1]
    verts, lines = [], []
    for k, r in enumerate(rings_m):
        verts.append(np.stack([r * np.cos(theta), r * np.sin(theta), np.full(120, _GROUND_Z_M)], 1))
        idx = 120 * k + np.arange(120)
        lines.append(np.stack([idx, np.roll(idx, -1)], 1))
    if not verts:
        return np.zeros((0, 3)), np.zeros((0, 2), np.int64)
    return np.concatenate(verts), np.concatenate(lines)


def _open3d_geometries(points, point_colors, sets, rings_m):
    import open3d as o3d

    vec3, vec2 = o3d.utility.Vector3dVector, o3d.utility.Vector2iVector
    cloud = o3d.geometry.PointCloud(vec3(np.asarray(points[:, :3], dtype=np.float64)))
    cloud.colors = vec3(point_colors / 255.0)
    verts, lines, colors = _line_arrays(sets)
    boxes = o3d.geometry.LineSet(vec3(verts), vec2(lines))
    boxes.colors = vec3(colors / 255.0)
    ring_verts, ring_lines = _ring_arrays(rings_m)
    rings = o3d.geometry.LineSet(vec3(ring_verts), vec2(ring_lines))
    rings.colors = vec3(np.tile(np.array(RING_RGB) / 255.0, (len(ring_lines), 1)))
    return cloud, boxes, rings


@contextmanager
def _native_stdout_silenced():
    """Send file descriptor 1 to /dev/null: Filament prints its engine banner there from C++."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


_RENDERER: dict[tuple[int, int], object] = {}  # at most one: (width, height) -> renderer


def _offscreen_renderer(width: int, height: int):
    """The process's Open3D renderer for this picture size, kept between renders: creating one
    costs about 0.25 s and its first frame twice a later one (measured here, llvmpipe). Only
    one exists at a time: destroying a renderer while another lives aborts in Filament
    (Open3D 0.20), so the old one goes before a new size gets its own."""
    import open3d as o3d

    if (width, height) in _RENDERER:
        return _RENDERER[(width, height)]
    _RENDERER.clear()  # the old renderer (no geometry left in it) is destroyed here
    o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)
    with _native_stdout_silenced():
        renderer = o3d.visualization.rendering.OffscreenRenderer(width, height)
    renderer.scene.view.set_post_processing(False)  # exact colours, no tone mapping
    # The background colour is taken as sRGB and linearized once more on output: pass the
    # value whose linearization is the wanted colour.
    bg = (np.array(BACKGROUND_RGB) / 255.0) ** (1 / 2.2)
    renderer.scene.set_background([*bg, 1.0])
    _RENDERER[(width, height)] = renderer
    return renderer


def _render_open3d(
    points, point_colors, sets, camera: ViewCamera, rings_m, point_size
) -> np.ndarray:
    import open3d as o3d

    rendering = o3d.visualization.rendering
    cloud, boxes, rings = _open3d_geometries(points, point_colors, sets, rings_m)
    renderer = _offscreen_renderer(camera.width, camera.height)
    try:
        point_mat = rendering.MaterialRecord()
        point_mat.shader, point_mat.point_size = "defaultUnlit", float(point_size)
        line_mat = rendering.MaterialRecord()
        line_mat.shader, line_mat.line_width = "unlitLine", 3.0
        ring_mat = rendering.MaterialRecord()
        ring_mat.shader, ring_mat.line_width = "unlitLine", 1.0
        if len(points):
            renderer.scene.add_geometry("points", cloud, point_mat)
        if len(rings.lines):
            renderer.scene.add_geometry("rings", rings, ring_mat)
        if len(boxes.lines):
            renderer.scene.add_geometry("boxes", boxes, line_mat)
        renderer.setup_camera(camera.intrinsic, camera.extrinsic, camera.width, camera.height)
        with _native_stdout_silenced():
            rgb = np.asarray(renderer.render_to_image())[..., :3].copy()
    finally:
        # Filament aborts at teardown if a material is still in use: never leave geometry in.
        renderer.scene.clear_geometry()
    return rgb


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
            for a, b in _EDGES:
                seg = corners[k, [a, b]]
                color = s.colors_rgb[k] / 255.0
                ax.plot(*seg.T, color=color, linewidth=s.line_width, antialiased=False)
    ring_verts, ring_lines = _ring_arrays(rings_m)
    for a, b in ring_lines:
        if np.all((ring_verts[[a, b]] >= lo) & (ring_verts[[a, b]] <= hi)):
            ax.plot(*ring_verts[[a, b]].T, color=np.array(RING_RGB) / 255.0, linewidth=0.6)
    fig.text(0.01, 0.01, note, color="white", fontsize=8)
    canvas.draw()
    return np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[..., :3])


def render_scene3d(
    points: np.ndarray,
    gt_boxes_lidar: np.ndarray | None = None,
    pred_boxes_lidar: np.ndarray | None = None,
    pred_scores: Sequence[float] | None = None,
    *,
    gt_status: Sequence[str] | None = None,
    pred_status: Sequence[str] | None = None,
    camera: ViewCamera | None = None,
    point_colors_rgb: np.ndarray | None = None,
    rings_m: Sequence[float] = (10, 20, 30, 40, 50),
    point_size: float = 2.0,
    backend: Backend = "auto",
) -> np.ndarray:
    """Render the sweep and boxes in 3D to an image.

    Args:
        points: (N, 3+) LiDAR frame, metres; coloured by height unless ``point_colors_rgb``.
        gt_boxes_lidar, pred_boxes_lidar, pred_scores, gt_status, pred_status: as in
            :func:`perception3d.viz.bev.render_bev` (no text labels in 3D).
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
    sets = box_sets(
        gt_boxes_lidar, pred_boxes_lidar, pred_scores, gt_status=gt_status, pred_status=pred_status
    )
    colors = _colors(pts, point_colors_rgb)
    if backend not in ("auto", "open3d", "matplotlib"):
        raise ValueError(f"backend must be 'auto', 'open3d' or 'matplotlib', got {backend!r}")
    if backend in ("auto", "open3d"):
        problem = open3d_offscreen_problem()
        if problem is None:
            return _render_open3d(pts, colors, sets, camera, rings_m, point_size)
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
    gt_boxes_lidar: np.ndarray | None = None,
    pred_boxes_lidar: np.ndarray | None = None,
    *,
    gt_status: Sequence[str] | None = None,
    pred_status: Sequence[str] | None = None,
    window_name: str = "perception3d",
) -> None:
    """Open an interactive Open3D window (blocks until closed).

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
    sets = box_sets(gt_boxes_lidar, pred_boxes_lidar, gt_status=gt_status, pred_status=pred_status)
    cloud, boxes, rings = _open3d_geometries(pts, _colors(pts, None), sets, (10, 20, 30, 40, 50))
    o3d.visualization.draw_geometries([cloud, boxes, rings], window_name=window_name)
