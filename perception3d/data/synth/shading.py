"""Shading terms of the camera render: offset shadow rays, glossy reflections and highlights,
night lights. Radiance units: see ``lighting.py``. All arrays are float32 (N, 3) or (N,) over
the hit pixels unless stated.
"""

from __future__ import annotations

import numpy as np

from perception3d.data.synth.lighting import sky_radiance
from perception3d.data.synth.raycast import SceneGeometry
from perception3d.data.synth.world import Scene

__all__ = ["dot3", "glossy_radiance", "night_light_radiance", "offset_rays", "rotate_rows"]


def offset_rays(points, normal, directions, t_hit) -> np.ndarray:
    """(N, 6) float32 secondary rays from hit ``points`` (N, 3), pushed off the surface along
    ``normal`` (N, 3) by 1 mm + 0.2 mm per metre of primary ray ``t_hit`` (N,) (float32
    precision), towards ``directions`` (N, 3) or (3,)."""
    eps = (1e-3 + 2e-4 * t_hit)[:, None]  # self-intersection offset grows with distance
    out = np.empty((len(points), 6), np.float32)
    out[:, 0:3] = points + eps * normal
    out[:, 3:6] = directions
    return out


def night_light_radiance(scene: Scene, geom: SceneGeometry, p, n, albedo, t_hit) -> np.ndarray:
    """(N, 3) radiance the scene's lights give hit points ``p`` with normals ``n`` and diffuse
    ``albedo``: inverse-square point and spot lights, windowed to 0 at their range (a spot fades
    over 0.05 in cosine past its cutoff); only the strongest light of each pixel is shadowed
    (one shadow ray per pixel)."""
    total = np.zeros((len(p), 3), np.float32)
    best_lum, best_contrib = np.zeros(len(p), np.float32), np.zeros((len(p), 3), np.float32)
    best_vec = np.zeros((len(p), 3), np.float32)
    cells = _CellIndex(p)
    for light in scene.lights:
        cand = cells.near(light.position, light.range_m)
        vec = light.position.astype(np.float32) - p[cand]
        dist2 = dot3(vec, vec)
        keep = dist2 < light.range_m**2
        near, vec, dist2 = cand[keep], vec[keep], dist2[keep]
        if len(near) == 0:
            continue
        unit = vec / np.sqrt(dist2)[:, None]
        # Inverse square, windowed to reach 0 smoothly at the light's range (the falloff of
        # Karis, "Real Shading in Unreal Engine 4", SIGGRAPH 2013 course notes).
        window = np.clip(1.0 - (dist2 / np.float32(light.range_m**2)) ** 2, 0.0, 1.0) ** 2
        gain = np.clip(dot3(n[near], unit), 0.0, None) * window / np.maximum(dist2, 0.25)
        if light.direction is not None:  # spot: fade out over 0.05 in cosine past the cutoff
            cos_axis = -dot3(unit, light.direction.astype(np.float32))
            gain *= np.clip((cos_axis - light.cos_cutoff) / 0.05, 0.0, 1.0)
        contrib = gain[:, None] * (light.intensity_rgb / np.pi).astype(np.float32)[None]
        total[near] += contrib
        lum = contrib.sum(1)
        stronger = lum > best_lum[near]
        won = near[stronger]
        best_lum[won], best_contrib[won], best_vec[won] = (
            lum[stronger],
            contrib[stronger],
            vec[stronger],
        )
    lit = np.flatnonzero(best_lum > 0)
    if len(lit):
        # Direction = the whole vector to the light, so t in [0, 1) spans the way there.
        rays = offset_rays(p[lit], n[lit], best_vec[lit], t_hit[lit])
        shadowed = lit[geom.occluded(rays, tfar=0.999)]
        total[shadowed] -= best_contrib[shadowed]
    return albedo * np.clip(total, 0.0, None)


