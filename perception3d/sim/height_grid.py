"""A conservative ray-occlusion pre-test: the highest triangle over each cell of the road plane.

A ray segment can only be blocked by a triangle whose bounding box meets the segment's. So a
segment lying above the top of every triangle in the road-frame x-y cells under it is certainly
free, and ray casting can skip it: the camera's sky-occlusion rays from open road and sidewalk
(most of them) go straight up with nothing above. The test only ever answers "certainly free"
or "ask the ray caster", so the casting results, and every byte built on them, stay the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from perception3d.sim.world import Transform

__all__ = ["HeightGrid", "build_height_grid"]

CELL_M = 1.0  # road-frame cell size
HALF_WIDTH_M = 120.0  # the grid spans this far around the sensor (camera pixels: up to 80 m)
# Margins for float32 rounding of the scene's coordinates (about 1e-5 m at 100 m): cells are
# widened by PAD_XY_M, and a segment must clear the triangles by PAD_Z_M (secondary rays start
# at least 1 mm off their surface, `shading.offset_rays`).
PAD_XY_M = 1e-3
PAD_Z_M = 1e-4


@dataclass(frozen=True, eq=False)
class HeightGrid:
    """Highest triangle point over each x-y cell of the road frame (z up).

    Attributes:
        lidar_to_road: the transform of ray coordinates (LiDAR frame) into the road frame.
        origin_xy_m: (2,) float64 road-frame x, y of cell (0, 0)'s lower corner.
        top_m: (NX, NY) float64 highest z of the triangles whose bounding box (widened by
            ``PAD_XY_M``) meets the cell, -inf where none does; dims are [x, y]. Segments
            reaching beyond the grid are never called free.
    """

    lidar_to_road: Transform
    origin_xy_m: np.ndarray
    top_m: np.ndarray

    def free_segments(self, rays: np.ndarray, length: float) -> np.ndarray:
        """(N,) bool: True where the segment from 0 to ``length`` of each of the (N, 6)
        float32 LiDAR-frame rays [origin, direction] certainly meets no triangle (False: it
        may, or it leaves the grid; cast it)."""
        rot = np.ascontiguousarray(self.lidar_to_road.rotation, np.float64)
        trans = np.ascontiguousarray(self.lidar_to_road.translation, np.float64)
        return _free_segments(
            rays, float(length), rot, trans, self.origin_xy_m, CELL_M, self.top_m, PAD_XY_M,
            PAD_Z_M,
        )  # fmt: skip


def build_height_grid(
    vertices_lidar: np.ndarray, triangles: np.ndarray, lidar_to_road: Transform
) -> HeightGrid:
    """The :class:`HeightGrid` of a triangle soup, ``HALF_WIDTH_M`` around the sensor.

    Args:
        vertices_lidar: (V, 3) float32 vertices, LiDAR frame, metres.
        triangles: (T, 3) integer vertex indices.
        lidar_to_road: LiDAR frame -> road frame (z up).
    """
    v_road = lidar_to_road.apply(vertices_lidar.astype(np.float64))  # (V, 3)
    lo = lidar_to_road.translation[:2] - HALF_WIDTH_M  # the sensor is at the LiDAR origin
    cells = round(2 * HALF_WIDTH_M / CELL_M)
    shape = np.array([cells, cells], np.int64)  # (NX, NY)
    top = _rasterize_tops(v_road, np.asarray(triangles, np.int64), lo, CELL_M, PAD_XY_M, shape)
    return HeightGrid(lidar_to_road, lo, top)


@numba.njit(cache=True)
def _rasterize_tops(v_road, triangles, origin_xy, cell, pad, shape):
    """(NX, NY) highest vertex z of the triangles whose widened x-y box meets each cell."""
    top = np.full((shape[0], shape[1]), -np.inf)
    for tri in range(triangles.shape[0]):
        a, b, c = triangles[tri, 0], triangles[tri, 1], triangles[tri, 2]
        z = max(v_road[a, 2], v_road[b, 2], v_road[c, 2])
        i0, i1 = _cell_span(min(v_road[a, 0], v_road[b, 0], v_road[c, 0]) - pad,
                            max(v_road[a, 0], v_road[b, 0], v_road[c, 0]) + pad,
                            origin_xy[0], cell, shape[0])  # fmt: skip
        j0, j1 = _cell_span(min(v_road[a, 1], v_road[b, 1], v_road[c, 1]) - pad,
                            max(v_road[a, 1], v_road[b, 1], v_road[c, 1]) + pad,
                            origin_xy[1], cell, shape[1])  # fmt: skip
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                top[i, j] = max(top[i, j], z)
    return top


@numba.njit(cache=True)
def _cell_span(lo, hi, origin, cell, count):
    """First and last cell index of the interval [lo, hi], clamped to [0, count - 1] (an empty
    range, first > last, when the interval misses the grid)."""
    first = max(int(np.floor((lo - origin) / cell)), 0)
    last = min(int(np.floor((hi - origin) / cell)), count - 1)
    return first, last


@numba.njit(cache=True)
def _inside_span(lo, hi, origin, cell, count):
    """First and last cell index of the interval [lo, hi], or (0, -1) unless it lies inside
    the grid."""
    first = int(np.floor((lo - origin) / cell))
    last = int(np.floor((hi - origin) / cell))
    if first < 0 or last > count - 1:
        return 0, -1
    return first, last


@numba.njit(cache=True)
def _free_segments(rays, length, rot, trans, origin_xy, cell, top, pad_xy, pad_z):
    """True per ray whose segment [0, length] lies, in the road frame, above the top of every
    cell its widened x-y box meets."""
    out = np.zeros(rays.shape[0], np.bool_)
    start, end = np.empty(3), np.empty(3)
    for r in range(rays.shape[0]):
        for k in range(3):
            o = rot[k, 0] * rays[r, 0] + rot[k, 1] * rays[r, 1] + rot[k, 2] * rays[r, 2]
            d = rot[k, 0] * rays[r, 3] + rot[k, 1] * rays[r, 4] + rot[k, 2] * rays[r, 5]
            start[k] = o + trans[k]
            end[k] = start[k] + length * d
        floor_z = min(start[2], end[2]) - pad_z  # the segment's lowest point, less the margin
        i0, i1 = _inside_span(min(start[0], end[0]) - pad_xy, max(start[0], end[0]) + pad_xy,
                              origin_xy[0], cell, top.shape[0])  # fmt: skip
        j0, j1 = _inside_span(min(start[1], end[1]) - pad_xy, max(start[1], end[1]) + pad_xy,
                              origin_xy[1], cell, top.shape[1])  # fmt: skip
        free = i0 <= i1 and j0 <= j1
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                if top[i, j] >= floor_z:
                    free = False
        out[r] = free
    return out
