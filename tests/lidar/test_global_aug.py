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
