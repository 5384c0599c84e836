"""Shading terms of the camera render: offset shadow rays, glossy reflections and highlights,
night lights. Radiance units: see ``lighting.py``. All arrays are float32 (N, 3) or (N,) over
the hit pixels unless stated.
"""

from __future__ import annotations

import numba
import numpy as np

from perception3d.sim.lighting import sky_radiance
from perception3d.sim.raycast import SceneGeometry
from perception3d.sim.world import Scene

__all__ = ["dot3", "glossy_radiance", "night_light_radiance", "offset_rays", "rotate_rows"]


def offset_rays(points, normal, directions, t_hit, rows=None) -> np.ndarray:
    """(N, 6) float32 secondary rays from hit ``points`` (N, 3), pushed off the surface along
    ``normal`` (N, 3) by 1 mm + 0.2 mm per metre of primary ray ``t_hit`` (N,) (float32
    precision), towards ``directions`` (N, 3) or (3,); with ``rows`` (K,), from those hits
    only (``directions`` then (K, 3) or (3,)). All float32."""
    if rows is None:
        rows = np.arange(len(points))
    directions = np.asarray(directions, np.float32).reshape(-1, 3)  # (K, 3) or (1, 3)
    return _offset_rays_kernel(points, normal, directions, t_hit, rows)


@numba.njit(cache=True)
def _offset_rays_kernel(points, normal, directions, t_hit, rows):
    """The rays of ``offset_rays``: float32 throughout, in numpy's operation order (one pass
    instead of numpy's gathers and column loops)."""
    out = np.empty((len(rows), 6), np.float32)
    one_dir = directions.shape[0] == 1
    for i in range(len(rows)):
        r = rows[i]
        eps = np.float32(1e-3) + np.float32(2e-4) * t_hit[r]  # self-intersection offset
        d = 0 if one_dir else i
        for k in range(3):
            out[i, k] = points[r, k] + eps * normal[r, k]
            out[i, 3 + k] = directions[d, k]
    return out


def night_light_radiance(scene: Scene, geom: SceneGeometry, p, n, albedo, t_hit) -> np.ndarray:
    """(N, 3) radiance the scene's lights give hit points ``p`` with normals ``n`` and diffuse
    ``albedo``: inverse-square point and spot lights, windowed to 0 at their range (the falloff
    of Karis, "Real Shading in Unreal Engine 4", SIGGRAPH 2013 course notes; a spot fades over
    0.05 in cosine past its cutoff); only the strongest light of each pixel is shadowed (one
    shadow ray per pixel)."""
    lights = scene.lights
    pos = np.array([light.position for light in lights], np.float64).reshape(-1, 3)
    power = np.array([light.intensity_rgb / np.pi for light in lights], np.float64).reshape(-1, 3)
    axis = np.array(
        [np.zeros(3) if light.direction is None else light.direction for light in lights]
    ).reshape(-1, 3)
    cutoff = np.array([-2.0 if light.direction is None else light.cos_cutoff for light in lights])
    reach = np.array([light.range_m for light in lights], np.float64)
    total, best, best_contrib = _lights_kernel(
        np.ascontiguousarray(p, np.float64), np.ascontiguousarray(n, np.float64),
        pos, power, axis, cutoff, reach,
    )  # fmt: skip
    lit = np.flatnonzero(best >= 0)
    if len(lit):
        # Direction = the whole vector to the light, so t in [0, 1) spans the way there.
        to_light = (pos[best[lit]] - np.take(p, lit, axis=0)).astype(np.float32)
        rays = offset_rays(p, n, to_light, t_hit, lit)
        shadowed = lit[geom.occluded(rays, tfar=0.999)]
        total[shadowed] -= best_contrib[shadowed]
    return albedo * np.clip(total, 0.0, None).astype(np.float32)


