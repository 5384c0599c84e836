"""Velodyne HDL-64E model: ray casting a sweep in KITTI's geometry and storage order.

Each laser b is a cone from its own head: a return at horizontal distance d lies at
z = d tan(theta_b) + h_b (LiDAR frame). The default table is the one fitted on the real KITTI
sweep 004139 (per-ring least squares on z / d = tan(theta) + h / d, rings from the .bin's firing
order; see ``perception3d/geometry/beams.py``): theta from +1.94 to -25.00 degrees, irregularly
spaced (0.25-0.64 deg), heads 0.209-0.198 m (upper block) and 0.126-0.116 m (lower block).
Points are stored laser by laser, highest first, each laser turning once from azimuth ~0
through +pi, -pi back to ~0, as in KITTI's .bin files, so ``estimate_beam_table`` recovers the
rings from the order ("scan_order").

Returns: detected with a probability that rises with the return power
reflectivity * cos(incidence) / range^2 (a logistic in log power around
``detection_threshold``), plus random drop-outs; range noise along the ray (the point stays on
its cone); intensity = reflectivity * (0.6 + 0.4 cos(incidence)) * exp(-range / scale) + noise,
clipped to [0, 1] and rounded to 0.01 like KITTI's reflectance values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception3d.sim.config import LidarConfig
from perception3d.sim.raycast import SceneGeometry

__all__ = [
    "KITTI_HDL64E_HEAD_M",
    "KITTI_HDL64E_THETA_DEG",
    "LidarBeams",
    "LidarSweep",
    "lidar_beams",
    "lidar_rays",
    "simulate_lidar",
]

# fmt: off
KITTI_HDL64E_THETA_DEG = np.array([
    1.937, 1.574, 1.305, 0.872, 0.579, 0.181, -0.089, -0.452, -0.803, -1.201, -1.494, -1.833,
    -2.208, -2.547, -2.874, -3.236, -3.539, -3.936, -4.216, -4.588, -4.914, -5.251, -5.611,
    -5.958, -6.329, -6.676, -6.999, -7.288, -7.678, -8.058, -8.311, -8.712, -9.026, -9.573,
    -10.063, -10.471, -10.955, -11.599, -12.115, -12.563, -13.041, -13.486, -14.050, -14.592,
    -15.189, -15.658, -16.178, -16.556, -17.186, -17.727, -18.324, -18.801, -19.316, -19.736,
    -20.218, -20.788, -21.315, -21.936, -22.443, -22.849, -23.329, -23.969, -24.513, -25.003,
])
# fmt: on
KITTI_HDL64E_THETA_DEG.setflags(write=False)
# Head heights: linear over each block, as fitted (0.209 -> 0.198 m, 0.126 -> 0.116 m).
KITTI_HDL64E_HEAD_M = np.concatenate([np.linspace(0.209, 0.198, 32), np.linspace(0.126, 0.116, 32)])
KITTI_HDL64E_HEAD_M.setflags(write=False)

# The ego car as seen from its roof-mounted LiDAR (LiDAR frame, [min corner, max corner]): the
# roof behind the sensor, the camera bar in front of it and the body below. Rays entering them
# give no return. Sized so the lowest lasers lose about +-20 deg ahead and +-30 deg behind, as
# the lowest rings of KITTI 004139 do.
_EGO_OCCLUDERS = np.array(
    [
        [[-1.6, -0.45, -1.73], [0.2, 0.45, -0.28]],
        [[0.2, -0.2, -0.4], [0.8, 0.2, -0.1]],
        [[-2.9, -0.92, -1.73], [1.9, 0.92, -0.85]],
    ]
)
# Only rays steeper than this (sine of -14.5 deg) can reach an occluder from the heads (the
# shallowest that can is -16.4 deg; a test checks the bound).
_EGO_MAX_SIN = -0.25


@dataclass(frozen=True)
class LidarBeams:
    """The lasers of a sweep.

    Attributes:
        theta_rad: (B,) cone elevation of each laser, descending (row 0 = highest).
        head_m: (B,) height of each laser's head above the LiDAR origin.
        azimuth_steps: firings per laser and turn.
    """

    theta_rad: np.ndarray
    head_m: np.ndarray
    azimuth_steps: int

    @property
    def num_beams(self) -> int:
        return len(self.theta_rad)


@dataclass(frozen=True)
class LidarSweep:
    """A simulated sweep in firing order.

    Attributes:
        points: (N, 4) float32 [x, y, z, intensity], LiDAR frame, metres, intensity in [0, 1].
        ring: (N,) int64 laser of each point (index into the beams, 0 = highest).
        instance: (N,) int32 scene object hit (k + 1 for object k), 0 for scenery.
    """

    points: np.ndarray
    ring: np.ndarray
    instance: np.ndarray


def lidar_beams(cfg: LidarConfig) -> LidarBeams:
    """The beam table of ``cfg``: KITTI's 64 lasers, every ``beam_stride``-th kept."""
    keep = slice(None, None, cfg.beam_stride)
    theta = np.radians(KITTI_HDL64E_THETA_DEG[keep])
    return LidarBeams(theta, np.array(KITTI_HDL64E_HEAD_M[keep]), cfg.azimuth_steps)


