"""Overhead: the returns over a labelled box's footprint, 0.3-6 m above its top."""

import numpy as np
import pytest

from perception3d.experiments.sim2real.compare import OVERHEAD_MIN_RETURNS, compare_objects
from perception3d.experiments.sim2real.divergence import histogram
from perception3d.experiments.sim2real.objects import (
    OVERHEAD_EDGES,
    object_overhead,
)
from tests.experiments.sim2real.conftest import object_record

# a car 4 x 1.8 x 1.5 m at 20 m turned 0.7 rad; its top at z = -0.95 + 0.75 = -0.2
HEADING = 0.7
CAR = np.array([[20.0, 5.0, -0.95, 4.0, 1.8, 1.5, HEADING]])
TOP = -0.2


def _world(local_xy, z):
    """Box-frame (x along the heading, y to its left) offsets -> (N, 4) LiDAR points."""
    c, s = np.cos(HEADING), np.sin(HEADING)
    local = np.asarray(local_xy, dtype=np.float64)
    xy = local @ np.array([[c, s], [-s, c]]) + CAR[0, :2]
    return np.column_stack([xy, np.full(len(xy), z), np.full(len(xy), 0.3)])


def test_returns_over_the_rotated_footprint_are_counted():
    # over the footprint: four near its ends and sides, which the unturned box would miss
    over = _world([[1.8, 0.0], [-1.8, 0.0], [1.0, 0.8], [-1.0, -0.8], [0.0, 0.0]], TOP + 1.0)
    # above the top but beside the footprint (each inside the unturned box's footprint)
    c, s = np.cos(HEADING), np.sin(HEADING)
    beside_xy = np.array([[1.9, 0.0], [-1.9, 0.3]]) @ np.array([[c, -s], [s, c]])  # to local
    beside = _world(beside_xy, TOP + 1.0)
    assert np.all(np.abs(beside_xy[:, 1]) > 0.9)  # beside the turned box, by construction
    inside = _world([[0.5, 0.2], [-0.5, -0.2], [1.5, 0.5]], TOP - 0.5)  # the car's own
    pts = np.concatenate([over, beside, inside])
    assert object_overhead(pts, CAR).tolist() == [5]
    # the heading matters: the unturned box holds both returns beside and 1 of the 5 over
    unturned = CAR.copy()
    unturned[0, 6] = 0.0
    assert object_overhead(pts, unturned).tolist() == [3]
    assert histogram(object_overhead(pts, CAR), OVERHEAD_EDGES).nonzero()[0].tolist() == [2]


def test_only_the_band_above_the_top_counts():
    heights = np.array([0.1, 0.29, 0.31, 3.0, 5.99, 6.01, 10.0])  # above the top
    pts = _world(np.zeros((len(heights), 2)), 0.0)
    pts[:, 2] = TOP + heights
    assert object_overhead(pts, CAR).tolist() == [3]  # 0.31, 3.0 and 5.99
    assert object_overhead(pts, CAR, band_m=(0.0, 20.0)).tolist() == [7]
    aside = CAR.copy()
    aside[0, 1] += 10.0  # 10 m to the left: nothing over it
    two = np.concatenate([CAR, aside])
    assert object_overhead(pts, two).tolist() == [3, 0]
    assert object_overhead(pts, np.zeros((0, 7))).shape == (0,)


def test_inputs_are_checked():
    with pytest.raises(ValueError, match=r"points must be \(N, 3\+\), got \(4,\)"):
        object_overhead(np.zeros(4), CAR)
    with pytest.raises(ValueError, match=r"boxes_lidar must be \(M, 7\), got \(1, 6\)"):
        object_overhead(np.zeros((2, 4)), CAR[:, :6])
    with pytest.raises(ValueError, match="0 <= low < high"):
        object_overhead(np.zeros((2, 4)), CAR, band_m=(6.0, 0.3))


def _record(overheads):
    """A labelled frame's record holding one car per overhead count."""
    return {"hist": {}, "objects": [object_record(overhead=n) for n in overheads]}


def test_overhead_comparison():
    assert OVERHEAD_MIN_RETURNS == 3
    real = [_record([0, 0, 12, 2]), _record([3])]
    same = compare_objects(real, real, ["Car"])["overhead"]["Car"]
    assert same["js_distance"] == 0.0 and same["groups"] == [5, 5]
    assert same["real"] == [2.0, 1.0, 1.0, 1.0, 0.0]  # 0, 1-2, 3-9, 10-29, 30+
    assert same["overhead_share_real"] == 0.4 and same["count_real"] == 5
    open_sky = [_record([0, 0, 0, 0])]
    diff = compare_objects(real, open_sky, ["Car"])["overhead"]["Car"]
    assert 0.0 < diff["js_distance"] <= 1.0 and 0.0 <= diff["real_floor"] <= 1.0
    assert diff["overhead_share_synthetic"] == 0.0 and diff["count_synthetic"] == 4
    none = compare_objects(real, [], ["Car"])["overhead"]["Car"]
    assert np.isnan(none["js_distance"]) and np.isnan(none["overhead_share_synthetic"])
