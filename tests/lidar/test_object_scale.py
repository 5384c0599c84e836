"""Object scaling: a car's returns and its box change size together, about the box's bottom
centre, and a grown car neither enters another box nor keeps returns it now hides."""

import numpy as np
import pytest

from perception3d.data.sample import LidarSample
from perception3d.geometry.boxes import points_in_boxes
from perception3d.lidar.augment import PhysicalAugmentConfig, build_transforms
from perception3d.lidar.object_scale import ObjectScale, ObjectScaleConfig, scale_objects


def _car_points(box: np.ndarray, n: int, rng) -> np.ndarray:
    """n points spread inside a box (LiDAR frame), intensity 0.5."""
    x, y, z, l, w, h, yaw = box
    local = rng.uniform(-0.5, 0.5, (n, 3)) * [l, w, h]
    c, s = np.cos(yaw), np.sin(yaw)
    pts = np.c_[x + c * local[:, 0] - s * local[:, 1], y + s * local[:, 0] + c * local[:, 1],
                z + local[:, 2], np.full(n, 0.5)]  # fmt: skip
    return pts.astype(np.float32)


def _scene(rng, boxes, names, n_background=300):
    background = np.c_[rng.uniform(0, 40, (n_background, 2)) - [0, 20],
                       np.full(n_background, -1.73), np.zeros(n_background)]  # fmt: skip
    points = np.concatenate([_car_points(b, 400, rng) for b in boxes] + [background])
    return LidarSample("0", points.astype(np.float32), np.array(boxes, float), np.array(names))


def test_shrunk_car_keeps_its_points_in_its_new_box_on_the_ground():
    rng = np.random.default_rng(0)
    box = [20.0, 3.0, -0.96, 3.9, 1.6, 1.54, 0.7]
    s = _scene(rng, [box], ["Car"])
    out = scale_objects(s, np.array([[0.65, 0.9, 1.1]]))
    new = out.boxes_lidar[0]
    np.testing.assert_allclose(new[3:6], [3.9 * 0.65, 1.6 * 0.9, 1.54 * 1.1])
    np.testing.assert_allclose(new[2] - new[5] / 2, box[2] - box[5] / 2)  # same bottom
    np.testing.assert_allclose(new[[0, 1, 6]], np.array(box)[[0, 1, 6]])
    assert (points_in_boxes(out.points, out.boxes_lidar) == 0).sum() == 400
    # the car's points now span the new length along its heading
    inside = out.points[points_in_boxes(out.points, out.boxes_lidar) == 0]
    along = (inside[:, 0] - new[0]) * np.cos(new[6]) + (inside[:, 1] - new[1]) * np.sin(new[6])
    assert 0.9 * new[3] < np.ptp(along) <= new[3] + 1e-5
    # nothing else moved and nothing was removed
    assert len(out.points) == len(s.points)
    np.testing.assert_array_equal(out.points[400:], s.points[400:])


def test_grown_car_removes_the_returns_it_hides_but_not_into_another_box():
    rng = np.random.default_rng(1)
    s = _scene(rng, [[10.0, 0.0, -0.96, 3.9, 1.6, 1.54, 0.0]], ["Car"], n_background=0)
    clutter = np.array([[12.1, 0.0, -0.9, 0.2]], np.float32)  # just past the car's rear face
    s = LidarSample("0", np.concatenate([s.points, clutter]), s.boxes_lidar, s.names)
    out = scale_objects(s, np.array([[1.15, 1.0, 1.0]]))
    assert out.boxes_lidar[0, 3] == pytest.approx(3.9 * 1.15)
    assert len(out.points) == 400 and not np.any(np.all(out.points == clutter[0], axis=1))
    # a neighbour 0.2 m behind: growing would enter its box, so nothing changes
    two = _scene(rng, [[10.0, 0.0, -0.96, 3.9, 1.6, 1.54, 0.0],
                       [14.1, 0.0, -0.96, 3.9, 1.6, 1.54, 0.0]], ["Car", "Car"])  # fmt: skip
    out = scale_objects(two, np.array([[1.15, 1.0, 1.0], [1.0, 1.0, 1.0]]))
    np.testing.assert_array_equal(out.points, two.points)
    np.testing.assert_array_equal(out.boxes_lidar, two.boxes_lidar)


def test_transform_draws_per_class_and_is_reproducible():
    rng = np.random.default_rng(2)
    boxes = [[10.0, -5.0, -0.96, 3.9, 1.6, 1.54, 0.0], [10.0, 5.0, -0.9, 0.8, 0.6, 1.7, 0.0]]
    s = _scene(rng, boxes, ["Car", "Pedestrian"])
    t = ObjectScale(ObjectScaleConfig(prob=1.0, length_factor=(0.7, 0.8)))
    a, b = t(s, np.random.default_rng(5)), t(s, np.random.default_rng(5))
    np.testing.assert_array_equal(a.points, b.points)
    assert 0.7 * 3.9 <= a.boxes_lidar[0, 3] <= 0.8 * 3.9
    np.testing.assert_array_equal(a.boxes_lidar[1], s.boxes_lidar[1])  # not a Car
    off = ObjectScale(ObjectScaleConfig(prob=0.0))(s, np.random.default_rng(5))
    np.testing.assert_array_equal(off.points, s.points)


def test_config_and_factors_are_checked():
    with pytest.raises(ValueError, match=r"object_scale\.length_factor"):
        ObjectScaleConfig(length_factor=(0.0, 1.0))
    with pytest.raises(ValueError, match=r"object_scale\.prob"):
        ObjectScaleConfig(prob=1.5)
    s = _scene(np.random.default_rng(3), [[10.0, 0, -0.96, 3.9, 1.6, 1.54, 0]], ["Car"])
    with pytest.raises(ValueError, match=r"factors must be \(1, 3\)"):
        scale_objects(s, np.ones((2, 3)))
    names = [type(t).__name__ for t in build_transforms(
        PhysicalAugmentConfig(object_scale=ObjectScaleConfig(prob=0.5)))]  # fmt: skip
    assert names[0] == "ObjectScale"
