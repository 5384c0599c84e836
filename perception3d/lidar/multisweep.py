"""Multi-sweep accumulation: the current LiDAR sweep plus K earlier sweeps, ego-motion
compensated into the current sensor frame, with the time lag of each point as a 5th channel.

This is the input of nuScenes detectors (Caesar et al., CVPR 2020: 10 sweeps at 20 Hz;
CenterPoint, OpenPCDet's nuScenes configs): each earlier sweep is mapped by
``inv(world_from_lidar[current]) @ world_from_lidar[earlier]`` and its points carry
``dt_s = t_current - t_earlier`` (0 for the current sweep); points of the ego car are removed
from the earlier sweeps first (OpenPCDet's ``remove_ego_points``: the square
|x| < 1 m and |y| < 1 m about the sensor). Static surfaces seen from a moving sensor then land
on themselves; a moving object leaves a trail whose age the time channel tells.

Within-sweep motion (a spinning sensor's points are each in the frame of their own firing) is
not undone here: every sweep is treated as taken at its one timestamp, as nuScenes sweeps are.

Example:
    >>> wall = np.array([[10.0, 0.0, 0.0, 0.5]], np.float32)
    >>> moved = np.eye(4); moved[0, 3] = 1.0  # the sensor 1 m further along x
    >>> pts = accumulate_sweeps([wall - [1, 0, 0, 0], wall], [moved, np.eye(4)], [0.1, 0.0])
    >>> pts.tolist()
    [[9.0, 0.0, 0.0, 0.5, 0.0], [9.0, 0.0, 0.0, 0.5, 0.10000000149011612]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["EGO_HALF_EXTENT_M", "accumulate_sweeps", "remove_ego_points"]

EGO_HALF_EXTENT_M = 1.0  # OpenPCDet nuscenes_dataset.remove_ego_points(center_radius=1.0)


def remove_ego_points(points_lidar: np.ndarray, half_extent_m: float = EGO_HALF_EXTENT_M):
    """The points outside the square ``|x| < half_extent_m and |y| < half_extent_m`` about
    the sensor (the ego car's own returns); ``points_lidar``: (N, C), LiDAR frame, metres.

    Example:
        >>> remove_ego_points(np.array([[0.5, -0.2, 0, 1], [3.0, 0.1, 0, 1]])).tolist()
        [[3.0, 0.1, 0.0, 1.0]]
    """
    x, y = points_lidar[:, 0], points_lidar[:, 1]
    keep = (x >= half_extent_m) | (x <= -half_extent_m) | (y >= half_extent_m)
    keep |= y <= -half_extent_m
    return points_lidar[keep]


def _check_pose(pose, k: int) -> np.ndarray:
    if pose is None:
        raise ValueError(f"sweep {k}: no pose (world_from_lidar is None)")
    pose = np.asarray(pose, dtype=np.float64)
    if pose.shape != (4, 4) or not np.isfinite(pose).all():
        raise ValueError(f"sweep {k}: world_from_lidar must be a finite (4, 4), got {pose.shape}")
    rot = pose[:3, :3]
    if not np.allclose(pose[3], [0, 0, 0, 1]) or not np.allclose(rot @ rot.T, np.eye(3), atol=1e-4):
        raise ValueError(f"sweep {k}: world_from_lidar is not a rigid transform")
    return pose


def _check_points(points, k: int) -> np.ndarray:
    if points is None:
        raise ValueError(f"sweep {k}: no points (missing frame)")
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] < 4:
        raise ValueError(f"sweep {k}: points must be (N, 4+), got {points.shape}")
    return points


def _transform_xyz(block: np.ndarray, matrix: np.ndarray) -> None:
    """Apply the rigid (4, 4) ``matrix`` to the xyz columns of ``block`` in place, in float32
    (error about 1e-5 m at 100 m), column by column: a (N, 3) @ (3, 3) matmul goes through
    BLAS, whose threads made it 10x slower on a loaded 2-core machine."""
    rot, shift = matrix[:3, :3].astype(np.float32), matrix[:3, 3].astype(np.float32)
    x, y, z = block[:, 0].copy(), block[:, 1].copy(), block[:, 2].copy()
    for j in range(3):
        block[:, j] = x * rot[j, 0] + y * rot[j, 1] + z * rot[j, 2] + shift[j]


def accumulate_sweeps(
    points_lidar: Sequence[np.ndarray],
    world_from_lidar: Sequence[np.ndarray],
    times_s: Sequence[float],
    ego_half_extent_m: float | None = EGO_HALF_EXTENT_M,
) -> np.ndarray:
    """The current sweep and K earlier ones in the current LiDAR frame, with a time channel.

    Args:
        points_lidar: K + 1 sweeps, the current first: each (N_k, 4+) ``[x, y, z, intensity,
            ...]`` in its own LiDAR frame, metres (columns past intensity are dropped).
        world_from_lidar: K + 1 poses, (4, 4) LiDAR -> world, rigid (e.g. OXTS ``T_w_imu``
            composed with ``inv(T_velo_imu)``).
        times_s: K + 1 sweep times in seconds (any common origin); earlier sweeps must not be
            later than the current one.
        ego_half_extent_m: remove the earlier sweeps' points within this square about their
            sensor before moving them (None: keep all); the current sweep is kept whole.

    Returns:
        (N, 5) float32 ``[x, y, z, intensity, dt_s]``, current LiDAR frame, the current
        sweep's points first (dt_s 0), then each earlier sweep's (dt_s = t_current - t_k
        >= 0), in the order given. K = 0 gives the current sweep with a zero column.

    Raises:
        ValueError: no sweep, lists of different lengths, a missing (None) sweep or pose, a
            pose that is not a finite rigid (4, 4), points not (N, 4+), a non-finite time or
            an earlier sweep later than the current one; the message names the sweep index.
    """
    if len(points_lidar) == 0:
        raise ValueError("accumulate_sweeps needs at least the current sweep")
    if not len(points_lidar) == len(world_from_lidar) == len(times_s):
        raise ValueError(
            f"points_lidar, world_from_lidar and times_s must have one entry per sweep, got "
            f"{len(points_lidar)}, {len(world_from_lidar)}, {len(times_s)}"
        )
    times = np.asarray(times_s, dtype=np.float64)
    if not np.isfinite(times).all():
        raise ValueError(f"times_s must be finite, got {times.tolist()}")
    lidar_from_world = np.linalg.inv(_check_pose(world_from_lidar[0], 0))
    out = []
    for k in range(len(points_lidar)):
        points = _check_points(points_lidar[k], k)
        dt_s = times[0] - times[k]
        if dt_s < 0:
            raise ValueError(f"sweep {k}: time {times[k]} s is later than the current sweep's")
        pose = _check_pose(world_from_lidar[k], k)
        if k > 0 and ego_half_extent_m is not None:
            points = remove_ego_points(points, ego_half_extent_m)
        block = np.empty((len(points), 5), dtype=np.float32)
        block[:, :4] = points[:, :4]
        block[:, 4] = dt_s
        if k > 0:
            _transform_xyz(block, lidar_from_world @ pose)
        out.append(block)
    return np.concatenate(out)
