"""Global augmentation: boxes follow their points exactly, each transform has its inverse,
and the random versions depend only on the generator."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.data.kitti import KittiObjectDataset
from perception3d.data.sample import apply_transforms, sample_from_frame
from perception3d.geometry.boxes import points_in_boxes
from perception3d.lidar.global_aug import (
    GlobalAugConfig,
    flip_x,
    global_transforms,
    rotate_z,
    scale,
    translate,
)


@pytest.fixture(scope="module")
def sample(kitti_root):
    return sample_from_frame(KittiObjectDataset(kitti_root).frame("004139"))


def _membership(s):
    return points_in_boxes(s.points, s.boxes_lidar)


@pytest.mark.parametrize(
    "transform",
    [
        flip_x,
        lambda s: rotate_z(s, 0.7),
        lambda s: scale(s, 1.04),
        lambda s: translate(s, (0.3, -0.2, 0.1)),
    ],
    ids=["flip", "rotate", "scale", "translate"],
)
def test_points_stay_in_their_boxes(sample, transform):
    before = _membership(sample)
    after = _membership(transform(sample))
    assert (before >= 0).sum() > 1000  # the frame has many object points
    # float32 points sitting exactly on a face may flip membership; nothing else may
    assert (before != after).mean() < 1e-4


def test_inverses(sample):
    back = flip_x(flip_x(sample))
    np.testing.assert_array_equal(back.points, sample.points)
    np.testing.assert_allclose(back.boxes_lidar, sample.boxes_lidar, atol=1e-12)
    back = scale(rotate_z(rotate_z(scale(sample, 1.05), 0.4), -0.4), 1 / 1.05)
    np.testing.assert_allclose(back.points, sample.points, atol=1e-4)
    np.testing.assert_allclose(back.boxes_lidar, sample.boxes_lidar, atol=1e-9)


def test_flip_mirrors_heading(sample):
    flipped = flip_x(sample)
    np.testing.assert_allclose(np.sin(flipped.boxes_lidar[:, 6]), -np.sin(sample.boxes_lidar[:, 6]))
    np.testing.assert_allclose(np.cos(flipped.boxes_lidar[:, 6]), np.cos(sample.boxes_lidar[:, 6]))


def test_random_transforms_are_seeded_and_pure(sample):
    transforms = global_transforms(GlobalAugConfig(translation_std_m=(0.2, 0.2, 0.1)))
    assert len(transforms) == 4
    copy = sample.points.copy()
    a = apply_transforms(sample, transforms, np.random.default_rng(7))
    b = apply_transforms(sample, transforms, np.random.default_rng(7))
    c = apply_transforms(sample, transforms, np.random.default_rng(8))
    np.testing.assert_array_equal(a.points, b.points)
    assert not np.array_equal(a.points, c.points)
    np.testing.assert_array_equal(sample.points, copy)  # input untouched


def test_config_validation():
    with pytest.raises(ValueError, match="flip_x_prob"):
        GlobalAugConfig(flip_x_prob=2.0)
    assert global_transforms(GlobalAugConfig(0.0, (0.0, 0.0), (1.0, 1.0))) == []


def test_tilt_keeps_boxes_upright_around_their_points(rng):
    from perception3d.data.sample import LidarSample
    from perception3d.lidar.global_aug import RandomTilt, tilt

    pts = np.column_stack(
        [
            rng.uniform(8, 12, 500),
            rng.uniform(-1, 1, 500),
            rng.uniform(-1.7, -0.3, 500),
            np.zeros(500),
        ]
    ).astype(np.float32)
    box = np.array([[10.0, 0.0, -1.0, 4.4, 2.4, 1.6, 0.2]])
    sample = LidarSample("0", pts, box, np.array(["Car"], dtype=object))
    out = tilt(sample, np.radians(2.0), np.radians(-1.5))
    assert out.boxes_lidar[0, 3:].tolist() == box[0, 3:].tolist()
    # the centre moved with the points: distances to it are kept
    before = np.linalg.norm(pts[:, :3] - box[0, :3], axis=1)
    after = np.linalg.norm(out.points[:, :3] - out.boxes_lidar[0, :3], axis=1)
    np.testing.assert_allclose(after, before, atol=1e-5)
    assert out.boxes_lidar[0, 2] != box[0, 2]
    assert (points_in_boxes(out.points, out.boxes_lidar) == 0).mean() > 0.97
    drawn = RandomTilt(np.radians(3.0), np.radians(1.0))(sample, np.random.default_rng(1))
    roll = np.degrees(np.arctan2(drawn.boxes_lidar[0, 2] - box[0, 2], 10.0))
    assert abs(roll) < 3.0 and not np.allclose(drawn.points, pts)
    with pytest.raises(ValueError, match="tilt_deg"):
        GlobalAugConfig(tilt_deg=(-1.0, 0.0))


def test_vertical_curve_bends_the_road_ahead_and_carries_the_boxes(sample):
    from perception3d.data.sample import LidarSample
    from perception3d.lidar.global_aug import RandomVerticalCurve, vertical_curve

    k = 3e-4
    out = vertical_curve(sample, k)
    x = sample.points[:, 0].astype(np.float64)
    np.testing.assert_array_equal(out.points[:, :2], sample.points[:, :2])
    np.testing.assert_allclose(out.points[:, 2] - sample.points[:, 2], k * x * x, atol=1e-5)
    np.testing.assert_allclose(out.boxes_lidar[:, 2] - sample.boxes_lidar[:, 2],
                               k * sample.boxes_lidar[:, 0] ** 2)  # fmt: skip
    np.testing.assert_array_equal(out.boxes_lidar[:, [0, 1, 3, 4, 5, 6]],
                                  sample.boxes_lidar[:, [0, 1, 3, 4, 5, 6]])  # fmt: skip
    # a box's points shear by at most k * (2 x l/2 + (l/2)^2) in z: they stay in their boxes
    before, after = _membership(sample), _membership(out)
    assert (before != after).mean() < 0.01
    # the ground under the sensor keeps its plane (5 m: 7.5 mm), 40 m ahead it rises 0.48 m
    road = np.array([[5, 0, -1.73, 0], [40, 3, -1.73, 0]], "f4")
    far_ground = vertical_curve(LidarSample("0", road, np.zeros((0, 7)), np.array([])), k)
    np.testing.assert_allclose(far_ground.points[:, 2], [-1.7225, -1.25], atol=1e-6)
    # random k within the bound, both signs over draws, seeded
    draw = RandomVerticalCurve(k)
    dz = [draw(sample, np.random.default_rng(s)).boxes_lidar[:, 2] - sample.boxes_lidar[:, 2]
          for s in range(20)]  # fmt: skip
    bound = k * sample.boxes_lidar[:, 0] ** 2 + 1e-12
    assert all((np.abs(d) <= bound).all() for d in dz)
    assert min(d.sum() for d in dz) < 0 < max(d.sum() for d in dz)


def test_vertical_curve_config():
    from perception3d.lidar.global_aug import RandomVerticalCurve

    # off by default: the transform list (and the draws of existing configs) is unchanged
    assert not any(isinstance(t, RandomVerticalCurve) for t in global_transforms(GlobalAugConfig()))
    transforms = global_transforms(GlobalAugConfig(vertical_curve_per_m=3e-4))
    assert isinstance(transforms[0], RandomVerticalCurve) and len(transforms) == 4
    for bad in (-1e-4, 0.02):
        with pytest.raises(ValueError, match="vertical_curve_per_m"):
            GlobalAugConfig(vertical_curve_per_m=bad)
