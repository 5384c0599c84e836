"""Multi-sweep accumulation: static surfaces seen from a moving sensor land on themselves, the
time channel, the single-sweep case, ego removal and the errors."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.lidar.multisweep import accumulate_sweeps, remove_ego_points


def _pose(x: float, y: float, yaw: float) -> np.ndarray:
    """(4, 4) LiDAR -> world of a sensor at (x, y, 0) turned by ``yaw`` about z."""
    c, s = np.cos(yaw), np.sin(yaw)
    out = np.eye(4)
    out[:2, :2] = [[c, -s], [s, c]]
    out[:2, 3] = (x, y)
    return out


def _wall_world(rng) -> np.ndarray:
    """(N, 4) points of a wall x = 20 m in the world, intensity in [0, 1]."""
    n = 200
    return np.column_stack(
        [np.full(n, 20.0), rng.uniform(-5, 5, n), rng.uniform(-1, 2, n), rng.uniform(0, 1, n)]
    )


def _seen_from(points_world: np.ndarray, world_from_lidar: np.ndarray) -> np.ndarray:
    lidar_from_world = np.linalg.inv(world_from_lidar)
    xyz = points_world[:, :3] @ lidar_from_world[:3, :3].T + lidar_from_world[:3, 3]
    return np.column_stack([xyz, points_world[:, 3]]).astype(np.float32)


def test_a_static_wall_from_three_poses_coincides(rng):
    wall = _wall_world(rng)
    # the sensor drives 1 m per sweep along x while turning 0.05 rad per sweep
    poses = [_pose(2.0, 0.3, 0.1), _pose(1.0, 0.1, 0.05), _pose(0.0, 0.0, 0.0)]
    sweeps = [_seen_from(wall, p) for p in poses]
    out = accumulate_sweeps(sweeps, poses, [0.2, 0.1, 0.0])
    assert out.shape == (600, 5) and out.dtype == np.float32
    for k in range(3):  # each sweep's wall, moved into the current frame, is the current wall
        np.testing.assert_allclose(out[200 * k : 200 * (k + 1), :4], sweeps[0], atol=2e-5)


def test_hand_computed_transform():
    # current sensor at (1, 0) turned 90 degrees left; the earlier one at the origin, unturned.
    # A point 5 m ahead of the earlier sensor is world (5, 0): from the current sensor it lies
    # 4 m away along the current -y (to its right): (0, -4).
    earlier = np.array([[5.0, 0.0, 1.0, 0.25]], np.float32)
    current = np.zeros((0, 4), np.float32)
    poses = [_pose(1.0, 0.0, np.pi / 2), np.eye(4)]
    out = accumulate_sweeps([current, earlier], poses, [10.1, 10.0])
    np.testing.assert_allclose(out, [[0.0, -4.0, 1.0, 0.25, 0.1]], atol=1e-5)


def test_time_channel_is_the_lag_of_each_sweep(rng):
    sweeps = [rng.uniform(-30, 30, (n, 4)).astype(np.float32) for n in (50, 40, 30)]
    out = accumulate_sweeps(sweeps, [np.eye(4)] * 3, [3.0, 2.9, 2.75], ego_half_extent_m=None)
    np.testing.assert_allclose(out[:, 4], np.repeat([0.0, 0.1, 0.25], [50, 40, 30]), atol=1e-6)


def test_single_sweep_is_the_sweep_with_a_zero_channel(rng):
    pts = rng.uniform(-1.5, 1.5, (100, 4)).astype(np.float32)  # many inside the ego square
    out = accumulate_sweeps([pts], [_pose(3.0, 4.0, 1.0)], [7.0])
    np.testing.assert_array_equal(out[:, :4], pts)  # the current sweep is kept whole
    np.testing.assert_array_equal(out[:, 4], 0.0)


def test_extra_columns_are_dropped_and_the_result_is_deterministic(rng):
    sweeps = [rng.uniform(-30, 30, (80, 6)).astype(np.float32) for _ in range(3)]
    poses, times = [_pose(2.0, 0, 0.1), _pose(1.0, 0, 0.05), np.eye(4)], [0.2, 0.1, 0.0]
    a = accumulate_sweeps(sweeps, poses, times)
    b = accumulate_sweeps([s.copy() for s in sweeps], poses, times)
    assert a.shape[1] == 5
    np.testing.assert_array_equal(a, b)


def test_ego_points_of_earlier_sweeps_are_removed():
    ego = np.array([[0.5, -0.5, -1.0, 1.0], [10.0, 0.0, 0.0, 1.0]], np.float32)
    out = accumulate_sweeps([ego, ego], [np.eye(4), np.eye(4)], [0.1, 0.0])
    assert len(out) == 3  # both current points, the earlier sweep's far point only
    np.testing.assert_array_equal(out[2], np.float32([10.0, 0.0, 0.0, 1.0, 0.1]))
    assert remove_ego_points(ego, 2.0).shape == (1, 4)


@pytest.mark.parametrize(
    ("points", "poses", "times", "match"),
    [
        ([], [], [], "at least the current sweep"),
        ([np.zeros((1, 4))] * 2, [np.eye(4)], [0.0, 0.1], "one entry per sweep"),
        ([np.zeros((1, 4)), None], [np.eye(4)] * 2, [0.1, 0.0], "sweep 1: no points"),
        ([np.zeros((1, 4))] * 2, [np.eye(4), None], [0.1, 0.0], "sweep 1: no pose"),
        ([np.zeros((1, 3))], [np.eye(4)], [0.0], r"sweep 0: points must be \(N, 4\+\)"),
        ([np.zeros((1, 4))], [np.eye(3)], [0.0], "finite"),
        ([np.zeros((1, 4))], [2 * np.eye(4)], [0.0], "not a rigid transform"),
        ([np.zeros((1, 4))] * 2, [np.eye(4)] * 2, [0.0, 0.1], "sweep 1: time 0.1 s is later"),
        ([np.zeros((1, 4))], [np.eye(4)], [np.nan], "finite"),
    ],
)
def test_bad_input_raises_naming_the_sweep(points, poses, times, match):
    with pytest.raises(ValueError, match=match):
        accumulate_sweeps(points, poses, times)
