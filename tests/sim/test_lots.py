"""Parking lots (``clutter.lot_probability``): a paved lot behind an urban sidewalk whose cars
stand side by side, parallel to the road, as in KITTI 004139's car park; and street trees at the
kerb (``clutter.kerb_tree_probability``), whose crowns reach over the parked cars."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from perception3d.geometry.iou import bev_iou_lidar
from perception3d.sim.config import load_synth_config
from perception3d.sim.kerb import clear_of_trunks
from tests.sim.sampled_scenes import road_boxes, sampled_scenes

LOTS_ON = (
    "clutter.lot_probability=1.0",
    "scene.urban_probability=1.0",
    "scene.intersection_probability=0.0",
    "scene.kerbside_frontage_probability=0.0",
)


_scenes = partial(sampled_scenes, seed=11, count=5)


def _in_lot(boxes: np.ndarray, lot: np.ndarray) -> np.ndarray:
    x0, x1, y_near, y_far = lot[:4]
    lo, hi = sorted((y_near, y_far))
    return (boxes[:, 0] > x0) & (boxes[:, 0] < x1) & (boxes[:, 1] > lo) & (boxes[:, 1] < hi)


@pytest.fixture(scope="module")
def lot_scenes():
    return _scenes(*LOTS_ON)


def test_lot_cars_stand_side_by_side_parallel_to_the_road(lot_scenes):
    lot_cars, side_by_side = 0, 0
    for scene in lot_scenes:
        lots = scene.layout.lots
        assert len(lots) == 2, "both urban sides get a lot at probability 1 without a crossing"
        boxes, labels = road_boxes(scene), [o.label for o in scene.objects]
        for lot in lots:
            x0, x1, y_near, y_far, z, occupancy = lot
            # Behind the sidewalk of its side, 10-25 m deep, 15-40 m long, ahead of the car.
            side = 0 if y_near < 0 else 1
            assert y_near == pytest.approx(scene.layout.sidewalks[side, 1])
            assert 10 <= abs(y_far - y_near) <= 25 and 15 <= x1 - x0 <= 40 and x0 >= 5
            assert 0.4 <= occupancy <= 0.95
            inside = _in_lot(boxes, lot)
            assert {labels[k] for k in np.flatnonzero(inside)} <= {"Car", "Van"}
            here = boxes[inside]
            lot_cars += len(here)
            # Parallel to the road (nose in or backed in), standing on the paving.
            off = np.angle(np.exp(1j * here[:, 6]))
            assert (np.minimum(np.abs(off), np.pi - np.abs(off)) < 0.2).all()
            assert np.allclose(here[:, 2] - here[:, 5] / 2, z, atol=0.05)
            # Neighbours in a row of bays: about the same x, 2.4-2.8 m apart across the road.
            for a in range(len(here)):
                same_row = np.abs(here[:, 0] - here[a, 0]) < 0.8
                gaps = np.abs(here[same_row, 1] - here[a, 1])
                side_by_side += int(((gaps > 2.0) & (gaps < 3.2)).any())
        lidar = np.array([o.box_lidar for o in scene.objects])
        iou = bev_iou_lidar(lidar, lidar)
        np.fill_diagonal(iou, 0)
        assert not (iou > 0).any()
    assert lot_cars >= 20 and side_by_side >= 0.5 * lot_cars, (lot_cars, side_by_side)


def test_nothing_of_the_frontage_stands_in_a_lot(lot_scenes):
    for scene in lot_scenes:
        obstacles = scene.layout.obstacles
        for lot in scene.layout.lots:
            inner = lot.copy()
            inner[0] += 0.5
            inner[1] -= 0.5
            s = np.sign(lot[3] - lot[2])
            inner[2] += s * 0.5
            inner[3] -= s * 0.5
            assert not _in_lot(obstacles, inner).any()


def test_lots_come_only_where_enabled():
    # Off by default, and then no random number is drawn: the same scenes as with the key
    # absent. Rural sides and kerb strips never get one.
    absent = _scenes("scene.urban_probability=1.0", count=3)
    zero = _scenes("scene.urban_probability=1.0", "clutter.lot_probability=0.0", count=3)
    for a, b in zip(absent, zero):
        assert np.array_equal(road_boxes(a), road_boxes(b))
        assert len(b.layout.lots) == 0
    for scene in _scenes("clutter.lot_probability=1.0", "scene.urban_probability=0.0", count=3):
        assert len(scene.layout.lots) == 0


@pytest.mark.parametrize(
    "override, key",
    [
        ("clutter.lot_depth_m=[4, 10]", "lot_depth_m"),
        ("clutter.lot_occupancy=[0.5, 1.2]", "lot_occupancy"),
    ],
)
def test_an_impossible_lot_is_refused(override, key):
    with pytest.raises(ValueError, match=key):
        load_synth_config(None, ["clutter.lot_probability=0.5", override])


def _trees(scene) -> np.ndarray:
    """Trunk obstacle boxes (road frame): 0.6 x 0.6 m, as roadside.py records a tree."""
    obs = scene.layout.obstacles
    return obs[np.isclose(obs[:, 3], 0.6) & np.isclose(obs[:, 4], 0.6) & np.isclose(obs[:, 5], 2.0)]


def test_kerb_trees_stand_at_the_kerb_as_an_avenue():
    on = (
        "scene.urban_probability=1.0",
        "scene.kerbside_frontage_probability=0.0",
        "scene.intersection_probability=0.0",
    )
    for scene in _scenes(*on, "clutter.kerb_tree_probability=1.0", count=3):
        trees = _trees(scene)
        for y_inner, y_outer in scene.layout.sidewalks:
            side = 1.0 if y_outer > y_inner else -1.0
            here = trees[np.abs(trees[:, 1] - (y_inner + side * 0.6)) < 1e-6]
            # Every step of the avenue (7-20 m) near the car holds a tree.
            near = np.sort(here[(here[:, 0] > -40) & (here[:, 0] < 80), 0])
            assert len(near) >= 120 / 20 - 1 and (np.diff(near) <= 20.0 + 1e-6).all(), near
            assert not (np.abs(trees[:, 1] - (y_outer - side * 0.8)) < 1e-6).any()
    # Off: the street trees stand by the frontage.
    for scene in _scenes(*on, count=2):
        trees = _trees(scene)
        assert len(trees)
        kerb = (
            scene.layout.sidewalks[:, 0]
            + np.sign(np.diff(scene.layout.sidewalks, axis=1))[:, 0] * 0.6
        )
        assert not (np.abs(trees[:, 1, None] - kerb[None]) < 1e-6).any()


def _square_at_kerb(scene, size_m: float, inside_m: float) -> np.ndarray:
    """Which obstacle boxes are ``size_m`` square and stand ``inside_m`` inside a sidewalk's
    road edge (0.6, 0.6: trees at the kerb; 0.4, 0.5: street lights)."""
    obs = scene.layout.obstacles
    y_in, y_out = scene.layout.sidewalks.T
    kerb_y = y_in + np.sign(y_out - y_in) * inside_m
    shape = np.isclose(obs[:, 3], size_m) & np.isclose(obs[:, 4], size_m)
    return shape & (np.abs(obs[:, 1, None] - kerb_y[None]) < 1e-6).any(1)


def test_nothing_stands_in_the_trunk_of_a_tree_at_the_kerb():
    # Street lights (0.5 m from the kerb), sign poles (0.4 m) and sidewalk furniture (bollards,
    # signs, bins: 0.1-0.55 m) share the kerb trees' row (0.6 m): the poles step aside, the
    # furniture on a trunk is left out, and no footprint overlaps a trunk's (the poles' draws are
    # the same: they move, and none is left out).
    on = (
        "scene.urban_probability=1.0",
        "scene.kerbside_frontage_probability=0.0",
        "clutter.kerb_tree_probability=1.0",
    )
    beside = 0
    for scene in sampled_scenes(*on, seed=4242, count=12):
        obs = scene.layout.obstacles
        trunk = _square_at_kerb(scene, 0.6, 0.6)
        trunks, others = obs[trunk], obs[~trunk]
        assert len(trunks)
        gap = 2 * np.abs(trunks[:, None, :2] - others[None, :, :2])
        room = trunks[:, None, 3:5] + others[None, :, 3:5]
        assert not (gap < room).all(-1).any(), trunks[(gap < room).all(-1).any(1)]
        # Lights that fell on a trunk stand just beside it: 0.2 + 0.3 + 0.05 m from its centre.
        dx = np.abs(obs[_square_at_kerb(scene, 0.4, 0.5), 0, None] - trunks[None, :, 0])
        beside += int(np.isclose(dx, 0.55).any(1).sum())
    assert beside > 0


def test_a_pole_on_a_trunk_steps_to_the_side_asked():
    trunks = [10.0, 25.0]
    assert clear_of_trunks(10.3, trunks, 0.2, towards=1.0) == pytest.approx(10.55)
    assert clear_of_trunks(10.3, trunks, 0.2, towards=-1.0) == pytest.approx(9.45)
    assert clear_of_trunks(24.6, trunks, 0.15, towards=-1.0) == pytest.approx(24.5)
    assert clear_of_trunks(10.6, trunks, 0.2, towards=1.0) == 10.6  # clear already
