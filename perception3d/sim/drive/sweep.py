"""The LiDAR's own motion during a sweep: a spinning sensor on a moving car.

Timing model (KITTI raw, devkit readme: the camera is triggered when the scanner faces
forward): the sensor turns once per frame period, clockwise seen from above (azimuth
decreasing), facing forward (azimuth 0) at the frame's time t_k; it faces backward at
t_k -+ T/2, where the sweep starts and ends (the seam behind the car). A return at azimuth a
(rad, in (-pi, pi], LiDAR frame) is fired at ``t_k - a / (2 pi) * T``. Each return is stored,
as a real sensor records it, in the sensor frame of its own firing: a sweep taken while
driving is skewed (by up to v T / 2 at the seam: 0.5 m at 36 km/h). Road users are held at
their frame-time poses during the sweep (their own motion within a sweep is not modelled).
"""

from __future__ import annotations

import numpy as np

from perception3d.sim.lidar import SensorMotion
from perception3d.sim.world import Transform

__all__ = ["compose", "firing_time_offset_s", "sweep_motion"]

_TIME_BINS = 720  # sensor poses per sweep (0.14 ms apart at 10 Hz: < 3 mm at 70 km/h)


def firing_time_offset_s(azimuth_rad: np.ndarray, period_s: float) -> np.ndarray:
    """Firing time of returns at ``azimuth_rad`` relative to the frame time, seconds.

    Example:
        >>> firing_time_offset_s(np.array([np.pi, np.pi / 2, -np.pi / 2]), 0.1).round(3).tolist()
        [-0.05, -0.025, 0.025]
    """
    return -np.asarray(azimuth_rad, np.float64) / (2 * np.pi) * period_s


def sweep_motion(world_to_lidar, t_frame_s: float, period_s: float) -> SensorMotion:
    """The sensor's pose at each firing in the LiDAR frame of the frame time.

    Args:
        world_to_lidar: ``t -> Transform`` world -> LiDAR frame at time t (seconds).
        t_frame_s: the frame's time; period_s: one turn of the sensor.

    Returns:
        ``motion(azimuth_rad (K,)) -> (rotations (K, 3, 3), translations (K, 3))`` for
        :func:`perception3d.sim.lidar.cast_sweep`.
    """
    ref = world_to_lidar(t_frame_s)
    offsets = (np.arange(_TIME_BINS) + 0.5) / _TIME_BINS * period_s - period_s / 2
    rots = np.empty((_TIME_BINS, 3, 3))
    trans = np.empty((_TIME_BINS, 3))
    for b, dt in enumerate(offsets):
        inv = world_to_lidar(t_frame_s + dt).inverse()  # sensor at firing -> world
        rots[b] = ref.rotation @ inv.rotation
        trans[b] = ref.apply(inv.translation[None])[0]

    def motion(azimuth_rad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dt = firing_time_offset_s(azimuth_rad, period_s)
        b = np.clip(
            ((dt + period_s / 2) / period_s * _TIME_BINS).astype(np.int64), 0, _TIME_BINS - 1
        )
        return rots[b], trans[b]

    return motion


def compose(a: Transform, b: Transform) -> Transform:
    """``a`` after ``b``."""
    return Transform(a.rotation @ b.rotation, a.apply(b.translation[None])[0])
