"""tools/transplant_cars.py: moving a car's returns to another car's place keeps its geometry."""

import math

import numpy as np
import pytest

from perception3d.geometry.boxes import points_in_boxes
from tests.tools.scripts import load_tool


@pytest.fixture(scope="module")
def tool():
    return load_tool("transplant_cars")


def _car_points(box: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n returns inside a yawed LiDAR-frame box, with an intensity column."""
    local = rng.uniform(-0.5, 0.5, (n, 3)) * box[3:6] * 0.9
    c, s = math.cos(box[6]), math.sin(box[6])
    xy = local[:, :2] @ np.array([[c, s], [-s, c]]) + box[:2]
    return np.column_stack([xy, local[:, 2] + box[2], rng.uniform(0, 1, n)])


def test_moved_returns_keep_range_and_sit_in_the_moved_box(tool):
    rng = np.random.default_rng(0)
    src = np.array([30.0, 0.0, -0.9, 4.0, 1.7, 1.5, 0.2])  # bottom at z = -1.65
    dst = np.array([0.0, 31.0, -0.5, 3.6, 1.6, 1.4, 1.0])  # azimuth 90 deg, bottom at -1.2
    pts = _car_points(src, 200, rng)
    moved, box = tool.move_object(pts, src, dst)
    assert np.allclose(np.hypot(moved[:, 0], moved[:, 1]), np.hypot(pts[:, 0], pts[:, 1]))
    assert np.allclose(moved[:, 3], pts[:, 3])  # intensities travel with their points
    assert box[2] - box[5] / 2 == pytest.approx(dst[2] - dst[5] / 2)  # bottoms aligned
    assert math.atan2(box[1], box[0]) == pytest.approx(math.pi / 2)
    assert box[6] == pytest.approx(0.2 + math.pi / 2)  # the sensor sees the same side
    assert (points_in_boxes(moved[:, :3], box[None]) == 0).all()


def test_object_mask_takes_edge_returns_and_leaves_the_ground(tool):
    box = np.array([20.0, 0.0, -0.9, 4.0, 1.8, 1.6, 0.0])  # bottom at z = -1.7
    pts = np.array([
        [20.0, 0.0, -1.0, 0.0],   # inside
        [22.1, 0.0, -1.0, 0.0],   # 0.1 m past the rear, within the grown box
        [22.3, 0.0, -1.0, 0.0],   # 0.3 m past it: outside
        [20.0, 0.0, -1.62, 0.0],  # 0.08 m above the bottom: ground
    ])  # fmt: skip
    assert tool.object_mask(pts, box).tolist() == [True, True, False, False]
