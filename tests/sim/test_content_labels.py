"""Generated frames label their content as KITTI does (issue 15): every vehicle class gets its
KITTI type, roadside clutter (fences, hedges, walls, poles, bins, bicycles...) is never labelled,
the LiDAR points inside an object's box come from that object, and the output does not depend
on which mesh templates a process happened to have built before."""

from __future__ import annotations

import functools
import importlib
import pkgutil

import numpy as np
import pytest

import perception3d.sim
from perception3d.geometry.boxes import points_in_boxes
from perception3d.sim.frame import generate_frame
from perception3d.sim.objects import KIND_LABEL
from perception3d.sim.semantics import SEMANTIC_ID

from .conftest import tiny_config

_CLASS_SEMANTIC = {"Van": "van", "Truck": "truck", "Tram": "tram", "Misc": "other_vehicle"}
_CLUTTER = (
    "fence",
    "wall",
    "vegetation",
    "pole",
    "traffic_sign",
    "bicycle",
    "other_object",
    "building",
    "terrain",
    "sidewalk",
)
# Dense clutter: every frontage a fence, hedge or wall; sidewalks full of furniture.
_DENSE = (
    "clutter.frontage_weights={fence: 1.0, hedge: 1.0, wall: 1.0}",
    "clutter.rural_frontage_weights={fence: 1.0, hedge: 1.0, guard_rail: 1.0}",
    "clutter.furniture_per_100m={bollard: 20.0, bin: 10.0, bench: 4.0, bicycle: 12.0, "
    "cabinet: 6.0, sign: 10.0, bush: 10.0, planter: 4.0}",
    "objects.driveway_probability=1.0",
)


@pytest.mark.parametrize("label", sorted(_CLASS_SEMANTIC))
def test_each_vehicle_class_is_labelled_with_its_kitti_type(label):
    """A frame holding only ``label`` objects in view labels them all ``label``, and their
    pixels carry that class's semantics."""
    cfg = tiny_config(
        1,
        5,
        f"objects.mean_in_view={{{label}: 3.0}}",
        "objects.mean_out_of_view={}",
        "objects.mean_far={}",
        "objects.driveway_probability=0.0",
        "objects.parked_row_probability=0.0",
        "objects.distance_bins_m=[8.0, 30.0]",
        "objects.distance_weights=[1.0]",
        "camera.image_scale=0.5",
    )
    frame = generate_frame(cfg, 0)
    assert {o.label for o in frame.scene.objects} == {label}
    rows = [o for o in frame.labels.objects if not o.is_dontcare]
    assert len(rows) >= 1 and {o.type for o in rows} == {label}
    for row, k in enumerate(frame.labels.scene_index[: len(rows)]):
        assert KIND_LABEL[frame.scene.objects[k].kind] == label
        pixels = frame.labels.instance_map == row + 1
        semantic = np.unique(frame.camera.semantic[pixels])
        assert semantic.tolist() == [SEMANTIC_ID[_CLASS_SEMANTIC[label]]]


@pytest.fixture(scope="module")
def cluttered_frames():
    """Two frames with dense clutter and every vehicle class, full LiDAR, quarter images."""
    cfg = tiny_config(
        2,
        11,
        *_DENSE,
        "objects.mean_in_view={Car: 5.0, Van: 1.0, Truck: 1.0, Tram: 0.5, Misc: 1.0, "
        "Pedestrian: 3.0, Cyclist: 1.0}",
        "lidar.azimuth_steps=2000",
        "lidar.beam_stride=1",
    )
    return [generate_frame(cfg, i) for i in range(2)]


def test_clutter_is_never_labelled(cluttered_frames):
    seen = set()
    for frame in cluttered_frames:
        semantic = frame.camera.semantic
        clutter = np.isin(semantic, [SEMANTIC_ID[n] for n in _CLUTTER])
        seen |= set(np.unique(semantic[clutter]).tolist())
        # Neither in the scene's object ids nor in label_2's instance map.
        assert not frame.camera.instance[clutter].any()
        assert not frame.labels.instance_map[clutter].any()
        # Every labelled row is a scene object of a KITTI class, with its own pixels.
        rows = [o for o in frame.labels.objects if not o.is_dontcare]
        for row, (obj, k) in enumerate(zip(rows, frame.labels.scene_index)):
            assert obj.type == frame.scene.objects[k].label
            pixels = frame.labels.instance_map == row + 1
            assert not np.isin(semantic[pixels], [SEMANTIC_ID[n] for n in _CLUTTER]).any()
    # The frames did show the clutter they were meant to.
    for name in ("fence", "wall", "vegetation", "pole", "other_object", "bicycle"):
        assert SEMANTIC_ID[name] in seen, name


def test_points_inside_an_objects_box_come_from_that_object(cluttered_frames):
    checked = 0
    for frame in cluttered_frames:
        objects = frame.scene.objects
        boxes = np.array([o.box_lidar for o in objects])
        # Leave out the bottom 15 cm of each box: the ground under the wheels and feet (range
        # noise lifts road returns a few centimetres).
        boxes[:, 2] += 0.075
        boxes[:, 5] -= 0.15
        inside = points_in_boxes(frame.sweep.points, boxes, return_mask=True)
        for k, obj in enumerate(objects):
            sel = inside[:, k]
            if obj.label == "Person_sitting":  # the bench they sit on is scenery, as in KITTI
                continue
            assert (frame.sweep.instance[sel] == k + 1).all(), (
                obj.label,
                obj.kind,
                np.unique(frame.sweep.instance[sel], return_counts=True),
            )
            checked += int(sel.sum())
    assert checked > 2000


def _clear_template_caches() -> int:
    """Forget every mesh template built in this process (as a fresh worker starts)."""
    names = [m.name for m in pkgutil.iter_modules(perception3d.sim.__path__, "perception3d.sim.")]
    modules = [importlib.import_module(name) for name in names]  # all first: warmup builds
    cleared = 0
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, functools._lru_cache_wrapper):
                value.cache_clear()
                cleared += 1
    return cleared


def test_frames_do_not_depend_on_the_templates_built_before():
    cfg = tiny_config(2, 13, *_DENSE)
    generate_frame(cfg, 1)  # warms the templates frame 1 needs
    warm = generate_frame(cfg, 0)
    assert _clear_template_caches() >= 5
    cold = generate_frame(cfg, 0)
    assert np.array_equal(warm.sweep.points, cold.sweep.points)
    assert np.array_equal(warm.image_srgb, cold.image_srgb)
    assert [o.to_line() for o in warm.labels.objects] == [o.to_line() for o in cold.labels.objects]