class _CellIndex:
    """Points binned on a 10 m grid (x, y), to find those near a light without a full scan."""

    _CELL_M = 10.0

    def __init__(self, points: np.ndarray) -> None:
        self.ij = np.floor(points[:, :2] / self._CELL_M).astype(np.int64)
        self.lo = self.ij.min(axis=0) if len(points) else np.zeros(2, np.int64)
        shape = (self.ij.max(axis=0) - self.lo + 1) if len(points) else np.ones(2, np.int64)
        self.cols = int(shape[1])
        key = (self.ij[:, 0] - self.lo[0]) * self.cols + (self.ij[:, 1] - self.lo[1])
        self.order = np.argsort(key, kind="stable")
        self.sorted_key = key[self.order]
        self.shape = shape

    def near(self, centre: np.ndarray, radius: float) -> np.ndarray:
        """Indices of the points in grid cells within ``radius`` of ``centre`` (x, y)."""
        lo = np.floor((centre[:2] - radius) / self._CELL_M).astype(np.int64) - self.lo
        hi = np.floor((centre[:2] + radius) / self._CELL_M).astype(np.int64) - self.lo
        lo, hi = np.maximum(lo, 0), np.minimum(hi, self.shape - 1)
        if np.any(hi < lo):
            return np.zeros(0, np.int64)
        rows = np.arange(lo[0], hi[0] + 1)
        start = np.searchsorted(self.sorted_key, rows * self.cols + lo[1])
        stop = np.searchsorted(self.sorted_key, rows * self.cols + hi[1], side="right")
        parts = [self.order[a:b] for a, b in zip(start, stop)]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)


def dot3(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(N,) row-wise dot products of (N, 3) ``a`` with (3,) ``v`` (or (N, 3) ``v``)."""
    if v.ndim == 1:
        return a[:, 0] * v[0] + a[:, 1] * v[1] + a[:, 2] * v[2]
    return a[:, 0] * v[:, 0] + a[:, 1] * v[:, 1] + a[:, 2] * v[:, 2]


def rotate_rows(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``v @ m`` for (N, 3) float32 ``v`` and (3, 3) ``m``, column by column (numpy's matmul
    is slow for this thin shape)."""
    m = m.astype(v.dtype)
    return v[:, 0:1] * m[0] + v[:, 1:2] * m[1] + v[:, 2:3] * m[2]


def glossy_radiance(
    surf, idx, ng, view, cos_s, sun_vis, sky_vis, sky_args, to_road, sun_dir
) -> np.ndarray:
    """Glossy radiance of the hit pixels ``idx`` (K,): a Fresnel-weighted (Schlick) reflection of
    the sky and a normalized Blinn-Phong sun highlight, scaled by the material's ``specular``.

    Args:
        surf: surface properties of all hits (``SurfaceSample``); idx: the glossy ones.
        ng: (K, 3) shading normals of those; view: (N, 3) unit directions to the camera.
        cos_s, sun_vis, sky_vis: (N,) face-normal cosine to the sun, sun and sky visibility.
        sky_args: (sun direction in the road frame, sun rgb, zenith rgb, horizon rgb).
        to_road: (3, 3) columns: road axes in the LiDAR frame; sun_dir: (3,) LiDAR frame.

    Returns:
        (K, 3) radiance.
    """
    vg = view[idx]
    cos_v = np.clip(dot3(ng, vg), 0.0, 1.0)
    fresnel = 0.04 + 0.96 * (1 - cos_v) ** 5  # Schlick, F0 = 0.04 (glass, clear coat)
    refl = 2 * cos_v[:, None] * ng - vg
    env = sky_radiance(rotate_rows(refl, to_road), *sky_args) * (fresnel * sky_vis[idx])[:, None]
    half = vg + sun_dir.astype(np.float32)
    half /= np.maximum(np.linalg.norm(half, axis=1, keepdims=True), 1e-9)
    shin = surf.shininess[idx]
    cos_h = dot3(ng, half)
    # Beyond 25 deg from the mirror direction cos^shin (shin >= 40) is below 2 %: skip the pow.
    peak = np.flatnonzero(cos_h > 0.9)
    lobe = np.zeros(len(idx), np.float32)
    lobe[peak] = (shin[peak] + 8) / 8 * cos_h[peak] ** shin[peak]
    cos_sun = np.clip(dot3(ng, sun_dir), 0, None) * (cos_s[idx] > 0)  # the facet must face the sun
    highlight = sky_args[1][None] * (lobe * cos_sun * sun_vis[idx])[:, None]
    return surf.specular[idx, None] * (env + highlight)
