"""Neighbours: how labelled objects stand relative to each other (label boxes only)."""

import numpy as np
import pytest

from perception3d.data.kitti import KittiObjectDataset
from perception3d.experiments.sim2real.compare import compare_objects
from perception3d.experiments.sim2real.neighbours import (
    frame_neighbours,
    nearest_neighbours,
    neighbour_counts,
    pair_angle_deg,
    side_by_side,
)
from tests.experiments.sim2real.conftest import object_record


def _car(x, y, heading=0.0):
    return [x, y, -0.9, 4.2, 1.8, 1.5, heading]


def test_people_in_a_row():
    row = np.array([[10.0, 0.0], [10.0, 2.0], [10.0, 4.0]])  # 2 m apart
    assert neighbour_counts(row, 3.0).tolist() == [1, 2, 1]
    assert neighbour_counts(row, 4.0).tolist() == [2, 2, 2]  # exactly at the radius counts
    assert neighbour_counts(row, 1.9).tolist() == [0, 0, 0]
    crowd = np.array([[5.0 + 0.7 * i, 3.0 + 0.6 * j] for i in range(3) for j in range(2)])
    assert neighbour_counts(crowd, 3.0).tolist() == [5] * 6  # all within 1.4 x 0.6 m
    assert neighbour_counts(np.zeros((1, 2)), 3.0).tolist() == [0]
    assert neighbour_counts(np.zeros((0, 2)), 3.0).tolist() == []
    with pytest.raises(ValueError, match=r"centres must be \(N, 2\+\)"):
        neighbour_counts(np.zeros(3), 3.0)


def test_nearest_neighbour_and_its_angle():
    boxes = np.array([_car(0, 0), _car(0, 2.6), _car(5.0, 0), _car(30, 30)])
    index, dist = nearest_neighbours(boxes[:, :2])
    assert index.tolist() == [1, 0, 0, 2]
    assert dist[:3] == pytest.approx([2.6, 2.6, 5.0])
    assert dist[3] == pytest.approx(np.hypot(25, 30))
    angle = pair_angle_deg(boxes, np.array([1, 0, 0, -1]))
    assert angle[:3] == pytest.approx([90.0, 90.0, 0.0])  # beside, beside, straight behind
    assert np.isnan(angle[3])
    with pytest.raises(ValueError, match=r"neighbour_index must be \(4,\)"):
        pair_angle_deg(boxes, np.array([1, 0]))


@pytest.mark.parametrize("heading", [0.0, 0.6, -2.0, np.pi])
def test_side_by_side_and_nose_to_tail_in_the_car_frame(heading):
    c, s = np.cos(heading), np.sin(heading)
    along, across = np.array([c, s]), np.array([-s, c])

    def at(offset):  # a car at the offset (m) from (20, 5), same heading
        return _car(*(np.array([20.0, 5.0]) + offset), heading)

    bay = np.array([at(0 * along), at(2.6 * across)])  # 2.6 m apart, side by side
    assert side_by_side(bay).tolist() == [1.0, 1.0]
    kerb = np.array([at(0 * along), at(5.0 * along)])  # 5 m apart, nose to tail
    assert side_by_side(kerb).tolist() == [0.0, 0.0]
    # 40 degrees off the long axis: still nose to tail; 50 degrees: side by side
    for deg, expected in ((40.0, 0.0), (50.0, 1.0)):
        r = np.radians(deg)
        pair = np.array([at(0 * along), at(5.0 * (np.cos(r) * along + np.sin(r) * across))])
        assert side_by_side(pair).tolist() == [expected, expected]
    apart = np.array([at(0 * along), at(6.5 * along)])  # beyond 6 m: no pair
    assert np.isnan(side_by_side(apart)).all()
    # the nearest decides: a bay neighbour at 2.6 m beats a car 5 m ahead
    three = np.array([at(0 * along), at(2.6 * across), at(5.0 * along)])
    assert side_by_side(three).tolist() == [1.0, 1.0, 0.0]


