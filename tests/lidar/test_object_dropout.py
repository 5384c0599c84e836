"""Thinning the objects' returns: each chosen box keeps its fraction of points (never fewer
than min_points), nothing outside the boxes or of other classes changes, boxes stay."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.data.sample import LidarSample
from perception3d.errors import ConfigError
from perception3d.geometry.boxes import points_in_boxes
from perception3d.lidar.augment import PhysicalAugmentConfig, build_transforms
from perception3d.lidar.object_dropout import (
    ObjectDropoutConfig,
    ObjectPointDropout,
    UpperDropoutConfig,
    UpperPointDropout,
    drop_object_points,
    drop_upper_points,
)


def _scene(rng) -> LidarSample:
    """Three boxes of 200 / 40 / 100 points (Car, Car, Van) and 500 background points."""
    boxes = np.array([[10.0, 0, 0, 4, 2, 1.5, 0.3], [20.0, 5, 0, 4, 2, 1.5, -0.2],
                      [15.0, -6, 0, 5, 2, 2, 0.0]])  # fmt: skip
    parts = []
    for box, n in zip(boxes, (200, 40, 100)):
        local = rng.uniform(-0.45, 0.45, (n, 3)) * box[3:6]
        c, s = np.cos(box[6]), np.sin(box[6])
        xy = local[:, :2] @ np.array([[c, s], [-s, c]]) + box[:2]
        parts.append(np.c_[xy, local[:, 2] + box[2]])
    background = np.c_[rng.uniform(-40, -5, (500, 2)), rng.uniform(-2, 0, 500)]
    pts = np.c_[np.concatenate([*parts, background]), rng.uniform(0, 1, 840)]
    return LidarSample("0", pts.astype(np.float32), boxes, np.array(["Car", "Car", "Van"], object))


def _counts(sample: LidarSample) -> np.ndarray:
    return np.bincount(points_in_boxes(sample.points, sample.boxes_lidar) + 1, minlength=4)


def test_each_box_keeps_its_fraction_and_the_rest_is_untouched():
    rng = np.random.default_rng(0)
    s = _scene(rng)
    out = drop_object_points(s, np.array([0.25, 0.05, 1.0]), np.random.default_rng(1))
    # background, box 0 (ceil 0.25 x 200), box 1 (5 of 40: the min_points floor), box 2 all
    assert _counts(out).tolist() == [500, 50, 5, 100]
    assert out.boxes_lidar.tobytes() == s.boxes_lidar.tobytes()
    assert out.names.tolist() == s.names.tolist()
    kept = {tuple(p) for p in out.points.tolist()}
    assert kept <= {tuple(p) for p in s.points.tolist()}  # thinned where they are, none moved
    outside = points_in_boxes(s.points, s.boxes_lidar) < 0
    assert {tuple(p) for p in s.points[outside].tolist()} <= kept


def test_transform_only_touches_its_classes_and_is_deterministic():
    s = _scene(np.random.default_rng(0))
    t = ObjectPointDropout(ObjectDropoutConfig(prob=1.0, keep_fraction=(0.5, 0.5)))
    a, b = t(s, np.random.default_rng(3)), t(s, np.random.default_rng(3))
    assert a.points.tobytes() == b.points.tobytes()
    assert _counts(a).tolist() == [500, 100, 20, 100]  # the Van is not a dropout class
    none = ObjectPointDropout(ObjectDropoutConfig(prob=0.0))(s, np.random.default_rng(3))
    assert none.points.tobytes() == s.points.tobytes()


def test_off_by_default_and_in_the_set_when_asked():
    assert not any(
        isinstance(t, ObjectPointDropout) for t in build_transforms(PhysicalAugmentConfig())
    )
    cfg = PhysicalAugmentConfig(object_dropout=ObjectDropoutConfig(prob=0.5))
    assert any(isinstance(t, ObjectPointDropout) for t in build_transforms(cfg))


@pytest.mark.parametrize("kwargs", [{"prob": 1.5}, {"keep_fraction": (0.0, 1.0)},
                                    {"keep_fraction": (0.8, 0.5)}, {"min_points": -1}])  # fmt: skip
def test_bad_settings_are_refused(kwargs):
    with pytest.raises((ValueError, ConfigError), match="object_dropout"):
        ObjectDropoutConfig(**kwargs)


def test_one_fraction_per_box_is_required():
    s = _scene(np.random.default_rng(0))
    with pytest.raises(ValueError, match="one value per box"):
        drop_object_points(s, np.array([0.5]), np.random.default_rng(0))


def test_upper_dropout_thins_only_above_the_cut():
    s = _scene(np.random.default_rng(0))
    rng = np.random.default_rng(2)
    out = drop_upper_points(s, np.array([0.5, 0.5, 0.5]), np.array([0.0, 0.5, 1.0]), rng)
    before = points_in_boxes(s.points, s.boxes_lidar)
    after = points_in_boxes(out.points, out.boxes_lidar)
    for m in range(3):
        bottom = s.boxes_lidar[m, 2] - s.boxes_lidar[m, 5] / 2
        cut = bottom + 0.5 * s.boxes_lidar[m, 5]
        low_b = ((before == m) & (s.points[:, 2] <= cut)).sum()
        high_b = ((before == m) & (s.points[:, 2] > cut)).sum()
        low_a = ((after == m) & (out.points[:, 2] <= cut)).sum()
        high_a = ((after == m) & (out.points[:, 2] > cut)).sum()
        assert low_a == low_b  # below the cut nothing is dropped
        assert high_a == [0, int(np.ceil(0.5 * high_b)), high_b][m]
    assert (after < 0).sum() == (before < 0).sum()


def test_upper_dropout_keeps_min_points_and_its_classes():
    s = _scene(np.random.default_rng(0))
    out = drop_upper_points(s, np.zeros(3), np.zeros(3), np.random.default_rng(0), min_points=7)
    assert _counts(out).tolist() == [500, 7, 7, 7]  # cut at the bottom: only the floor stays
    t = UpperPointDropout(
        UpperDropoutConfig(prob=1.0, cut_fraction=(0.0, 0.0), keep_fraction=(0.0, 0.0))
    )
    assert _counts(t(s, np.random.default_rng(0))).tolist() == [500, 5, 5, 100]  # Van untouched
    with pytest.raises(ValueError, match=r"upper_dropout\.cut_fraction"):
        UpperDropoutConfig(cut_fraction=(0.8, 0.2))
