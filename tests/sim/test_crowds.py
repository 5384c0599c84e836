"""Crowds (``objects.crowd_probability``): people walking together along a sidewalk in view."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from perception3d.geometry.iou import bev_iou_lidar
from perception3d.sim.config import load_synth_config
from tests.sim.sampled_scenes import CALIB, CAMERA, sampled_scenes

_scenes = partial(sampled_scenes, seed=3, count=6)


def _largest_cluster(xy: np.ndarray, link_m: float) -> np.ndarray:
    """Indices of the largest single-linkage cluster of the points ``xy`` (N, 2)."""
    labels = -np.ones(len(xy), int)
    for seed in range(len(xy)):
        if labels[seed] >= 0:
            continue
        labels[seed], todo = seed, [seed]
        while todo:
            i = todo.pop()
            near = np.flatnonzero((np.hypot(*(xy - xy[i]).T) < link_m) & (labels < 0))
            labels[near] = seed
            todo.extend(near.tolist())
    best = np.bincount(labels).argmax()
    return np.flatnonzero(labels == best)


@pytest.fixture(scope="module")
def crowd_scenes():
    return _scenes("objects.crowd_probability=1.0", "objects.crossing_probability=0.0")


def test_a_crowd_walks_together_on_a_sidewalk_in_view(crowd_scenes):
    sizes, aligned = [], 0
    for scene in crowd_scenes:
        to_road, lay = scene.road_to_lidar.inverse(), scene.layout
        people = [o for o in scene.objects if o.label == "Pedestrian"]
        xyz_road = to_road.apply(np.array([o.box_lidar[:3] for o in people]))
        crowd = _largest_cluster(xyz_road[:, :2], link_m=1.8)
        sizes.append(len(crowd))
        for y in xyz_road[crowd, 1]:  # every member on one sidewalk, off its edges
            lo, hi = sorted(lay.sidewalks[0 if y < 0 else 1])
            assert lo + 0.25 <= y <= hi - 0.25, (y, lay.sidewalks)
        # In the camera's view: in front of the camera, inside the image width.
        uv, depth_m = CALIB.lidar_to_image(np.array([people[i].box_lidar[:3] for i in crowd]))
        width = CAMERA.image_shape_hw[1]
        assert (depth_m > 0).all() and ((uv[:, 0] > -20) & (uv[:, 0] < width + 20)).all()
        yaw = np.array([people[i].box_lidar[6] for i in crowd])
        off = np.angle(np.exp(1j * (yaw - yaw[0])))
        aligned += bool((np.abs(off) < 0.6).all())
        boxes = np.array([o.box_lidar for o in scene.objects])
        iou = bev_iou_lidar(boxes, boxes)
        np.fill_diagonal(iou, 0)
        assert not (iou > 0).any()  # nobody overlaps anybody or anything
    assert min(sizes) >= 4 and np.mean(sizes) >= 5.5, sizes  # crowds of 6-12 drawn
    assert aligned >= 3, aligned  # most crowds walk one way (a quarter stand, facing anywhere)


def test_no_crowds_by_default():
    # The default (0) draws no random number for crowds: frames are as with the key absent,
    # and crowds of five or more people are rare.
    absent = _scenes(count=4)
    zero = _scenes("objects.crowd_probability=0.0", count=4)
    for a, b in zip(absent, zero):
        assert np.array_equal(
            np.array([o.box_lidar for o in a.objects]), np.array([o.box_lidar for o in b.objects])
        )
    with_crowds = _scenes("objects.crowd_probability=1.0", count=4)
    people = [sum(o.label == "Pedestrian" for o in s.objects) for s in absent]
    people_crowds = [sum(o.label == "Pedestrian" for o in s.objects) for s in with_crowds]
    assert sum(people_crowds) >= sum(people) + 4 * 5, (people, people_crowds)


@pytest.mark.parametrize("size", ["[1, 4]", "[8, 6]", "[2.5, 6]"])
def test_a_crowd_size_that_is_not_a_range_of_at_least_two_is_refused(size):
    with pytest.raises(ValueError, match="crowd_size"):
        load_synth_config(None, [f"objects.crowd_size={size}"])
