"""The geometry of a 3D view shared by its renderers: the pinhole camera and the line sets
(box edges with the heading cross, range rings on the ground), LiDAR frame, metres."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from perception3d.geometry.boxes import BOX_EDGES, corners_lidar
from perception3d.viz.style import HEADING_EDGES, BoxSet

EDGES = np.concatenate([BOX_EDGES, HEADING_EDGES])  # 12 edges + the front-face cross
GROUND_Z_M = -1.73  # KITTI: the LiDAR is mounted about 1.73 m above the ground (REFERENCE.md)


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


def box_line_arrays(sets: Sequence[BoxSet]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices (V, 3), lines (L, 2) and line colours (L, 3) uint8 of all boxes."""
    verts, lines, colors, base = [], [], [], 0
    for s in sorted(sets, key=lambda s: s.kind == "pred"):
        if not len(s):
            continue
        corners = corners_lidar(s.boxes_lidar)  # (M, 8, 3)
        verts.append(corners.reshape(-1, 3))
        offsets = base + 8 * np.arange(len(s))[:, None, None]  # (M, 1, 1)
        lines.append((EDGES[None] + offsets).reshape(-1, 2))
        colors.append(np.repeat(s.colors_rgb, len(EDGES), axis=0))
        base += 8 * len(s)
    if not verts:
        return np.zeros((0, 3)), np.zeros((0, 2), np.int64), np.zeros((0, 3), np.uint8)
    return np.concatenate(verts), np.concatenate(lines), np.concatenate(colors)


def ring_line_arrays(rings_m: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Range rings on the ground (z = -1.73 m), 120 segments each: vertices (V, 3) and
    lines (L, 2)."""
    theta = np.linspace(0, 2 * np.pi, 121)[:-1]
    verts, lines = [], []
    for k, r in enumerate(rings_m):
        verts.append(np.stack([r * np.cos(theta), r * np.sin(theta), np.full(120, GROUND_Z_M)], 1))
        idx = 120 * k + np.arange(120)
        lines.append(np.stack([idx, np.roll(idx, -1)], 1))
    if not verts:
        return np.zeros((0, 3)), np.zeros((0, 2), np.int64)
    return np.concatenate(verts), np.concatenate(lines)
