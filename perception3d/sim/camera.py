"""Camera 2 (KITTI image_2): calibration, rays, and the linear radiance render.

Rays go through pixel centres (pixel (u, v) = column u, row v, as KITTI's projection P2 maps
points to them), from camera 2's optical centre, with directions scaled so the ray parameter
equals depth along the optical axis (what ``depth_2`` stores). Shading per hit: diffuse sun
with cast shadows (one shadow ray per lit pixel), sky light from the upper hemisphere and
ground bounce (on up-facing surfaces within 80 m optionally dimmed where a ray towards the sky
is blocked within 20 m: the road under a car), a
Blinn-Phong sun highlight and a Fresnel-weighted sky reflection for glossy parts (glass,
paint), emission, and at night point/spot lights (the strongest light of each pixel casts a
shadow ray). Radiance units: see ``lighting.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numba
import numpy as np

from perception3d.geometry.calib import Calibration
from perception3d.sim.config import CameraConfig
from perception3d.sim.lighting import sky_irradiance, sky_radiance
from perception3d.sim.raycast import SceneGeometry
from perception3d.sim.shading import (
    dot3,
    glossy_radiance,
    night_light_radiance,
    offset_rays,
    rotate_rows,
)
from perception3d.sim.world import Scene

__all__ = [
    "CameraFrame",
    "CameraRig",
    "camera_calibration",
    "camera_rig",
    "kitti_default_calibration",
    "render_camera",
]

# Calibration of KITTI object training frame 000008 (tests/data/kitti_samples), image 1242x375.
_KITTI_000008 = {
    "P0": [721.5377, 0, 609.5593, 0, 0, 721.5377, 172.854, 0, 0, 0, 1, 0],
    "P1": [721.5377, 0, 609.5593, -387.5744, 0, 721.5377, 172.854, 0, 0, 0, 1, 0],
    "P2": [721.5377, 0, 609.5593, 44.85728, 0, 721.5377, 172.854, 0.2163791, 0, 0, 1, 0.002745884],
    "P3": [721.5377, 0, 609.5593, -339.5242, 0, 721.5377, 172.854, 2.199936, 0, 0, 1, 0.002729905],
    "R0_rect": [
        0.9999239,
        0.00983776,
        -0.007445048,
        -0.009869795,
        0.9999421,
        -0.004278459,
        0.007402527,
        0.004351614,
        0.9999631,
    ],
    "Tr_velo_to_cam": [
        0.007533745,
        -0.9999714,
        -0.000616602,
        -0.004069766,
        0.01480249,
        0.0007280733,
        -0.9998902,
        -0.07631618,
        0.9998621,
        0.00752379,
        0.01480755,
        -0.2717806,
    ],
    "Tr_imu_to_velo": [
        0.9999976,
        0.0007553071,
        -0.002035826,
        -0.8086759,
        -0.0007854027,
        0.9998898,
        -0.01482298,
        0.3195559,
        0.002024406,
        0.01482454,
        0.9998881,
        -0.7997231,
    ],
}
_SKY_OCCLUSION_RANGE_M = 20.0
_SKY_OCCLUSION_MAX_DEPTH_M = 80.0  # farther pixels are a few centimetres of road each


def kitti_default_calibration() -> Calibration:
    """The calibration of KITTI training frame 000008 (1242 x 375)."""
    shapes = {"R0_rect": (3, 3)}
    return Calibration(
        **{k: np.array(v).reshape(shapes.get(k, (3, 4))) for k, v in _KITTI_000008.items()}
    )


def camera_calibration(cfg: CameraConfig) -> Calibration:
    """The calibration of ``cfg`` with P0-P3 scaled by ``image_scale`` (pixel coordinates
    scale about the image corner; the image is ``image_shape_hw``, rounded)."""
    base = (
        kitti_default_calibration()
        if cfg.calib_file is None
        else Calibration.from_file(Path(cfg.calib_file))
    )
    scale = np.diag([cfg.image_scale, cfg.image_scale, 1.0])  # square pixels stay square
    mats = {
        k: None if getattr(base, k) is None else scale @ getattr(base, k)
        for k in ("P0", "P1", "P2", "P3")
    }
    return Calibration(
        R0_rect=base.R0_rect,
        Tr_velo_to_cam=base.Tr_velo_to_cam,
        Tr_imu_to_velo=base.Tr_imu_to_velo,
        **mats,
    )


@dataclass(frozen=True, eq=False)
class CameraRig:
    """Camera 2's rays in the LiDAR frame.

    Attributes:
        origin: (3,) float32 optical centre, LiDAR frame.
        directions: (H * W, 3) float32, row-major pixels; origin + t * direction is at depth t.
        unit: (H * W, 3) float32 unit view directions.
        shape_hw: (H, W).
    """

    origin: np.ndarray
    directions: np.ndarray
    unit: np.ndarray
    shape_hw: tuple[int, int]

    @cached_property
    def rays(self) -> np.ndarray:
        """(H * W, 6) float32 rays [origin, direction] (read-only, shared)."""
        out = np.empty((len(self.directions), 6), np.float32)
        out[:, 0:3] = self.origin
        out[:, 3:6] = self.directions
        out.setflags(write=False)
        return out


def camera_rig(calib: Calibration, shape_hw: tuple[int, int]) -> CameraRig:
    """Rays through every pixel centre of an (H, W) image_2 (cached per calibration)."""
    key = (
        calib.P2.tobytes(),
        calib.R0_rect.tobytes(),
        calib.Tr_velo_to_cam.tobytes(),
        tuple(shape_hw),
    )
    return _rig(key)


@lru_cache(maxsize=4)
def _rig(key) -> CameraRig:
    p = np.frombuffer(key[0]).reshape(3, 4)
    calib = Calibration(p, np.frombuffer(key[1]).reshape(3, 3), np.frombuffer(key[2]).reshape(3, 4))
    h, w = key[3]
    fu, fv, cu, cv = p[0, 0], p[1, 1], p[0, 2], p[1, 2]
    tz = p[2, 3]
    centre_rect = -np.array([(p[0, 3] - cu * tz) / fu, (p[1, 3] - cv * tz) / fv, tz])
    v, u = np.mgrid[0:h, 0:w]
    dirs_rect = np.stack([(u.ravel() - cu) / fu, (v.ravel() - cv) / fv, np.ones(h * w)], 1)
    dirs = dirs_rect @ calib.rect_to_lidar_matrix[:3, :3].T
    unit = dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
    arrays = [calib.rect_to_lidar(centre_rect[None])[0], dirs, unit]
    for a in arrays:
        a.setflags(write=False)
    origin, dirs, unit = (a.astype(np.float32) for a in arrays)
    for a in (origin, dirs, unit):
        a.setflags(write=False)
    return CameraRig(origin, dirs, unit, (h, w))


def _dim_blocked_sky(sky_vis, geom: SceneGeometry, p, n, t, n_up, up) -> None:
    """Set ``sky_vis`` (N,) to 0.35 at up-facing hits within 80 m (``p``, ``n``, ``t``: points,
    normals, depths) whose ray halfway between the normal and ``up`` is blocked within 20 m."""
    sel = np.flatnonzero((n_up > 0.3) & (t < _SKY_OCCLUSION_MAX_DEPTH_M))
    towards = np.take(n, sel, axis=0) + up  # halfway between the normal and straight up
    towards /= np.sqrt(dot3(towards, towards))[:, None]
    rays = offset_rays(p, n, towards, t, sel)
    # Only the rays the height grid cannot clear are cast: the same answers, a third of the rays.
    ask = np.flatnonzero(~geom.height_grid.free_segments(rays, _SKY_OCCLUSION_RANGE_M))
    blocked = geom.occluded(np.take(rays, ask, axis=0), tfar=_SKY_OCCLUSION_RANGE_M)
    sky_vis[np.take(sel, ask)[blocked]] = 0.35


@numba.njit(cache=True)
def _gather_hits(t_all, normal_all, triangle_all, origin, directions, idx):
    """Depth t (N,), LiDAR-frame points p (N, 3) = origin + t * direction (float32), normals
    (N, 3) and triangles (N,) of the hit pixels ``idx`` (N,), in one pass."""
    num = len(idx)
    t, p = np.empty(num, np.float32), np.empty((num, 3), np.float32)
    n, triangle = np.empty((num, 3), np.float32), np.empty(num, np.int64)
    for i in range(num):
        j = idx[i]
        t[i], triangle[i] = t_all[j], triangle_all[j]
        for k in range(3):
            p[i, k] = origin[k] + t[i] * directions[j, k]
            n[i, k] = normal_all[j, k]
    return t, p, n, triangle


@numba.njit(cache=True)
def _diffuse_radiance(albedo, cos_s, sun_vis, n_up, sky_vis, sun, sky_k, ground_k):
    """(N, 3) float32 diffuse radiance: ``albedo`` (N, 3) times sun + sky + ground bounce.

    Weights per pixel, from the face normal's cosines to the sun ``cos_s`` and to the road's up
    ``n_up`` (N,) and the visibilities (N,): sun max(cos_s, 0) * sun_vis, sky
    (1 + n_up) / 2 * sky_vis, ground (1 - n_up) / 2; colours ``sun``, ``sky_k``, ``ground_k``
    (3,). float32 throughout, in the order of the numpy expressions it replaced (the bytes of
    the images depend on it).
    """
    zero, half = np.float32(0), np.float32(0.5)
    out = np.empty((len(cos_s), 3), np.float32)
    for i in range(len(cos_s)):
        c = cos_s[i]
        w_sun = (c if not c <= zero else zero) * sun_vis[i]  # np.clip(c, 0, None): -0 -> 0
        w_sky = (np.float32(1) + n_up[i]) * half * sky_vis[i]
        w_ground = (np.float32(1) - n_up[i]) * half
        for k in range(3):
            out[i, k] = albedo[i, k] * (w_sun * sun[k] + w_sky * sky_k[k] + w_ground * ground_k[k])
    return out


@numba.njit(cache=True)
def _scatter_columns(image, rows, values):
    """``image[:, rows] = values.T`` for a (3, M) ``image`` and (N, 3) ``values``."""
    for i in range(len(rows)):
        for k in range(3):
            image[k, rows[i]] = values[i, k]


@dataclass(frozen=True)
class CameraFrame:
    """A rendered camera frame.

    Attributes:
        radiance: (3, H, W) float32 linear scene radiance (relative units, lighting.py).
        depth_m: (H, W) float32 depth along the optical axis, inf for the sky.
        instance: (H, W) int32 scene object seen (k + 1 for object k), 0 otherwise.
        semantic: (H, W) uint8 SEMANTIC_CLASSES id, 0 for the sky.
    """

    radiance: np.ndarray
    depth_m: np.ndarray
    instance: np.ndarray
    semantic: np.ndarray


def render_camera(
    geom: SceneGeometry, scene: Scene, rig: CameraRig, cfg: CameraConfig
) -> CameraFrame:
    """Render camera 2's radiance, depth, instance and semantic images of ``scene``."""
    h, w = rig.shape_hw
    hits = geom.cast(rig.rays)
    hit = hits.hit
    idx = np.flatnonzero(hit)
    t, p, n, triangle = _gather_hits(
        hits.t, hits.normal, hits.triangle, rig.origin, rig.directions, idx
    )
    surf = geom.surface(triangle, p, n, lidar=False)
    # The sky is evaluated in the road frame (z up); `to_road` turns LiDAR directions into it.
    to_road = scene.road_to_lidar.rotation.astype(np.float32)
    up = to_road[:, 2]
    sun_dir, sun = scene.sun_direction.astype(np.float32), scene.sun_rgb.astype(np.float32)
    sky_args = (to_road.T @ sun_dir, sun, scene.sky_zenith_rgb, scene.sky_horizon_rgb)
    sky_k = sky_irradiance(*sky_args).astype(np.float32)
    # Direct sun with cast shadows.
    cos_s = dot3(n, sun_dir)
    sun_vis = np.zeros(len(idx), np.float32)
    if np.any(sun > 0):
        lit = np.flatnonzero(cos_s > 0)
        sun_rays = offset_rays(p, n, sun_dir, t, lit)
        sun_vis[lit] = ~geom.occluded(sun_rays)
    # Sky and ground bounce.
    n_up = dot3(n, up)
    sky_vis = np.ones(len(idx), np.float32)
    if cfg.sky_occlusion:  # up-facing surfaces: is something above (a car, a crown)?
        _dim_blocked_sky(sky_vis, geom, p, n, t, n_up, up)
    ground_k = (0.12 * (sun * max(float(sun_dir @ up), 0.0) + sky_k)).astype(np.float32)
    radiance = _diffuse_radiance(surf.albedo, cos_s, sun_vis, n_up, sky_vis, sun, sky_k, ground_k)
    glossy = np.flatnonzero(surf.specular > 0)
    if len(glossy):
        view = -np.take(rig.unit, np.take(idx, glossy), axis=0)  # (K, 3) towards the camera
        uv = np.take(hits.uv, np.take(idx, glossy), axis=0)
        shading = geom.shading_normal(np.take(triangle, glossy), uv, view)
        gloss = np.take(radiance, glossy, axis=0)
        gloss += glossy_radiance(
            surf, glossy, shading, view, cos_s, sun_vis, sky_vis, sky_args, to_road, sun_dir
        )
        radiance[glossy] = gloss
    if surf.emission is not None:
        radiance += surf.emission
    if scene.lights:
        radiance += night_light_radiance(scene, geom, p, n, surf.albedo, t)
    image = np.empty((3, h * w), np.float32)  # channel-first, as CameraFrame stores it
    sky_idx = np.flatnonzero(~hit)
    sky_disk = np.radians(cfg.sun_disk_deg)
    sky_dirs = rotate_rows(np.take(rig.unit, sky_idx, axis=0), to_road)
    sky = sky_radiance(sky_dirs, *sky_args, sun_disk_rad=sky_disk)
    _scatter_columns(image, sky_idx, sky)
    _scatter_columns(image, idx, radiance)
    depth = np.full(h * w, np.inf, np.float32)
    depth[idx] = t
    instance = np.zeros(h * w, np.int32)
    instance[idx] = surf.instance
    semantic = np.zeros(h * w, np.uint8)
    semantic[idx] = surf.semantic
    return CameraFrame(
        image.reshape(3, h, w),
        depth.reshape(h, w),
        instance.reshape(h, w),
        semantic.reshape(h, w),
    )
