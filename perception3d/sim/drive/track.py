"""Poses over time: a body's sampled trajectory, interpolated at any time of the drive.

World frame: the road frame of the drive's start (x along the road in the ego car's driving
direction, y left, z up, z = 0 on the road; ``perception3d.sim.world``). Times in seconds from
the drive's first frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Track"]


@dataclass(frozen=True)
class Track:
    """A body's motion sampled at regular times (linear interpolation between samples).

    Attributes:
        times_s: (T,) float64 increasing sample times.
        xyz_m: (T, 3) float64 reference point, world frame (ego: the road point under the
            LiDAR; other road users: their label box's centre).
        yaw_rad: (T,) float64 heading about world z, unwrapped (no jumps of 2 pi).
        velocity_mps: (T, 3) float64 velocity of the reference point, world frame.
        accel_mps2: (T, 3) float64 acceleration, world frame (gravity not included).
        yaw_rate_radps: (T,) float64.

    Example:
        >>> t = np.array([0.0, 1.0])
        >>> tr = Track(t, np.array([[0.0, 0, 0], [10.0, 0, 0]]), np.zeros(2),
        ...            np.array([[10.0, 0, 0]] * 2), np.zeros((2, 3)), np.zeros(2))
        >>> tr.position(0.25).tolist()
        [2.5, 0.0, 0.0]
    """

    times_s: np.ndarray
    xyz_m: np.ndarray
    yaw_rad: np.ndarray
    velocity_mps: np.ndarray
    accel_mps2: np.ndarray
    yaw_rate_radps: np.ndarray

    def _interp(self, t: float | np.ndarray, values: np.ndarray) -> np.ndarray:
        t = np.asarray(t, np.float64)
        lo, hi = self.times_s[0], self.times_s[-1]
        if np.any(t < lo - 1e-9) or np.any(t > hi + 1e-9):
            raise ValueError(f"time {t} outside the track's [{lo}, {hi}] s")
        if values.ndim == 1:
            return np.interp(t, self.times_s, values)
        return np.stack([np.interp(t, self.times_s, values[:, k]) for k in range(3)], -1)

    def position(self, t: float | np.ndarray) -> np.ndarray:
        """(3,) or (K, 3) world position at ``t``."""
        return self._interp(t, self.xyz_m)

    def yaw(self, t: float | np.ndarray) -> float | np.ndarray:
        """Heading at ``t`` (rad, unwrapped)."""
        return self._interp(t, self.yaw_rad)

    def velocity(self, t: float) -> np.ndarray:
        return self._interp(t, self.velocity_mps)

    def accel(self, t: float) -> np.ndarray:
        return self._interp(t, self.accel_mps2)

    def yaw_rate(self, t: float) -> float:
        return float(self._interp(t, self.yaw_rate_radps))

    def pose_matrix(self, t: float) -> np.ndarray:
        """(4, 4) body -> world at ``t`` (rotation about z by the heading)."""
        c, s = np.cos(self.yaw(t)), np.sin(self.yaw(t))
        out = np.eye(4)
        out[:2, :2] = [[c, -s], [s, c]]
        out[:3, 3] = self.position(t)
        return out
