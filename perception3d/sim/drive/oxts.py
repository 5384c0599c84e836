"""OXTS packets (GPS/IMU, KITTI raw ``oxts/data``) of the ego car's motion.

The IMU's pose is the LiDAR's (``DrivePlan.world_to_lidar``) composed with the calibration's
IMU -> Velodyne transform. The world frame becomes East-North-Up by turning it by the plan's
``enu_heading_rad``; positions become latitude / longitude through the same Mercator
projection pykitti inverts (earth radius 6378137 m, scale cos(latitude of the first frame)),
with the first frame's IMU at the plan's geolocation, so ``pykitti`` poses reproduce the
simulated ones. Velocities and accelerations are the ego reference point's (the 1 m lever arm
of the IMU under yaw rates of a few 0.01 rad/s adds < 0.05 m/s, neglected); accelerations are
specific forces as an accelerometer reads them (gravity's reaction, 9.81 m/s^2, included).
Accuracies and status fields are fixed, typical values of KITTI's drives.
"""

from __future__ import annotations

import numpy as np

from perception3d.sim.drive.plan import DrivePlan

__all__ = ["EARTH_RADIUS_M", "GRAVITY_MPS2", "imu_to_world", "oxts_packets", "rotation_to_rpy"]

EARTH_RADIUS_M = 6378137.0
GRAVITY_MPS2 = 9.81
_STATUS = (0.2, 0.05, 4, 10, 4, 4, 4)  # pos_accuracy m, vel_accuracy m/s, navstat..orimode


def rotation_to_rpy(rot: np.ndarray) -> tuple[float, float, float]:
    """(roll, pitch, yaw) rad of ``rot = Rz(yaw) Ry(pitch) Rx(roll)`` (pykitti's order).

    Example:
        >>> [round(v, 6) for v in rotation_to_rpy(np.eye(3))]
        [0.0, -0.0, 0.0]
    """
    pitch = -np.arcsin(np.clip(rot[2, 0], -1.0, 1.0))
    return (
        float(np.arctan2(rot[2, 1], rot[2, 2])),
        float(pitch),
        float(np.arctan2(rot[1, 0], rot[0, 0])),
    )


def imu_to_world(plan: DrivePlan, t: float) -> np.ndarray:
    """(4, 4) IMU -> world (road frame of the start) at time ``t``."""
    w2l = plan.world_to_lidar(t).inverse()
    lidar_to_world = np.eye(4)
    lidar_to_world[:3, :3], lidar_to_world[:3, 3] = w2l.rotation, w2l.translation
    imu_to_velo = np.eye(4)
    if plan.calib.Tr_imu_to_velo is not None:
        imu_to_velo[:3, :] = plan.calib.Tr_imu_to_velo
    return lidar_to_world @ imu_to_velo


def _enu_rotation(heading: float) -> np.ndarray:
    c, s = np.cos(heading), np.sin(heading)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def oxts_packets(plan: DrivePlan) -> np.ndarray:
    """(F, 30) float64 OXTS values per frame (``perception3d.data.kitti_raw_write``'s fields)."""
    to_enu = _enu_rotation(plan.enu_heading_rad)
    lat0, lon0, alt0 = plan.origin_lat_lon_alt
    scale = np.cos(np.radians(lat0))
    tx0 = scale * EARTH_RADIUS_M * np.radians(lon0)
    ty0 = scale * EARTH_RADIUS_M * np.log(np.tan(np.radians(90.0 + lat0) / 2))
    times = [plan.frame_time(k) for k in range(plan.cfg.frames)]
    poses = [imu_to_world(plan, t) for t in times]
    p0 = to_enu @ poses[0][:3, 3]
    rows = []
    for t, pose in zip(times, poses):
        rot = to_enu @ pose[:3, :3]  # IMU -> ENU
        east, north, up = to_enu @ pose[:3, 3] - p0
        lon = np.degrees((tx0 + east) / (scale * EARTH_RADIUS_M))
        lat = np.degrees(2 * np.arctan(np.exp((ty0 + north) / (scale * EARTH_RADIUS_M)))) - 90.0
        roll, pitch, yaw = rotation_to_rpy(rot)
        vel = to_enu @ plan.ego.velocity(t)
        force = to_enu @ plan.ego.accel(t) + [0.0, 0.0, GRAVITY_MPS2]
        omega = np.array([0.0, 0.0, plan.ego.yaw_rate(t)])
        c, s = np.cos(yaw), np.sin(yaw)
        level = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])  # ENU -> forward/left/up
        rows.append(
            [lat, lon, alt0 + up, roll, pitch, yaw, vel[1], vel[0], *(level @ vel),
             *(rot.T @ force), *(level @ force), *(rot.T @ omega), *(level @ omega), *_STATUS]
        )  # fmt: skip
    return np.array(rows, np.float64)
