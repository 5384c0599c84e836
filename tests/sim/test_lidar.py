"""The HDL-64E model: firing order, points on the beam cones, KITTI-like returns."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.data.kitti import read_velodyne
from perception3d.geometry.beams import estimate_beam_table
from perception3d.sim.config import LidarConfig
from perception3d.sim.frame import generate_frame
from perception3d.sim.lidar import (
    KITTI_HDL64E_HEAD_M,
    KITTI_HDL64E_THETA_DEG,
    lidar_beams,
    lidar_rays,
)

from .conftest import tiny_config


def test_beam_table_is_kittis():
    beams = lidar_beams(LidarConfig())
    assert beams.num_beams == 64 and beams.azimuth_steps == 2000
    assert np.degrees(beams.theta_rad[0]) == pytest.approx(1.937)
    assert np.degrees(beams.theta_rad[-1]) == pytest.approx(-25.003)
    assert np.all(np.diff(beams.theta_rad) < 0)
    np.testing.assert_allclose(beams.head_m[[0, 31, 32, 63]], [0.209, 0.198, 0.126, 0.116])
    fewer = lidar_beams(LidarConfig(beam_stride=4))
    np.testing.assert_allclose(np.degrees(fewer.theta_rad), KITTI_HDL64E_THETA_DEG[::4])
    np.testing.assert_allclose(fewer.head_m, KITTI_HDL64E_HEAD_M[::4])


def test_rays_fire_laser_by_laser_each_turning_once_from_azimuth_zero():
    beams = lidar_beams(LidarConfig(azimuth_steps=100, beam_stride=16))
    rays = lidar_rays(beams, start_azimuth_rad=0.01).reshape(4, 100, 6)
    az = np.arctan2(rays[..., 4], rays[..., 3])
    for laser in az:
        assert laser[0] == pytest.approx(0.01, abs=1e-6)  # starts just past 0
        turn = np.unwrap(laser)
        np.testing.assert_allclose(np.diff(turn), 2 * np.pi / 100, atol=1e-5)  # CCW steps
    elevation = np.arcsin(rays[..., 5])
    np.testing.assert_allclose(elevation, beams.theta_rad[:, None].repeat(100, 1), atol=1e-6)
    np.testing.assert_allclose(rays[..., 2], beams.head_m[:, None].repeat(100, 1), atol=1e-7)


@pytest.fixture(scope="module")
def tiny_frame():
    return generate_frame(tiny_config(frames=1), 0)


def test_points_lie_on_the_beam_cones_of_their_laser(tiny_frame):
    """z = d tan(theta) + h for the laser that fired each point (range noise moves a point
    along its ray, so it stays on the cone)."""
    pts, ring, beams = (
        tiny_frame.sweep.points.astype(np.float64),
        tiny_frame.sweep.ring,
        tiny_frame.beams,
    )
    d = np.hypot(pts[:, 0], pts[:, 1])
    expected_z = d * np.tan(beams.theta_rad[ring]) + beams.head_m[ring]
    # float32 storage: about 1e-7 relative on coordinates of up to 120 m
    assert np.abs(pts[:, 2] - expected_z).max() < 1e-4
    # ... and not on a neighbouring laser's cone (the beams are at least 0.25 deg apart)
    wrong = d * np.tan(beams.theta_rad[np.clip(ring + 1, 0, beams.num_beams - 1)])
    assert np.median(np.abs(pts[:, 2] - wrong - beams.head_m[ring])) > 0.01


def test_estimate_beam_table_recovers_the_generators_lasers(tiny_frame):
    sweep, beams = tiny_frame.sweep, tiny_frame.beams
    table = estimate_beam_table(sweep.points, num_beams=beams.num_beams)
    assert table.method == "scan_order"
    assert np.mean(table.ring == sweep.ring) > 0.999


def test_returns_are_kitti_like(full_dataset):
    points = read_velodyne(full_dataset / "training/velodyne/000000.bin")
    assert 95_000 <= len(points) <= 135_000  # KITTI: about 120k per sweep
    r = np.linalg.norm(points[:, :3], axis=1)
    assert r.max() <= 120.1 and r.min() >= 1.9
    i = points[:, 3]
    assert i.min() >= 0 and i.max() <= 1
    np.testing.assert_allclose(i * 100, np.round(i * 100), atol=1e-3)  # 0.01 steps, as KITTI
    assert 0.15 < np.median(i) < 0.4  # KITTI 004139: median 0.28
    table = estimate_beam_table(points)
    assert table.method == "scan_order"
    # Each recovered laser fits the generator's cone z = d tan(theta) + h (beam table in meta).
    import json

    meta = json.loads((full_dataset / "training/meta/000000.json").read_text())
    theta, head = np.radians(meta["lidar_theta_deg"]), np.array(meta["lidar_head_m"])
    d = np.hypot(points[:, 0], points[:, 1])
    residual = points[:, 2] - d * np.tan(theta[table.ring]) - head[table.ring]
    assert np.mean(np.abs(residual) < 0.005) > 0.999  # 4-decimal table in meta: a few mm
