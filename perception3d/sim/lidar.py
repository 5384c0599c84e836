"""Velodyne HDL-64E model: ray casting a sweep in KITTI's geometry and storage order.

Each laser b is a cone from its own head: a return at horizontal distance d lies at
z = d tan(theta_b) + h_b (LiDAR frame). The default table is the one fitted on the real KITTI
sweep 004139 (per-ring least squares on z / d = tan(theta) + h / d, rings from the .bin's firing
order; see ``perception3d/geometry/beams.py``): theta from +1.94 to -25.00 degrees, irregularly
spaced (0.25-0.64 deg), heads 0.209-0.198 m (upper block) and 0.126-0.116 m (lower block).
Points are stored laser by laser, highest first, each laser turning once from azimuth ~0
through +pi, -pi back to ~0, as in KITTI's .bin files, so ``estimate_beam_table`` recovers the
rings from the order ("scan_order").

The ego car hides the lowest lasers in the directions `lidar_ego.py` holds (fitted on real
sweeps). A pulse meeting glass passes it with the glass's transmission probability and returns
from what lies behind (car interiors, the far side of a car, rooms behind windows).

The sensor's response, with rho the surface's reflectivity times a log-normal factor per object
(per 2 m cell of the static scene) of spread ``reflectivity_spread`` and a log-normal speckle
per return (``intensity_speckle``), and the received power P = rho cos(incidence)^a / range^2
(a = ``incidence_exponent``):

- a return is detected with a probability rising as a logistic in log P around
  ``detection_threshold``, and lost at random with ``dropout_probability``;
- its intensity reads rho cos(incidence)^b (b = ``intensity_incidence_exponent``) when
  rho cos(incidence)^a / range^k (k = ``intensity_range_exponent``; 2 would be the received
  power) clears ``intensity_threshold`` (again a logistic in its log), else 0: KITTI reports
  weak returns, far ones mostly, with intensity 0 (on the unlabelled real sweeps 64 % of the
  ground returns at 30-40 m and 86 % at 40-60 m do), and otherwise a range-compensated
  reflectivity (docs/augmentation.md); very strong returns read 0 too, with probability up to
  ``saturation_share`` above ``saturation_threshold`` (on the same sweeps 41 % of the standing
  returns at 2-4 m and 32 % at 4-6 m read 0, against 8-10 % beyond 10 m); plus
  ``intensity_noise``, read as an 8-bit value / 256 and rounded to 0.01 like KITTI's (whose
  0.01 levels hold two or three 8-bit readings: the comb of its histograms); a reading under
  ``intensity_floor`` (the sensor's lowest reported level) and a return not read report
  exactly 0, never a noisy low value (KITTI reports 0 or at least about 0.03); a material's
  unread share (``Material.lidar_unread``) applies whatever the power, scaled by
  (1 - cos(incidence))^e (e = ``unread_incidence_exponent``; 0: the same share at every
  incidence);
- its range gets Gaussian noise (``range_noise_m``) and a per-laser offset drawn per sweep
  (``range_bias_m``: the spread of the lasers' distance calibration), along the ray, so every
  point stays on its laser's cone.

The defaults are fitted on the unlabelled real sweeps by ``tools/fit_lidar_sensor.py``
(docs/sim2real.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from perception3d.sim.config import LidarConfig
from perception3d.sim.lidar_ego import ego_blocked
from perception3d.sim.raycast import SceneGeometry

__all__ = [
    "KITTI_HDL64E_HEAD_M",
    "KITTI_HDL64E_THETA_DEG",
    "LidarBeams",
    "LidarHits",
    "LidarSweep",
    "SensorMotion",
    "cast_sweep",
    "lidar_beams",
    "lidar_rays",
    "respond",
    "sensor_response",
    "simulate_lidar",
]

# firing azimuths (K,) rad -> sensor rotations (K, 3, 3) and translations (K, 3), scene frame
SensorMotion = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
_GLASS_STEP_M = 1e-3  # a ray passing glass restarts this far behind it
_CELL_M = 2.0  # the static scene's reflectivity varies on cells of this size

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


@dataclass(frozen=True)
class LidarBeams:
    """The lasers of a sweep.

    Attributes:
        theta_rad: (B,) cone elevation of each laser, descending (row 0 = highest).
        head_m: (B,) height of each laser's head above the LiDAR origin.
        azimuth_steps: firings per laser and turn.
        laser: (B,) index of each laser among KITTI's 64 (``beam_stride`` keeps every k-th).
    """

    theta_rad: np.ndarray
    head_m: np.ndarray
    azimuth_steps: int
    laser: np.ndarray

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
    laser = np.arange(len(KITTI_HDL64E_THETA_DEG))[keep]
    return LidarBeams(theta, np.array(KITTI_HDL64E_HEAD_M[keep]), cfg.azimuth_steps, laser)


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


@dataclass(frozen=True)
class LidarHits:
    """The surface each ray of a sweep returns from, before the sensor's response.

    Attributes:
        ray: (K,) int64 index of the ray in firing order (laser-major).
        origin, direction: (K, 3) float64 the ray's origin (its laser head) and unit direction,
            in the sensor frame of its firing (``cast_sweep``'s ``sensor_motion``).
        range_m: (K,) float64 distance along the ray to the surface (through the glass passed).
        cos_incidence: (K,) float64 |cos| of the angle between the ray and the surface normal.
        reflectivity: (K,) float64 the surface's LiDAR reflectivity at normal incidence.
        semantic: (K,) uint8 ``SEMANTIC_CLASSES`` id; instance: (K,) int32 (0 static, k + 1
            for scene object k).
        ring: (K,) int64 laser of each ray (row of the beam table).
        unread: (K,) float64 probability that the return reads intensity 0 whatever its power
            (``Material.lidar_unread``).
    """

    ray: np.ndarray
    origin: np.ndarray
    direction: np.ndarray
    range_m: np.ndarray
    cos_incidence: np.ndarray
    reflectivity: np.ndarray
    semantic: np.ndarray
    instance: np.ndarray
    ring: np.ndarray
    unread: np.ndarray

    def __len__(self) -> int:
        return len(self.ray)


def cast_sweep(
    geom: SceneGeometry,
    cfg: LidarConfig,
    beams: LidarBeams,
    rng: np.random.Generator,
    sensor_motion: SensorMotion | None = None,
) -> LidarHits:
    """Cast a sweep's rays; a ray meeting glass passes it with the glass's transmission
    probability (at most ``cfg.glass_passes`` times) and returns from what lies behind.

    Rays the ego car blocks (`lidar_ego.ego_blocked`) and hits outside ``[min_range_m,
    max_range_m]`` are left out. Randomness: the sweep's start azimuth and the glass draws.

    ``sensor_motion`` (None: the sensor stands still during the sweep) maps the firing azimuths
    (K,) to the sensor's pose at each firing in the frame of ``geom``: rotations (K, 3, 3) and
    translations (K, 3). Rays are cast from those poses, while the returned hits keep the
    sensor-frame origin and direction of each firing, so the sweep reads as recorded by a
    moving sensor (each point in the sensor frame of its own firing).
    """
    start = rng.uniform(0.0, 2 * np.pi / beams.azimuth_steps)
    rays = lidar_rays(beams, start)
    ring = np.repeat(np.arange(beams.num_beams), beams.azimuth_steps)
    azimuth = np.arctan2(rays[:, 4], rays[:, 3])
    idx = np.flatnonzero(~ego_blocked(beams.laser[ring], azimuth))
    # Gathers use np.take / np.compress (several times faster than fancy or boolean indexing).
    fired = np.take(rays, idx, axis=0)
    origin_sensor = fired[:, 0:3].astype(np.float64)
    direction_sensor = fired[:, 3:6].astype(np.float64)
    origin, direction = origin_sensor, direction_sensor  # in the frame of ``geom``
    if sensor_motion is not None:
        rot, trans = sensor_motion(np.take(azimuth, idx))
        origin = np.einsum("kij,kj->ki", rot, origin_sensor) + trans
        direction = np.einsum("kij,kj->ki", rot, direction_sensor)
    travelled = np.zeros(len(idx))
    found = np.zeros(len(idx), bool)
    t_out, cos_out, refl_out = np.zeros(len(idx)), np.zeros(len(idx)), np.zeros(len(idx))
    sem_out, inst_out = np.zeros(len(idx), np.uint8), np.zeros(len(idx), np.int32)
    unread_out = np.zeros(len(idx))
    pending, start_at = np.arange(len(idx)), origin.copy()
    for passes_left in range(cfg.glass_passes, -1, -1):
        cast = np.empty((len(pending), 6), np.float32)
        cast[:, 0:3] = np.take(start_at, pending, axis=0)
        cast[:, 3:6] = np.take(direction, pending, axis=0)
        hits = geom.cast(cast)
        ok = np.flatnonzero(hits.hit)
        rows = np.take(pending, ok)  # the rays hitting something
        t = np.take(hits.t, ok).astype(np.float64)
        d = np.take(direction, rows, axis=0)
        points = np.take(start_at, rows, axis=0) + t[:, None] * d
        normal = np.take(hits.normal, ok, axis=0)
        surf = geom.surface(np.take(hits.triangle, ok), points, normal, optical=False)
        through = np.zeros(len(ok), bool)
        if passes_left > 0 and np.any(surf.transmission > 0):
            through = rng.uniform(size=len(ok)) < surf.transmission
        stop = ~through
        done = np.compress(stop, rows)
        found[done] = True
        t_out[done] = travelled[done] + np.compress(stop, t)
        normal = np.compress(stop, normal, axis=0).astype(np.float64)
        cos_out[done] = np.abs(np.einsum("ij,ij->i", normal, np.compress(stop, d, axis=0)))
        refl_out[done] = np.compress(stop, surf.reflectivity)
        sem_out[done] = np.compress(stop, surf.semantic)
        inst_out[done] = np.compress(stop, surf.instance)
        unread_out[done] = np.compress(stop, surf.unread)
        pending = np.compress(through, rows)
        if len(pending) == 0:
            break
        d_through = np.compress(through, d, axis=0)
        start_at[pending] = np.compress(through, points, axis=0) + _GLASS_STEP_M * d_through
        travelled[pending] += np.compress(through, t) + _GLASS_STEP_M
    keep = np.flatnonzero(found & (t_out >= cfg.min_range_m) & (t_out <= cfg.max_range_m))
    kept = np.take(idx, keep)
    return LidarHits(
        kept, np.take(origin_sensor, keep, axis=0), np.take(direction_sensor, keep, axis=0),
        *(np.take(a, keep) for a in (t_out, cos_out, refl_out, sem_out, inst_out)),
        np.take(ring, kept), np.take(unread_out, keep),
    )  # fmt: skip


def _logistic(log_ratio: np.ndarray, softness: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(log_ratio / max(softness, 1e-9), -50, 50)))


def _static_factor(hits: LidarHits, cell_m: float, sigma: float, salt: int) -> np.ndarray:
    """A log-normal factor per ``cell_m`` cell of the static scene (hashed, salted per sweep),
    so that one wall or lawn varies from place to place, not from return to return."""
    pts = hits.origin + hits.range_m[:, None] * hits.direction
    ijk = np.floor(pts / cell_m).astype(np.int64)
    key = (ijk[:, 0] * 73856093) ^ (ijk[:, 1] * 19349663) ^ (ijk[:, 2] * 83492791) ^ salt
    h = (key.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(11)
    u1 = ((h & np.uint64(0xFFFFFF)).astype(np.float64) + 0.5) / float(1 << 24)
    u2 = (((h >> np.uint64(24)) & np.uint64(0xFFFFFF)).astype(np.float64) + 0.5) / float(1 << 24)
    normal = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)  # Box-Muller
    return np.exp(sigma * normal)


def respond(
    hits: LidarHits, cfg: LidarConfig, num_beams: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sensor's response to each hit (model in the module docstring).

    Returns:
        keep (K,) bool detected; intensity (K,) float64 in [0, 1], 0.01 steps; range_m (K,)
        float64 measured range along the ray.
    """
    n = len(hits)
    num_objects = int(hits.instance.max(initial=0)) + 1
    objects = np.exp(cfg.reflectivity_spread * rng.normal(size=num_objects))
    static = _static_factor(hits, _CELL_M, cfg.reflectivity_spread, int(rng.integers(1 << 30)))
    surface = np.where(hits.instance > 0, np.take(objects, hits.instance), static)
    speckle = np.exp(cfg.intensity_speckle * rng.normal(size=n))
    rho = np.clip(hits.reflectivity * surface * speckle, 0.0, 1.0)
    cos = np.maximum(hits.cos_incidence, 1e-6)
    log_power = (
        np.log(np.maximum(rho, 1e-30))
        + cfg.incidence_exponent * np.log(cos)
        - 2.0 * np.log(hits.range_m)
    )
    u_detect, u_drop, u_int = rng.uniform(size=(3, n))
    detect = _logistic(log_power - np.log(cfg.detection_threshold), cfg.detection_softness)
    keep = (u_detect < detect) & (u_drop >= cfg.dropout_probability)
    log_reading_power = log_power + (2.0 - cfg.intensity_range_exponent) * np.log(hits.range_m)
    measured = _logistic(
        log_reading_power - np.log(cfg.intensity_threshold), cfg.intensity_softness
    )
    saturated = _logistic(log_power - np.log(cfg.saturation_threshold), cfg.intensity_softness)
    unread = hits.unread
    if cfg.unread_incidence_exponent > 0:
        unread = unread * (1.0 - np.minimum(cos, 1.0)) ** cfg.unread_incidence_exponent
    measured *= (1.0 - cfg.saturation_share * saturated) * (1.0 - unread)
    reading = rho * cos**cfg.intensity_incidence_exponent
    # KITTI's 0 is a flag, not a noisy low reading: a return not read, or read under the
    # sensor's lowest level (``intensity_floor``), reports exactly 0 (its sweeps hold 14.7 % zeros
    # and 0.07 % readings of 0.01-0.02; docs/sim2real.md, "The greenhouse at range")
    intensity = reading + cfg.intensity_noise * rng.normal(size=n)
    intensity = np.where((u_int < measured) & (intensity >= cfg.intensity_floor), intensity, 0.0)
    # KITTI's values are an 8-bit reading / 256, rounded to 0.01 (its 0.01 levels hold 2 or 3
    # readings: the comb of its histogram)
    intensity = np.round(np.clip(np.round(intensity * 256.0), 0.0, 255.0) / 256.0, 2)
    bias = cfg.range_bias_m * rng.normal(size=num_beams)
    range_m = hits.range_m + cfg.range_noise_m * rng.normal(size=n) + np.take(bias, hits.ring)
    return keep, intensity, range_m


def sensor_response(
    hits: LidarHits, cfg: LidarConfig, num_beams: int, rng: np.random.Generator
) -> LidarSweep:
    """The sweep the sensor reports from ``hits``, in firing order (see :func:`respond`)."""
    keep, intensity, range_m = respond(hits, cfg, num_beams, rng)
    kept = np.flatnonzero(keep)
    points = np.empty((len(kept), 4), np.float32)
    direction = np.take(hits.direction, kept, axis=0)
    points[:, 0:3] = (
        np.take(hits.origin, kept, axis=0) + np.take(range_m, kept)[:, None] * direction
    )
    points[:, 3] = np.take(intensity, kept)
    return LidarSweep(
        points,
        np.take(hits.ring, kept).astype(np.int64),
        np.take(hits.instance, kept).astype(np.int32),
    )


def simulate_lidar(
    geom: SceneGeometry,
    cfg: LidarConfig,
    beams: LidarBeams,
    rng: np.random.Generator,
    sensor_motion: SensorMotion | None = None,
) -> LidarSweep:
    """Cast a sweep into ``geom`` and turn the hits into KITTI-like returns.

    Args:
        geom: the frame's ray-casting geometry (LiDAR frame).
        cfg: the sensor's parameters.
        beams: the laser table.
        rng: the frame's LiDAR generator.
        sensor_motion: the sensor's pose per firing azimuth during the sweep (see
            :func:`cast_sweep`); None for a sensor standing still.

    Returns:
        The sweep in firing order (see module docstring).
    """
    hits = cast_sweep(geom, cfg, beams, rng, sensor_motion)
    return sensor_response(hits, cfg, beams.num_beams, rng)
