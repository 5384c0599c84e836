"""Traffic: IDM followers keep their distance and their accelerations stay bounded; walkers
stop where told; the sensor's pose during a sweep follows the documented timing."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.errors import ConfigError
from perception3d.sim.drive.config import load_drive_config
from perception3d.sim.drive.sweep import sweep_motion
from perception3d.sim.drive.traffic import Body, IdmParams, simulate
from perception3d.sim.world import Transform

PARAMS = IdmParams(1.5, 2.0, 1.5, 2.0)


def test_follower_stops_behind_a_standing_car():
    car = Body(np.array([40.0, 0.0, 0.0]), 0.0, 4.5, 1.8, "static")
    me = Body(np.zeros(3), 0.0, 4.8, 1.9, "idm", 12.0, 12.0)
    tracks = simulate([me, car], PARAMS, 0.0, 20.0)
    x = tracks[0].xyz_m[:, 0]
    gap = 40.0 - x - (4.5 + 4.8) / 2
    assert gap.min() > 0.5  # no collision
    assert gap[-1] < 6.0  # it did close up
    accel = tracks[0].accel_mps2[:, 0]
    assert accel.max() <= 1.5 + 1e-9 and accel.min() >= -8.0
    speed = tracks[0].velocity_mps[:, 0]
    assert speed[-1] < 0.2 and np.all(np.diff(x) >= -1e-12)


def test_free_road_reaches_the_desired_speed_smoothly():
    me = Body(np.zeros(3), 0.0, 4.8, 1.9, "idm", 10.0, 2.0, wander=(0.15, 80.0, 0.3))
    tr = simulate([me], PARAMS, 0.0, 30.0)[0]
    assert tr.velocity(30.0)[0] == pytest.approx(10.0, abs=0.3)
    assert np.abs(np.diff(tr.velocity_mps[:, 0])).max() <= 1.5 * 0.05 + 1e-9
    assert np.abs(tr.xyz_m[:, 1]).max() <= 0.3 + 1e-9  # wanders within its lane
    assert tr.position(0.0)[1] == 0.0


def test_crossing_walker_stops_at_the_far_edge():
    ped = Body(np.array([10.0, -3.0, 0.9]), np.pi / 2, 0.5, 0.6, "walk", 1.5, stop_y_m=4.0)
    tr = simulate([ped], PARAMS, 0.0, 10.0)[0]
    assert tr.position(10.0)[1] == pytest.approx(4.0)
    assert tr.position(2.0)[1] == pytest.approx(0.0, abs=0.08)


def test_sweep_motion_puts_the_rear_firing_half_a_turn_earlier():
    v = 10.0  # m/s along x, no rotation

    def world_to_lidar(t: float) -> Transform:
        return Transform(np.eye(3), np.array([-v * t, 0.0, 0.0]))

    motion = sweep_motion(world_to_lidar, 1.0, 0.1)
    rot, trans = motion(np.array([np.pi - 1e-6, 0.0, -np.pi / 2]))
    np.testing.assert_allclose(rot, np.broadcast_to(np.eye(3), (3, 3, 3)), atol=1e-12)
    # facing backward: fired 50 ms before the frame time, 0.5 m behind; facing right: 25 ms later
    np.testing.assert_allclose(trans[:, 0], [-0.5, 0.0, 0.25], atol=v * 0.1 / 720)


def test_config_refuses_a_drive_longer_than_its_world():
    with pytest.raises(ConfigError, match="beyond max_route_m"):
        load_drive_config(None, ["frames=400"])
    with pytest.raises(ConfigError, match="date must look like YYYY_MM_DD"):
        load_drive_config(None, ["date='26_09_2011'"])
