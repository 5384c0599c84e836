"""The scene as one Open3D ray-casting scene, with per-triangle material, class and instance,
and the surface properties at ray hits (procedural road paint, windows, varied greens).

Both sensors cast rays against the same :class:`SceneGeometry`, so the LiDAR and the camera see
the same world. Ray casting uses one thread per process (``nthreads=1``): the generator runs
frames in parallel processes instead, and a fixed thread count keeps the BVH and therefore every
hit identical whatever the worker count.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numba
import numpy as np

from perception3d.sim import materials as mat
from perception3d.sim.height_grid import HeightGrid, build_height_grid
from perception3d.sim.meshes import cross3
from perception3d.sim.semantics import SEMANTIC_ID
from perception3d.sim.world import RoadPaint, Scene, Transform

__all__ = ["Hits", "SceneGeometry", "SurfaceSample", "build_geometry"]

RAYCAST_THREADS = 1


@dataclass(frozen=True)
class Hits:
    """First hits of a batch of rays.

    Attributes:
        t: (N,) float32 ray parameter of the hit (distance in units of the ray direction's
            length), inf where nothing was hit.
        triangle: (N,) int64 triangle index into the scene's arrays, -1 for no hit.
        normal: (N, 3) float32 unit face normal, turned to face the ray origin.
        uv: (N, 2) float32 barycentric coordinates of the hit (weights of the triangle's
            second and third vertex).
    """

    t: np.ndarray
    triangle: np.ndarray
    normal: np.ndarray
    uv: np.ndarray

    @property
    def hit(self) -> np.ndarray:
        return self.triangle >= 0


@dataclass(frozen=True)
class SurfaceSample:
    """Surface properties at hit points (the ``MATERIAL_COLUMNS`` after patterns). The optical
    ones (albedo, specular, shininess, emission) or the LiDAR ones (reflectivity, transmission,
    unread) are None when ``SceneGeometry.surface`` was not asked for them."""

    albedo: np.ndarray | None  # (N, 3) linear RGB
    reflectivity: np.ndarray | None  # (N,) LiDAR reflectance at normal incidence
    specular: np.ndarray | None  # (N,)
    shininess: np.ndarray | None  # (N,)
    emission: np.ndarray | None  # (N, 3), also None when nothing in the scene glows
    semantic: np.ndarray  # (N,) uint8 SEMANTIC_CLASSES id
    instance: np.ndarray  # (N,) int32: 0 static, k + 1 for scene object k
    transmission: np.ndarray | None  # (N,) probability a laser pulse passes (glass)
    unread: np.ndarray | None  # (N,) probability a detected return reads intensity 0


class SceneGeometry:
    """A :class:`Scene`'s triangles in an Open3D ``RaycastingScene`` plus lookup tables.

    Attributes:
        materials: (M, 14) float32 rows in the ``MATERIAL_COLUMNS`` layout.
        tri_material, tri_semantic, tri_instance: (T,) per-triangle lookups.
        tri_vertex_normals: (T, 3, 3) shading normals at each triangle's corners: averaged
            over the faces around each vertex for objects (rounded car bodies give glints where
            a flat facet would not), the face normal for scenery.
        paint, lidar_to_road: road markings and the transform to evaluate them.
        night: lit windows at night.
        vertices, triangles: (V, 3) float32 LiDAR-frame vertices and (T, 3) uint32 indices.
    """

    def __init__(self, scene: Scene) -> None:
        import open3d as o3d

        materials: dict[mat.Material, int] = {}
        verts, tris, tri_mat, tri_sem, tri_inst, tri_vn = [], [], [], [], [], []
        offset = 0
        surfaces = [(s, 0) for s in scene.surfaces]
        surfaces += [(o.surface, k + 1) for k, o in enumerate(scene.objects)]
        for surface, instance in surfaces:
            m = surface.mesh
            lut_mat = np.array(
                [materials.setdefault(surface.materials[p], len(materials)) for p in m.part_names]
            )
            lut_sem = np.array([surface.semantics[p] for p in m.part_names])
            verts.append(m.vertices)
            tris.append(m.triangles + offset)
            tri_mat.append(lut_mat[m.parts])
            tri_sem.append(lut_sem[m.parts])
            tri_inst.append(np.full(len(m.triangles), instance))
            tri_vn.append(_vertex_normals(m, smooth=instance > 0))
            offset += len(m.vertices)
        self.materials = mat.material_rows(list(materials))
        rows = self.materials
        self._albedo, self._refl = np.ascontiguousarray(rows[:, 0:3]), rows[:, 3].copy()
        self._spec, self._shin = rows[:, 4].copy(), rows[:, 5].copy()
        self._emission = np.ascontiguousarray(rows[:, 6:9])
        self._glows = bool(self._emission.any())
        self._pattern = rows[:, 9].astype(np.int64)
        self._p1, self._p2 = rows[:, 10].copy(), rows[:, 11].copy()
        self._transmission = rows[:, 12].copy()
        self._unread = rows[:, 13].copy()
        self.tri_material = np.concatenate(tri_mat).astype(np.int32)
        self._tri_material = self.tri_material.astype(np.intp)  # np.take's index type
        self.tri_semantic = np.concatenate(tri_sem).astype(np.uint8)
        self.tri_instance = np.concatenate(tri_inst).astype(np.int32)
        self.tri_vertex_normals = np.concatenate(tri_vn).astype(np.float32)
        self.num_triangles = len(self.tri_material)
        self.paint: RoadPaint = scene.paint
        self.lidar_to_road: Transform = scene.road_to_lidar.inverse()
        self.night = scene.night
        self._o3d = o3d
        self.vertices = np.concatenate(verts).astype(np.float32)
        self.triangles = np.concatenate(tris).astype(np.uint32)
        self._scene = o3d.t.geometry.RaycastingScene(nthreads=RAYCAST_THREADS)
        self._scene.add_triangles(o3d.core.Tensor(self.vertices), o3d.core.Tensor(self.triangles))

    @cached_property
    def height_grid(self) -> HeightGrid:
        """The triangles' :class:`HeightGrid` (built on first use)."""
        return build_height_grid(self.vertices, self.triangles, self.lidar_to_road)

    def cast(self, rays: np.ndarray) -> Hits:
        """First hits of (N, 6) float32 rays [origin, direction] (LiDAR frame)."""
        out = self._scene.cast_rays(self._o3d.core.Tensor(rays), nthreads=RAYCAST_THREADS)
        t, normal = out["t_hit"].numpy(), out["primitive_normals"].numpy()
        tri = _face_rays(t, out["primitive_ids"].numpy(), normal, rays)
        return Hits(t, tri, normal, out["primitive_uvs"].numpy())

    def shading_normal(
        self, triangle: np.ndarray, uv: np.ndarray, facing: np.ndarray
    ) -> np.ndarray:
        """(N, 3) interpolated unit shading normals at hits, on the side of ``facing``."""
        vn = np.take(self.tri_vertex_normals, triangle, axis=0)  # (N, 3 corners, 3)
        w0 = 1.0 - uv[:, 0] - uv[:, 1]
        n = vn[:, 0] * w0[:, None] + vn[:, 1] * uv[:, 0:1] + vn[:, 2] * uv[:, 1:2]
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-9)
        flip = np.einsum("ij,ij->i", n, facing) < 0
        np.negative(n, out=n, where=flip[:, None])
        return n

    def occluded(self, rays: np.ndarray, tnear: float = 0.0, tfar: float = np.inf) -> np.ndarray:
        """(N,) bool: does each ray hit anything between tnear and tfar?"""
        out = self._scene.test_occlusions(
            self._o3d.core.Tensor(rays), tnear=tnear, tfar=tfar, nthreads=RAYCAST_THREADS
        )
        return out.numpy().astype(bool)

    def surface(
        self,
        triangle: np.ndarray,
        points: np.ndarray,
        normal: np.ndarray,
        optical: bool = True,
        lidar: bool = True,
    ) -> SurfaceSample:
        """Surface properties at hits on ``triangle`` (N,) >= 0, at LiDAR-frame ``points``
        (float32 or float64; read as float32 where a pattern needs them).

        ``optical`` (albedo, specular, shininess, emission) and ``lidar`` (reflectivity,
        transmission, unread) say which properties to look up; the others are None.
        """
        # np.take: several times faster than fancy indexing
        mi = np.take(self._tri_material, triangle)  # (N,) material of each hit
        albedo = spec = shin = emission = refl = transmission = unread = None
        if optical:
            albedo = np.take(self._albedo, mi, axis=0)
            spec, shin = np.take(self._spec, mi), np.take(self._shin, mi)
            if self.night or self._glows:
                emission = np.take(self._emission, mi, axis=0)
        if lidar:
            refl, transmission = np.take(self._refl, mi), np.take(self._transmission, mi)
            unread = np.take(self._unread, mi)
        semantic = np.take(self.tri_semantic, triangle)
        pattern = np.take(self._pattern, mi)
        sel = np.flatnonzero(pattern == mat.PATTERN_ROAD)
        if len(sel):
            x, y = _road_columns(self.lidar_to_road, np.take(points, sel, axis=0), 2)
            painted = sel[_paint_mask(self.paint, x, y)]
            semantic[painted] = SEMANTIC_ID["lane_marking"]
            if optical:
                albedo[painted], spec[painted] = mat.LANE_PAINT.albedo_rgb, 0.0
            if lidar:
                refl[painted] = mat.LANE_PAINT.lidar_reflectivity
        sel = np.flatnonzero(pattern == mat.PATTERN_FACADE)
        if len(sel):
            road = _road_columns(self.lidar_to_road, np.take(points, sel, axis=0), 3)
            p1, p2 = self._p1[mi[sel]], self._p2[mi[sel]]
            win, lit = _windows(road, np.take(normal, sel, axis=0), p1, p2)
            glass, sel_win = mat.GLASS, sel[win]
            if optical:
                albedo[sel_win], spec[sel_win], shin[sel_win] = (
                    glass.albedo_rgb, glass.specular, glass.shininess,
                )  # fmt: skip
                if emission is not None and self.night:
                    emission[sel[win & lit]] = (0.0015, 0.0011, 0.0007)  # ~50 cd/m^2
            if lidar:
                refl[sel_win] = glass.lidar_reflectivity
                transmission[sel_win] = glass.lidar_transmission
        sel = np.flatnonzero(pattern == mat.PATTERN_VARIED) if optical else ()
        if len(sel):
            road = _road_columns(self.lidar_to_road, np.take(points, sel, axis=0), 3)
            varied = np.take(albedo, sel, axis=0)
            varied *= _cell_noise(road, self._p1[mi[sel]])[:, None]
            albedo[sel] = varied
        return SurfaceSample(
            albedo, refl, spec, shin, emission, semantic, np.take(self.tri_instance, triangle),
            transmission, unread,
        )  # fmt: skip


