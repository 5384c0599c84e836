"""LidarSample: the pipeline unit checks its shapes; transforms compose in order."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.data.kitti import KittiObjectDataset
from perception3d.data.sample import LidarSample, apply_transforms, sample_from_frame


def test_sample_from_real_frame(kitti_root):
    s = sample_from_frame(KittiObjectDataset(kitti_root).frame("000008"))
    assert s.points.shape == (17238, 4) and s.boxes_lidar.shape == (6, 7) and len(s.names) == 6


def test_shape_checks():
    with pytest.raises(ValueError, match=r"points must be \(N, 4\+\)"):
        LidarSample("0", np.zeros((3, 3)), np.zeros((0, 7)), np.array([]))
    with pytest.raises(ValueError, match=r"names \(1\) and boxes_lidar \(0\) differ"):
        LidarSample("0", np.zeros((3, 4)), np.zeros((0, 7)), np.array(["Car"]))


def test_transforms_apply_in_order_and_use_the_rng():
    s = LidarSample("0", np.zeros((2, 4), np.float32), np.zeros((0, 7)), np.array([]))

    def shift(sample, rng):
        return sample.with_(points=sample.points + rng.uniform(1, 2))

    def double(sample, rng):
        return sample.with_(points=sample.points * 2)

    a = apply_transforms(s, [shift, double], np.random.default_rng(3))
    b = apply_transforms(s, [shift, double], np.random.default_rng(3))
    np.testing.assert_array_equal(a.points, b.points)
    assert 2 <= a.points[0, 0] <= 4 and s.points[0, 0] == 0
