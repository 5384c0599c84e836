"""Clearance: the distance from a labelled box to the clutter standing beside it."""

import numpy as np
import pytest

from perception3d.experiments.sim2real.compare import compare_objects
from perception3d.experiments.sim2real.divergence import histogram
from perception3d.experiments.sim2real.objects import (
    CLEARANCE_CAP_M,
    CLEARANCE_EDGES,
    object_clearance,
    object_clutter,
)
from tests.experiments.sim2real.conftest import object_record

# a car 4 x 1.8 x 1.5 m at 20 m, its bottom at z = -1.7 (the ground)
CAR = np.array([[20.0, 0.0, -0.95, 4.0, 1.8, 1.5, 0.0]])


def _grid(x, y, z):
    """Points on the grid of the given coordinates, intensity 0.3."""
    g = np.stack(np.meshgrid(x, y, z, indexing="ij"), axis=-1).reshape(-1, 3)
    return np.column_stack([g, np.full(len(g), 0.3)])


def test_a_wall_beside_the_car_own_points_and_ground_ignored():
    wall = _grid(np.linspace(18.0, 22.0, 21), [1.5], np.linspace(-1.45, 0.75, 6))  # 0.6 m off
    inside = _grid(np.linspace(18.2, 21.8, 10), [-0.5, 0.5], [-1.2, -0.6])  # the car's own
    spill = _grid([22.1], np.linspace(-0.8, 0.8, 9), [-1.2, -0.6])  # its own, 0.1 m past the box
    inside = np.concatenate([inside, spill])
    ground = _grid(np.linspace(15.0, 25.0, 41), np.linspace(-3.0, 3.0, 25), [-1.7])
    overhead = _grid(np.linspace(18.0, 22.0, 9), [0.95], [1.0])  # 2.7 m above: not standing
    clear = object_clearance(np.concatenate([inside, ground, overhead]), CAR)
    assert clear.tolist() == [CLEARANCE_CAP_M]  # nothing stands within 4 m
    clear = object_clearance(np.concatenate([wall, inside, ground, overhead]), CAR)
    assert clear[0] == pytest.approx(0.6)
    assert histogram(clear, CLEARANCE_EDGES).nonzero()[0].tolist() == [1]  # the 0.5-0.75 bin
    far_wall = wall + np.array([0.0, 1.5, 0.0, 0.0])  # 2.1 m off: beyond the clutter's 2 m
    clutter = object_clutter(np.concatenate([wall, far_wall, inside, ground, overhead]), CAR)
    assert clutter.tolist() == [len(wall)]


def test_fewer_than_k_returns_reach_the_cap():
    post = _grid([22.3], [0.0], np.linspace(-1.4, -0.2, 4))  # 0.3 m ahead of the bumper
    assert object_clearance(post, CAR).tolist() == [CLEARANCE_CAP_M]
    assert histogram([CLEARANCE_CAP_M], CLEARANCE_EDGES)[-1] == 1.0  # the last bin
    one_more = _grid([22.3], [0.0], np.linspace(-1.4, -0.2, 5))
    assert object_clearance(one_more, CAR)[0] == pytest.approx(0.3)
    far = _grid([26.5], [0.0], np.linspace(-1.4, -0.2, 8))  # 4.5 m: capped
    assert object_clearance(far, CAR).tolist() == [CLEARANCE_CAP_M]


def test_distance_is_taken_in_the_rotated_box_frame():
    heading = 0.7
    box = CAR.copy()
    box[0, 6] = heading
    # five returns 0.3 m beyond the front and 0.4 m beyond the left side: corner distance 0.5
    local = np.array([[2.3, 1.3]] * 5)
    c, s = np.cos(heading), np.sin(heading)
    xy = local @ np.array([[c, s], [-s, c]]) + box[0, :2]
    pts = np.column_stack([xy, np.linspace(-1.4, -0.2, 5), np.zeros(5)])
    assert object_clearance(pts, box)[0] == pytest.approx(0.5)
    # the unrotated box: 2.3 c - 1.3 s = 0.92 m ahead of the centre (within its 2 m half
    # length), 2.3 s + 1.3 c = 2.48 m to the left: 1.58 m beyond its side
    assert object_clearance(pts, CAR)[0] == pytest.approx(2.3 * s + 1.3 * c - 0.9)


def _record(clearances, clutter=10, distance_m=15.0):
    """A labelled frame's record holding one car per clearance."""
    objects = [
        object_record(clearance_m=c, clutter=clutter, distance_m=distance_m) for c in clearances
    ]
    return {"hist": {}, "objects": objects}


def test_clearance_comparison():
    real = [_record([0.6, 0.8, 2.5]), _record([0.3])]
    same = compare_objects(real, real, ["Car"])["clearance"]["Car"]
    assert same["js_distance"] == 0.0 and same["groups"] == [4, 4]
    assert same["close_share_real"] == 0.75 and same["median_real"] == pytest.approx(0.7)
    open_road = [_record([3.5, 4.0, 2.5, 4.0])]
    diff = compare_objects(real, open_road, ["Car"])["clearance"]["Car"]
    assert diff["js_distance"] > 0.5
    assert diff["close_share_synthetic"] == 0.0 and diff["median_synthetic"] == 3.75


def test_clutter_is_compared_at_30_m():
    near = [_record([1.0] * 4, clutter=40, distance_m=15.0)]  # 40 returns at 15 m: 10 at 30 m
    far = [_record([1.0] * 4, clutter=10, distance_m=30.0)]
    same = compare_objects(near, far, ["Car"])["clutter"]["Car"]
    assert same["js_distance"] == 0.0 and same["median_real"] == same["median_synthetic"] == 10
    bare = compare_objects(near, [_record([1.0] * 4, clutter=0)], ["Car"])["clutter"]["Car"]
    assert bare["js_distance"] == 1.0 and bare["median_synthetic"] == 0.0
