"""Bay parking (``scene.bay_parking_probability``): parked cars side by side at an angle to the
road instead of nose to tail."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from perception3d.geometry.iou import bev_iou_lidar
from perception3d.sim.config import load_synth_config
from tests.sim.sampled_scenes import road_boxes, sampled_scenes

_scenes = partial(sampled_scenes, seed=9, count=6)
VEHICLES = ("Car", "Van", "Misc")


@pytest.fixture(scope="module")
def bay_scenes():
    return _scenes("scene.bay_parking_probability=1.0", "scene.parking_lane_probability=1.0")


def test_cars_in_bays_stand_side_by_side_at_the_bay_angle(bay_scenes):
    in_bays, neighbours = 0, 0
    for scene in bay_scenes:
        lay = scene.layout
        assert len(lay.parking) == 2 and len(lay.parking_bay_rad) == 2
        deg = np.rad2deg(lay.parking_bay_rad)
        assert ((deg >= 45) & (deg <= 90)).all(), deg
        boxes = road_boxes(scene, VEHICLES)
        for (lane_y, lane_heading), bay in zip(lay.parking, lay.parking_bay_rad):
            # A bay lane is deep enough for a car across it: its kerb is that far out.
            depth = 2 * abs(lane_y - (lay.road_y[0] if lane_y < 0 else lay.road_y[1]))
            assert depth >= 4.4 * np.sin(bay) + 1.9 * np.cos(bay) + 0.39, (depth, bay)
            here = boxes[np.abs(boxes[:, 1] - lane_y) < 0.6]
            if not len(here):
                continue
            # Every car in the lane stands at the bay angle, nose in or backed in.
            off = np.angle(np.exp(1j * (here[:, 6] - (lane_heading - bay))))
            off = np.minimum(np.abs(off), np.pi - np.abs(off))
            assert (off < 0.2).all(), np.rad2deg(off)
            in_bays += len(here)
            x = np.sort(here[:, 0])
            # Side by side: neighbours 2.4-2.8 m apart across the cars (a bay may be free).
            gaps = np.diff(x) * np.sin(bay)
            neighbours += int(((gaps > 2.0) & (gaps < 3.2)).sum())
        lidar = np.array([o.box_lidar for o in scene.objects])
        iou = bev_iou_lidar(lidar, lidar)
        np.fill_diagonal(iou, 0)
        assert not (iou > 0).any()
    assert in_bays >= 12 and neighbours >= 5, (in_bays, neighbours)


def test_no_bays_by_default():
    # The default (0) draws no random number for bays: the same frames as with the key absent,
    # and every parked car stands along its lane.
    absent = _scenes("scene.parking_lane_probability=1.0", count=4)
    zero = _scenes(
        "scene.parking_lane_probability=1.0", "scene.bay_parking_probability=0.0", count=4
    )
    for a, b in zip(absent, zero):
        assert np.array_equal(road_boxes(a, VEHICLES), road_boxes(b, VEHICLES))
        assert not b.layout.parking_bay_rad.any()
        lanes = b.layout.parking
        boxes = road_boxes(b, VEHICLES)
        parked = boxes[np.min(np.abs(boxes[:, 1, None] - lanes[None, :, 0]), 1) < 0.4]
        off = np.angle(np.exp(1j * parked[:, 6]))
        assert (np.minimum(np.abs(off), np.pi - np.abs(off)) < 0.2).all()


@pytest.mark.parametrize("angles", ["[0, 60]", "[60, 45]", "[45, 100]"])
def test_a_bay_angle_outside_0_to_90_degrees_is_refused(angles):
    with pytest.raises(ValueError, match="bay_angle_deg"):
        load_synth_config(
            None, ["scene.bay_parking_probability=0.5", f"scene.bay_angle_deg={angles}"]
        )