def lidar_rays(beams: LidarBeams, start_azimuth_rad: float = 0.0) -> np.ndarray:
    """Rays of a full sweep in firing order.

    Returns:
        (B * S, 6) float32 [origin, unit direction], laser-major: laser b's S firings turn from
        ``start_azimuth_rad`` counter-clockwise once around.
    """
    steps = beams.azimuth_steps
    az = start_azimuth_rad + np.arange(steps) * (2 * np.pi / steps)
    az = np.where(az > np.pi, az - 2 * np.pi, az)
    th = beams.theta_rad[:, None]
    rays = np.empty((beams.num_beams, steps, 6), np.float64)
    rays[..., 0:2] = 0.0
    rays[..., 2] = beams.head_m[:, None]
    rays[..., 3] = np.cos(th) * np.cos(az)[None]
    rays[..., 4] = np.cos(th) * np.sin(az)[None]
    rays[..., 5] = np.sin(th) * np.ones(steps)[None]
    return rays.reshape(-1, 6).astype(np.float32)


def _ego_blocked(rays: np.ndarray) -> np.ndarray:
    """(N,) bool: the ray enters an ego occluder (nothing lies between the laser heads on the
    roof and the car, so such a ray never reaches the scene). Slab test per box."""
    blocked = np.zeros(len(rays), bool)
    low = np.flatnonzero(rays[:, 5] < _EGO_MAX_SIN)  # only steep rays can reach the car
    o, d = rays[low, 0:3].astype(np.float64), rays[low, 3:6].astype(np.float64)
    d = np.where(np.abs(d) < 1e-12, 1e-12, d)  # a ray parallel to a slab: a huge t, same sign
    for lo, hi in _EGO_OCCLUDERS:
        t0, t1 = (lo - o) / d, (hi - o) / d
        enter = np.minimum(t0, t1).max(axis=1)
        leave = np.maximum(t0, t1).min(axis=1)
        blocked[low] |= (enter <= leave) & (leave > 0)
    return blocked


def simulate_lidar(
    geom: SceneGeometry, cfg: LidarConfig, beams: LidarBeams, rng: np.random.Generator
) -> LidarSweep:
    """Cast a sweep into ``geom`` and turn hits into KITTI-like returns.

    Args:
        geom: the frame's ray-casting geometry (LiDAR frame).
        cfg: noise, range and detection parameters.
        beams: the laser table.
        rng: the frame's LiDAR generator.

    Returns:
        The sweep in firing order (see module docstring).
    """
    start = rng.uniform(0.0, 2 * np.pi / beams.azimuth_steps)
    rays = lidar_rays(beams, start)
    hits = geom.cast(rays)
    t = hits.t.astype(np.float64)
    ok = hits.hit & (t >= cfg.min_range_m) & (t <= cfg.max_range_m)
    ok &= ~_ego_blocked(rays)
    idx = np.flatnonzero(ok)
    t, d = t[idx], rays[idx, 3:6].astype(np.float64)
    origin = rays[idx, 0:3].astype(np.float64)
    cos_inc = np.abs(np.einsum("ij,ij->i", hits.normal[idx].astype(np.float64), d))
    surf = geom.surface(hits.triangle[idx], origin + t[:, None] * d, hits.normal[idx])
    refl = surf.reflectivity.astype(np.float64)
    power = refl * cos_inc / (t * t)
    with np.errstate(divide="ignore"):
        logit = (
            np.log(np.maximum(power, 1e-30)) - np.log(cfg.detection_threshold)
        ) / cfg.detection_softness
    p_detect = 1.0 / (1.0 + np.exp(-np.clip(logit, -50, 50)))
    u_detect, u_drop = rng.uniform(size=len(idx)), rng.uniform(size=len(idx))
    noise_r, noise_i = rng.normal(size=len(idx)), rng.normal(size=len(idx))
    keep = (u_detect < p_detect) & (u_drop >= cfg.dropout_probability)
    r = t + cfg.range_noise_m * noise_r
    intensity = refl * (0.6 + 0.4 * cos_inc) * np.exp(-t / cfg.intensity_range_scale_m)
    intensity = np.round(np.clip(intensity + cfg.intensity_noise * noise_i, 0.0, 1.0), 2)
    xyz = origin + r[:, None] * d
    points = np.concatenate([xyz, intensity[:, None]], axis=1)[keep].astype(np.float32)
    ring = (idx // beams.azimuth_steps)[keep]
    return LidarSweep(points, ring.astype(np.int64), surf.instance[keep].astype(np.int32))