@numba.njit(cache=True)
def _face_rays(t_hit, primitive, normal, rays):
    """(N,) int64 triangle of each hit (-1 where ``t_hit`` (N,) is not finite) from Open3D's
    uint32 ``primitive`` ids; turns ``normal`` (N, 3) float32 in place to face the origins of
    ``rays`` (N, 6) (the float32 dot product in numpy.einsum's order)."""
    tri = np.empty(len(t_hit), np.int64)
    for i in range(len(t_hit)):
        tri[i] = primitive[i] if np.isfinite(t_hit[i]) else -1
        dot = normal[i, 0] * rays[i, 3] + normal[i, 1] * rays[i, 4] + normal[i, 2] * rays[i, 5]
        if dot > 0:
            for k in range(3):
                normal[i, k] = -normal[i, k]
    return tri


def _vertex_normals(mesh, smooth: bool) -> np.ndarray:
    """(T, 3, 3) corner normals: area-weighted vertex normals, or the face normal."""
    v = np.take(mesh.vertices, mesh.triangles, axis=0)  # (T, 3, 3)
    face = cross3(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])  # length: twice the area
    if not smooth:
        unit = face / np.maximum(np.linalg.norm(face, axis=1, keepdims=True), 1e-12)
        return np.repeat(unit[:, None], 3, axis=1)
    n = len(mesh.vertices)
    corner = mesh.triangles.ravel()  # each face adds its normal to its three corners
    acc = np.stack([np.bincount(corner, np.repeat(face[:, i], 3), n) for i in range(3)], 1)
    acc /= np.maximum(np.linalg.norm(acc, axis=1, keepdims=True), 1e-12)
    return np.take(acc, mesh.triangles, axis=0)


