"""The height grid's pre-test: a segment it calls free is free for the ray caster too."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.sim.camera import camera_calibration
from perception3d.sim.frame import _SCENE, frame_rng
from perception3d.sim.height_grid import HALF_WIDTH_M, build_height_grid
from perception3d.sim.raycast import build_geometry
from perception3d.sim.scene import sample_scene
from perception3d.sim.world import Transform

from .conftest import tiny_config

IDENTITY = Transform(np.eye(3), np.zeros(3))
# A ground square (z = 0, 10 m around the origin) and a roof square at z = 2 m over x, y in [0, 1].
VERTICES = np.array(
    [[-10, -10, 0], [10, -10, 0], [10, 10, 0], [-10, 10, 0], [0, 0, 2], [1, 0, 2], [1, 1, 2],
     [0, 1, 2]], np.float32,
)  # fmt: skip
TRIANGLES = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]], np.uint32)


def _up_ray(x: float, y: float, z: float = 0.01) -> np.ndarray:
    return np.array([[x, y, z, 0, 0, 1]], np.float32)


def test_grid_spans_the_sensor_surroundings():
    grid = build_height_grid(VERTICES, TRIANGLES, IDENTITY)
    cells = int(2 * HALF_WIDTH_M)
    assert grid.top_m.shape == (cells, cells)
    np.testing.assert_allclose(grid.origin_xy_m, [-HALF_WIDTH_M, -HALF_WIDTH_M])
    assert grid.top_m.max() == pytest.approx(2.0)


@pytest.mark.parametrize(
    "ray, length, free",
    [
        (_up_ray(5.5, 5.5), 20.0, True),  # open ground, nothing above
        (_up_ray(0.5, 0.5), 20.0, False),  # under the roof
        (_up_ray(0.5, 0.5, 2.5), 20.0, True),  # above the roof
        (_up_ray(5.5, 5.5, -0.01), 20.0, False),  # starts under the ground
        (np.array([[5.5, 0.5, 1.0, -1, 0, 0]], np.float32), 3.0, True),  # sideways, short
        (np.array([[5.5, 0.5, 1.0, -1, 0, 0]], np.float32), 6.0, False),  # passes under the roof
        (_up_ray(HALF_WIDTH_M + 5, 0.0), 1.0, False),  # outside the grid: never free
    ],
)
def test_free_segments_on_a_roof(ray, length, free):
    grid = build_height_grid(VERTICES, TRIANGLES, IDENTITY)
    assert grid.free_segments(ray, length).tolist() == [free]


def test_free_segments_are_not_occluded_in_a_scene():
    """Random segments from points of a generated scene: none the grid calls free is occluded,
    and straight-up segments from open ground are mostly called free."""
    cfg = tiny_config()
    calib = camera_calibration(cfg.camera)
    scene = sample_scene(cfg, frame_rng(cfg.seed, 0, _SCENE), calib)
    geom = build_geometry(scene)
    rng = np.random.default_rng(0)
    road_to_lidar = scene.road_to_lidar
    xy = rng.uniform(-40, 60, size=(20000, 2))
    start_road = np.column_stack([xy, rng.uniform(0.001, 3.0, len(xy))])
    dirs_road = rng.normal(size=(len(xy), 3))
    dirs_road[: len(xy) // 2] = [0, 0, 1]  # half of them straight up
    dirs_road /= np.linalg.norm(dirs_road, axis=1, keepdims=True)
    rays = np.empty((len(xy), 6), np.float32)
    rays[:, 0:3] = road_to_lidar.apply(start_road)
    rays[:, 3:6] = dirs_road @ road_to_lidar.rotation.T
    for length in (2.0, 20.0):
        free = geom.height_grid.free_segments(rays, length)
        occluded = geom.occluded(rays, tfar=length)
        assert not np.any(free & occluded)
        assert free[: len(xy) // 2].mean() > 0.2
