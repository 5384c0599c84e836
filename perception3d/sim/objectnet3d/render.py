"""A small z-buffer rasterizer for CAD meshes under ObjectNet3D viewpoint cameras.

Each object is projected with its own viewpoint camera (``geometry.viewpoint``): all share the
focal length, each has its own principal point, which is how the annotations model a scene.
Pixel (row r, column c) has its centre at the 1-based coordinates (c + 1, r + 1); a triangle
covers the pixels whose centres fall inside it; depth is interpolated perspective-correctly.
Faces are flat shaded (Lambert, two-sided, plus ambient).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from perception3d.data.objectnet3d import Viewpoint
from perception3d.data.off import TriangleMesh
from perception3d.geometry.viewpoint import project_to_image

LIGHT_DIR_CAM = np.array([-0.4, -0.6, -0.7]) / np.linalg.norm([-0.4, -0.6, -0.7])  # to light
AMBIENT = 0.35


@numba.njit(cache=True)
def _raster(uv, depth, faces, face_rgb, object_id, zbuf, rgb, ids):  # pragma: no cover - numba
    height, width = zbuf.shape
    for f in range(faces.shape[0]):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        if depth[a] <= 1e-6 or depth[b] <= 1e-6 or depth[c] <= 1e-6:
            continue
        ax, ay, bx, by, cx, cy = uv[a, 0], uv[a, 1], uv[b, 0], uv[b, 1], uv[c, 0], uv[c, 1]
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if abs(area) < 1e-12:
            continue
        # pixel centres at 1-based coordinates: column index = x - 1
        c0 = max(0, int(np.ceil(min(ax, bx, cx) - 1.0)))
        c1 = min(width - 1, int(np.floor(max(ax, bx, cx) - 1.0)))
        r0 = max(0, int(np.ceil(min(ay, by, cy) - 1.0)))
        r1 = min(height - 1, int(np.floor(max(ay, by, cy) - 1.0)))
        for r in range(r0, r1 + 1):
            y = r + 1.0
            for col in range(c0, c1 + 1):
                x = col + 1.0
                w0 = ((bx - x) * (cy - y) - (by - y) * (cx - x)) / area
                w1 = ((cx - x) * (ay - y) - (cy - y) * (ax - x)) / area
                w2 = 1.0 - w0 - w1
                if w0 < 0.0 or w1 < 0.0 or w2 < 0.0:
                    continue
                z = 1.0 / (w0 / depth[a] + w1 / depth[b] + w2 / depth[c])
                if z < zbuf[r, col]:
                    zbuf[r, col] = z
                    ids[r, col] = object_id
                    rgb[r, col, 0] = face_rgb[f, 0]
                    rgb[r, col, 1] = face_rgb[f, 1]
                    rgb[r, col, 2] = face_rgb[f, 2]


@dataclass(frozen=True)
class Placed:
    """A CAD model placed in the image by a viewpoint, with its base colour (3,) in [0, 1]."""

    mesh: TriangleMesh
    viewpoint: Viewpoint
    color_linear: np.ndarray


def _shaded_faces(placed: Placed) -> np.ndarray:
    tri = placed.mesh.vertices[placed.mesh.faces]  # (F, 3 corners, 3 xyz)
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    lambert = np.abs((normals @ placed.viewpoint.rotation.T) @ LIGHT_DIR_CAM)  # two-sided
    return np.clip(placed.color_linear[None] * (AMBIENT + (1 - AMBIENT) * lambert[:, None]), 0, 1)


def render(
    objects: list[Placed], height: int, width: int, background_linear: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Render ``objects`` over a background.

    Args:
        objects: the placed meshes; object k gets id k + 1.
        height, width: image size, pixels.
        background_linear: (H, W, 3) float in [0, 1].

    Returns:
        ``(rgb_linear, ids)``: (H, W, 3) float64 image and (H, W) int32 object ids (0 =
        background).
    """
    zbuf = np.full((height, width), np.inf)
    rgb = np.array(background_linear, dtype=np.float64, copy=True)
    ids = np.zeros((height, width), dtype=np.int32)
    for k, placed in enumerate(objects):
        vp = placed.viewpoint
        uv, depth = project_to_image(
            placed.mesh.vertices, *vp.angles_rad, vp.distance, vp.focal, vp.viewport, vp.px, vp.py
        )
        _raster(uv, depth, placed.mesh.faces, _shaded_faces(placed), k + 1, zbuf, rgb, ids)
    return rgb, ids


def coverage(placed: Placed, height: int, width: int) -> np.ndarray:
    """(H, W) bool: pixels the object covers when rendered alone (its amodal mask in view)."""
    _, ids = render([placed], height, width, np.zeros((height, width, 3)))
    return ids == 1