def _road_columns(t: Transform, points: np.ndarray, count: int) -> list[np.ndarray]:
    """The first ``count`` columns, (N,) float32 each, of ``t`` applied to (N, 3) ``points``
    (read as float32), computed column by column (numpy's matmul is slow for this shape)."""
    rot, tr = t.rotation.astype(np.float32), t.translation.astype(np.float32)
    p = [points[:, k].astype(np.float32) for k in range(3)]
    return [p[0] * rot[j, 0] + p[1] * rot[j, 1] + p[2] * rot[j, 2] + tr[j] for j in range(count)]


def _paint_mask(paint: RoadPaint, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(N,) bool: road-frame points on a lane line or a crosswalk stripe."""
    out = np.zeros(len(x), bool)
    for axis in (0, 1):
        lines = paint.lines[paint.lines[:, 0] == axis]
        if len(lines) == 0:
            continue
        along, across = (x, y) if axis == 0 else (y, x)
        # Lines at different centres never overlap: only the lines at the nearest centre (the
        # segments of one lane line) can hold a point.
        centres = np.unique(lines[:, 1])
        k = np.searchsorted(centres, across).clip(1, max(len(centres) - 1, 1))
        if len(centres) > 1:
            k = np.where(np.abs(across - centres[k - 1]) < np.abs(across - centres[k]), k - 1, k)
        else:
            k = np.zeros(len(across), np.int64)
        cand = np.flatnonzero(np.abs(across - centres[k]) < lines[:, 2].max() / 2)
        for _, centre, width, dash, gap, lo, hi in lines:
            sub = cand[centres[k[cand]] == centre]
            a = along[sub]
            on = (np.abs(across[sub] - centre) < width / 2) & (a >= lo) & (a <= hi)
            if dash > 0:
                on &= np.mod(a - lo, dash + gap) < dash
            out[sub[on]] = True
    for x0, x1, y0, y1, axis in paint.crosswalks:
        inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        walk = y if axis == 1 else x
        out |= inside & (np.mod(walk, 1.0) < 0.5)
    return out


def _windows(road, normal: np.ndarray, spacing: np.ndarray, storey: np.ndarray):
    """Window grid on walls: (in a window, lit at night) per point; ``road`` the (N,) x, y, z
    road-frame columns."""
    vertical = np.abs(normal[:, 2]) < 0.5
    along = np.where(np.abs(normal[:, 0]) < np.abs(normal[:, 1]), road[0], road[1])
    u = np.mod(along / spacing, 1.0)
    z = road[2]
    v = np.mod(z / storey, 1.0)
    win = vertical & (u > 0.25) & (u < 0.75) & (v > 0.3) & (v < 0.8) & (z > 1.0)
    cell = np.floor(along / spacing).astype(np.int64) * 7919 + np.floor(z / storey).astype(np.int64)
    lit = _hash01(cell) < 0.3
    return win, lit


def _hash01(keys: np.ndarray) -> np.ndarray:
    """Deterministic pseudo-random value in [0, 1) per integer key."""
    h = (keys.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)
    return (h & np.uint64(0xFFFFFF)).astype(np.float64) / float(1 << 24)


def _cell_noise(road, cell: np.ndarray) -> np.ndarray:
    """Albedo factor in [0.6, 1.4] constant on cells of ``cell`` metres (x-y grid); ``road``
    the (N,) x, y, z road-frame columns."""
    i = np.floor(road[0] / cell).astype(np.int64)
    j = np.floor(road[1] / cell).astype(np.int64)
    k = np.floor(road[2] / cell).astype(np.int64)
    return (0.6 + 0.8 * _hash01(i * 73856093 + j * 19349663 + k * 83492791)).astype(np.float32)


def build_geometry(scene: Scene) -> SceneGeometry:
    """Build the ray-casting geometry of ``scene``."""
    return SceneGeometry(scene)
