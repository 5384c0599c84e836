"""Meshes from 2D profiles: ear-clipping triangulation and side-view extrusion (car bodies)."""

from __future__ import annotations

import numpy as np

from perception3d.sim.meshes import Mesh

__all__ = ["prism", "triangulate_polygon"]


def triangulate_polygon(points: np.ndarray) -> np.ndarray:
    """Ear-clipping triangulation of a simple polygon.

    Args:
        points: (K, 2) vertices of a simple polygon (not checked) in order, either orientation,
            K >= 3.

    Returns:
        (K - 2, 3) int64 vertex indices, counter-clockwise.

    Example:
        >>> triangulate_polygon(np.array([[0, 0], [2, 0], [2, 1], [1, 0.5], [0, 1]])).shape
        (3, 3)
    """
    pts = np.asarray(points, np.float64)
    x, y = pts[:, 0], pts[:, 1]
    area = 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)
    order = list(range(len(pts))) if area > 0 else list(range(len(pts)))[::-1]
    tris = []

    def cross(o, a, b):
        return (pts[a, 0] - pts[o, 0]) * (pts[b, 1] - pts[o, 1]) - (pts[a, 1] - pts[o, 1]) * (
            pts[b, 0] - pts[o, 0]
        )

    while len(order) > 3:
        for k in range(len(order)):
            i, j, m = order[k - 1], order[k], order[(k + 1) % len(order)]
            if cross(i, j, m) <= 1e-12:
                continue  # reflex or flat corner
            others = [p for p in order if p not in (i, j, m)]
            if any(
                cross(i, j, p) >= 0 and cross(j, m, p) >= 0 and cross(m, i, p) >= 0 for p in others
            ):
                continue  # another vertex inside the ear
            tris.append((i, j, m))
            order.pop(k)
            break
        else:
            raise ValueError("polygon is degenerate or not simple: no ear found")
    tris.append(tuple(order))
    return np.array(tris, np.int64)


def prism(
    profile_xz: np.ndarray,
    width: float,
    center_y: float = 0.0,
    part: str = "body",
    cap_part: str | None = None,
) -> Mesh:
    """Extrude a side-view polygon (x forward, z up) across ``width`` along y.

    Args:
        profile_xz: (K, 2) simple polygon in the x-z plane.
        width: extent along y, centred on ``center_y``.
        part: part of the band around the profile; ``cap_part`` (default ``part``) of the two
            flat sides.
    """
    prof = np.asarray(profile_xz, np.float64)
    k = len(prof)
    caps = triangulate_polygon(prof)
    left = np.stack([prof[:, 0], np.full(k, center_y + width / 2), prof[:, 1]], 1)
    right = left.copy()
    right[:, 1] = center_y - width / 2
    i = np.arange(k)
    j = (i + 1) % k
    band = np.concatenate([np.stack([i, j, k + j], 1), np.stack([i, k + j, k + i], 1)])
    # Counter-clockwise in (x, z) faces -y: the caps at +y are turned around.
    tris = np.concatenate([band, caps[:, ::-1], caps + k])
    names = (part,) if cap_part in (None, part) else (part, cap_part)
    parts = np.concatenate([np.zeros(len(band), np.int64), np.full(2 * len(caps), len(names) - 1)])
    return Mesh(np.concatenate([left, right]), tris, parts, names)