@numba.njit(cache=True)
def _lights_kernel(p, n, pos, power, axis, cutoff, reach):
    """Per pixel: summed irradiance / pi of all lights, the strongest light and its share."""
    num, num_lights = p.shape[0], pos.shape[0]
    total = np.zeros((num, 3))
    best = np.full(num, -1, np.int64)
    best_contrib = np.zeros((num, 3))
    for i in range(num):
        best_lum = 0.0
        for j in range(num_lights):
            vx, vy, vz = pos[j, 0] - p[i, 0], pos[j, 1] - p[i, 1], pos[j, 2] - p[i, 2]
            d2 = vx * vx + vy * vy + vz * vz
            r2 = reach[j] * reach[j]
            if d2 >= r2:
                continue
            d = np.sqrt(d2)
            cos_n = (n[i, 0] * vx + n[i, 1] * vy + n[i, 2] * vz) / d
            if cos_n <= 0.0:
                continue
            window = 1.0 - (d2 / r2) ** 2
            gain = cos_n * window * window / max(d2, 0.25)
            if cutoff[j] > -1.5:  # a spot light
                cos_axis = -(axis[j, 0] * vx + axis[j, 1] * vy + axis[j, 2] * vz) / d
                gain *= min(max((cos_axis - cutoff[j]) / 0.05, 0.0), 1.0)
            if gain <= 0.0:
                continue
            lum = 0.0
            for c in range(3):
                total[i, c] += gain * power[j, c]
                lum += gain * power[j, c]
            if lum > best_lum:
                best_lum = lum
                best[i] = j
                for c in range(3):
                    best_contrib[i, c] = gain * power[j, c]
    return total, best, best_contrib


def dot3(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(N,) row-wise dot products of (N, 3) ``a`` with (3,) ``v`` (or (N, 3) ``v``)."""
    if v.ndim == 1:
        return a[:, 0] * v[0] + a[:, 1] * v[1] + a[:, 2] * v[2]
    return a[:, 0] * v[:, 0] + a[:, 1] * v[:, 1] + a[:, 2] * v[:, 2]


def rotate_rows(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``v @ m`` for (N, 3) float32 ``v`` and (3, 3) ``m``, column by column (numpy's matmul
    is slow for this thin shape)."""
    m = m.astype(v.dtype)
    out = np.empty((len(v), 3), v.dtype)
    for c in range(3):
        out[:, c] = v[:, 0] * m[0, c] + v[:, 1] * m[1, c] + v[:, 2] * m[2, c]
    return out


def glossy_radiance(
    surf, idx, ng, view, cos_s, sun_vis, sky_vis, sky_args, to_road, sun_dir
) -> np.ndarray:
    """Glossy radiance of the hit pixels ``idx`` (K,): a Fresnel-weighted (Schlick) reflection of
    the sky and a normalized Blinn-Phong sun highlight, scaled by the material's ``specular``.

    Args:
        surf: surface properties of all hits (``SurfaceSample``); idx: the glossy ones.
        ng: (K, 3) shading normals of those; view: (K, 3) their unit directions to the
            camera.
        cos_s, sun_vis, sky_vis: (N,) face-normal cosine to the sun, sun and sky visibility.
        sky_args: (sun direction in the road frame, sun rgb, zenith rgb, horizon rgb).
        to_road: (3, 3) columns: road axes in the LiDAR frame; sun_dir: (3,) LiDAR frame.

    Returns:
        (K, 3) radiance.
    """
    vg = view
    cos_v = np.clip(dot3(ng, vg), 0.0, 1.0)
    fresnel = 0.04 + 0.96 * (1 - cos_v) ** 5  # Schlick, F0 = 0.04 (glass, clear coat)
    refl = 2 * cos_v[:, None] * ng - vg
    sky_vis = np.take(sky_vis, idx)
    env = sky_radiance(rotate_rows(refl, to_road), *sky_args) * (fresnel * sky_vis)[:, None]
    half = vg + sun_dir.astype(np.float32)
    half /= np.maximum(np.linalg.norm(half, axis=1, keepdims=True), 1e-9)
    shin = np.take(surf.shininess, idx)
    cos_h = dot3(ng, half)
    # Beyond 25 deg from the mirror direction cos^shin (shin >= 40) is below 2 %: skip the pow.
    peak = np.flatnonzero(cos_h > 0.9)
    lobe = np.zeros(len(idx), np.float32)
    lobe[peak] = (shin[peak] + 8) / 8 * cos_h[peak] ** shin[peak]
    faces_sun = np.take(cos_s, idx) > 0  # the facet must face the sun
    cos_sun = np.clip(dot3(ng, sun_dir), 0, None) * faces_sun
    highlight = sky_args[1][None] * (lobe * cos_sun * np.take(sun_vis, idx))[:, None]
    return np.take(surf.specular, idx)[:, None] * (env + highlight)