def test_frame_neighbours_counts_within_each_class_at_its_radius():
    person, van = [0.8, 0.6, 1.7, 0.0], [4.5, 1.9, 2.0, 0.0]
    boxes = np.array(
        [_car(0, 0), _car(0, 3.5), [0, 1, -1, *person], [0, 4.5, -1, *person], [0, 2, -1, *van]]
    )
    names = np.array(["Car", "Car", "Pedestrian", "Pedestrian", "Van"])
    counts, pairs = frame_neighbours(boxes, names, ["Car", "Pedestrian", "Cyclist"])
    # cars 3.5 m apart: within 4 m; people 3.5 m apart: not within 3 m; the van is none
    assert counts.tolist() == [1, 1, 0, 0, -1]
    assert pairs[:2].tolist() == [1.0, 1.0] and np.isnan(pairs[2:]).all()
    with pytest.raises(ValueError, match="no neighbour radius for class 'Van'"):
        frame_neighbours(boxes, names, ["Van"])
    with pytest.raises(ValueError, match=r"names must be \(5,\)"):
        frame_neighbours(boxes, names[:2], ["Car"])


def test_real_004139_three_cars_side_by_side(kitti_root):
    """004139: three cars parked side by side about 2.6-2.9 m apart (camera x 13.75, 16.36,
    19.15 at z 23.9-24.5, rotation_y about -1.6: their long axes along the camera z), one at
    58 m and one at 38 m with no car within 6 m."""
    frame = KittiObjectDataset(kitti_root).frame("004139")
    cars = frame.names == "Car"
    counts, pairs = frame_neighbours(frame.boxes_lidar[cars], frame.names[cars], ["Car"])
    # LiDAR y is minus camera x (up to the calibration's small rotation)
    assert np.round(-frame.boxes_lidar[cars, 1]).tolist() == [-2, 14, 16, 19, 1]
    assert counts.tolist() == [0, 1, 2, 1, 0]  # 2.61 and 2.86 m apart; 5.41 m end to end
    assert np.isnan(pairs[[0, 4]]).all() and pairs[1:4].tolist() == [1.0, 1.0, 1.0]


def _object(cls, neighbours, side):
    return object_record(cls, points=100, neighbours=neighbours, side_by_side=side)


def _frame(neighbours, sides=()):
    """A labelled frame's record: one pedestrian per neighbour count, one car per side value."""
    objects = [_object("Pedestrian", n, np.nan) for n in neighbours]
    objects += [_object("Car", 0, s) for s in sides]
    return {"hist": {}, "objects": objects}


def test_neighbour_comparison_resamples_frames():
    crowd = [_frame([2, 2, 2], sides=[1.0, 1.0, 0.0, np.nan])]
    alone = [_frame([0]), _frame([0]), _frame([0], sides=[0.0, 0.0])]
    out = compare_objects(crowd, alone, ["Car", "Pedestrian"])
    ped = out["neighbours"]["Pedestrian"]
    assert ped["real"][:3] == [0.0, 0.0, 3.0] and ped["synthetic"][:3] == [3.0, 0.0, 0.0]
    assert ped["js_distance"] == 1.0 and ped["groups"] == [1, 3]  # frames, not objects
    assert (ped["count_real"], ped["count_synthetic"]) == (3, 3)
    assert (ped["mean_real"], ped["mean_synthetic"]) == (2.0, 0.0)
    pairs = out["car_pairs"]
    assert pairs["real"] == [1.0, 2.0] and pairs["synthetic"] == [2.0, 0.0]
    assert (pairs["count_real"], pairs["count_synthetic"]) == (3, 2)
    assert pairs["side_by_side_share_real"] == pytest.approx(2 / 3)
    assert pairs["side_by_side_share_synthetic"] == 0.0
    assert pairs["groups"] == [1, 1]  # frames holding a car with a car within 6 m
    same = compare_objects(crowd, crowd, ["Car", "Pedestrian"])
    assert same["car_pairs"]["js_distance"] == 0.0
    assert same["neighbours"]["Pedestrian"]["js_distance"] == 0.0
    assert "car_pairs" not in compare_objects(crowd, alone, ["Pedestrian"])
