"""Open3D offscreen rendering (Filament; on CPU-only machines Mesa's llvmpipe through Vulkan).

Without a Vulkan driver Open3D aborts the process instead of raising, so
:func:`open3d_offscreen_problem` tries it in a subprocess first. One renderer is kept for the
process (per picture size, one at a time).
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

from perception3d.viz.scene_geometry import ViewCamera, box_line_arrays, ring_line_arrays
from perception3d.viz.style import BACKGROUND_RGB, RING_RGB

_PROBE = (
    "import numpy as np, open3d as o3d\n"
    "r = o3d.visualization.rendering.OffscreenRenderer(16, 16)\n"
    "img = np.asarray(r.render_to_image())\n"
    "del r\n"
    "print('open3d-offscreen-ok', img.shape)\n"
)


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


def open3d_geometries(points, point_colors, sets, rings_m):
    """Open3D point cloud, box line set and ring line set.

    Args:
        points: (N, 3+) LiDAR frame; point_colors: (N, 3) uint8.
        sets: ``BoxSet`` s; rings_m: ring radii, metres.
    """
    import open3d as o3d

    vec3, vec2 = o3d.utility.Vector3dVector, o3d.utility.Vector2iVector
    cloud = o3d.geometry.PointCloud(vec3(np.asarray(points[:, :3], dtype=np.float64)))
    cloud.colors = vec3(point_colors / 255.0)
    verts, lines, colors = box_line_arrays(sets)
    boxes = o3d.geometry.LineSet(vec3(verts), vec2(lines))
    boxes.colors = vec3(colors / 255.0)
    ring_verts, ring_lines = ring_line_arrays(rings_m)
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


def render_open3d(
    points, point_colors, sets, camera: ViewCamera, rings_m, point_size
) -> np.ndarray:
    """Render with the process's offscreen renderer (call only after
    :func:`open3d_offscreen_problem` said None): (camera.height, camera.width, 3) uint8."""
    import open3d as o3d

    rendering = o3d.visualization.rendering
    cloud, boxes, rings = open3d_geometries(points, point_colors, sets, rings_m)
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
