"""Labels follow KITTI's semantics: 2D boxes in KITTI's convention (or visible-pixel boxes),
truncation from the projected box,
occlusion from the visible fraction, alpha, DontCare for far or tiny objects; the instance map
matches the label rows."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.data.kitti import KittiObjectDataset
from perception3d.geometry.calib import alpha_from_rotation_y
from perception3d.sim import materials as mat
from perception3d.sim.camera import camera_calibration, camera_rig, render_camera
from perception3d.sim.config import OBJECT_CLASSES, CameraConfig, LabelConfig, ObjectsConfig
from perception3d.sim.labels import UNLABELLED_ID_BASE, make_labels
from perception3d.sim.objects import sample_object
from perception3d.sim.raycast import build_geometry
from perception3d.sim.scene import object_in_lidar, road_frame
from perception3d.sim.scenery import ground_quad
from perception3d.sim.semantics import SEMANTIC_ID
from perception3d.sim.world import Scene, Surface
from tests.sim.bare_scenes import bare_scene

CAMERA = CameraConfig(image_scale=0.5, sky_occlusion=False)
_MEAN = ObjectsConfig(size_std_m={c: (0.0, 0.0, 0.0) for c in OBJECT_CLASSES})


def _scene(placements, calib) -> Scene:
    """A flat road and cars at road-frame (x, y, heading) (x ahead, y left of the LiDAR)."""
    road_to_lidar = road_frame(calib)
    objects = []
    for x, y, heading in placements:
        # Every car has KITTI's mean size; its materials depend on its range only, so it is the
        # same car in every test scene.
        model = sample_object("sedan", np.random.default_rng(int(x * 10)), LabelConfig(), cfg=_MEAN)
        l, w, h = model.size
        objects.append(
            object_in_lidar(model, np.array([x, y, h / 2, l, w, h, heading]), road_to_lidar, calib)
        )
    ground = ground_quad(-500, 500, -500, 500, 0.0, "road")
    ground = ground.transformed(road_to_lidar.rotation, road_to_lidar.translation)
    road = Surface(ground, {"road": mat.SIDEWALK}, {"road": SEMANTIC_ID["road"]})
    up = road_to_lidar.rotation[:, 2]
    sun = 0.6 * up + 0.8 * road_to_lidar.rotation[:, 0]
    return bare_scene((road,), sun, road_to_lidar, objects)


def _label(placements, cfg=None):
    cfg = LabelConfig() if cfg is None else cfg
    calib = camera_calibration(CAMERA)
    scene = _scene(placements, calib)
    rig = camera_rig(calib, CAMERA.image_shape_hw)
    frame = render_camera(build_geometry(scene), scene, rig, CAMERA)
    return make_labels(scene, frame.instance, calib, rig.rays, cfg), frame, scene, calib


def _projected(scene, calib, k: int) -> np.ndarray:
    from perception3d.geometry.boxes import boxes_to_image_2d

    return boxes_to_image_2d(scene.objects[k].box_lidar[None], calib, None)[0][0]


def test_lone_car_is_fully_visible_untruncated_with_tight_box():
    labels, frame, scene, _calib = _label(
        [(12.0, 0.0, 0.3)], LabelConfig(bbox_convention="visible")
    )
    (car,) = labels.objects
    assert car.type == "Car" and car.occluded == 0 and car.truncated == 0.0
    rows, cols = np.nonzero(frame.instance == 1)
    assert car.bbox == (cols.min(), rows.min(), cols.max(), rows.max())
    x, y, z, l, h, w, ry = scene.objects[0].box_cam
    assert car.location == (x, y, z) and car.dimensions == (h, w, l) and car.rotation_y == ry
    assert car.alpha == pytest.approx(
        alpha_from_rotation_y(np.array([ry]), np.array([[x, y, z]]))[0]
    )
    assert labels.visible_fraction[0] == 1.0


def test_car_boxes_are_kittis_projected_3d_boxes_amodal_and_clipped():
    """KITTI's car boxes are the projected 3D box: the whole car even where it is hidden or
    cut by the image border; the visible pixels lie inside it."""
    labels, frame, scene, calib = _label([(9.0, 0.0, 0.0), (16.0, 1.5, 0.0), (7.0, 5.5, 0.0)])
    near, hidden, cut = labels.objects
    assert hidden.occluded == 1 and cut.truncated > 0.1
    h, w = frame.instance.shape
    for row, k in ((near, 0), (hidden, 1), (cut, 2)):
        u1, v1, u2, v2 = _projected(scene, calib, k)
        expected = (max(u1, 0.0), max(v1, 0.0), min(u2, w - 1.0), min(v2, h - 1.0))
        np.testing.assert_allclose(row.bbox, expected, atol=1e-6)
        rows, cols = np.nonzero(frame.instance == k + 1)
        assert row.bbox[0] <= cols.min() + 1 and cols.max() <= row.bbox[2] + 1
        assert row.bbox[1] <= rows.min() + 1 and rows.max() <= row.bbox[3] + 1
    assert cut.bbox[0] == 0.0
    # the hidden car's box spans its whole width, beyond its visible part
    cols = np.nonzero(frame.instance == 2)[1]
    assert hidden.bbox[2] - hidden.bbox[0] > (cols.max() - cols.min()) + 5


def test_person_boxes_take_the_projections_top_and_bottom_and_the_outlines_sides():
    from perception3d.data.label_boxes import kitti_bbox

    projected, visible = (100.0, -20.0, 160.0, 380.0), (110.0, 5.0, 150.0, 300.0)
    assert kitti_bbox("Pedestrian", projected, visible, (375, 1242)) == (110.0, 0.0, 150.0, 374.0)
    assert kitti_bbox("Van", projected, visible, (375, 1242)) == (100.0, 0.0, 160.0, 374.0)
    with pytest.raises(ValueError, match="bbox_convention"):
        LabelConfig(bbox_convention="tight")


def test_car_behind_a_car_shows_only_its_top():
    labels, _frame, *_ = _label([(9.0, 0.0, 0.0), (16.0, 0.0, 0.0)])
    (front, back) = labels.objects  # the far one is a thin strip above the near one's roof
    assert front.occluded == 0 and back.type == "DontCare"
    assert back.bbox[3] < front.bbox[1] + 3


@pytest.mark.parametrize("offset, level", [(0.9, 2), (1.5, 1), (2.1, 0)])
def test_occlusion_level_is_the_visible_fraction_of_the_silhouette(offset, level):
    labels, frame, *_ = _label([(9.0, 0.0, 0.0), (16.0, offset, 0.0)])
    alone = _label([(16.0, offset, 0.0)])[1]  # the far car rendered without the near one
    fraction = (frame.instance == 2).sum() / (alone.instance == 1).sum()
    assert labels.visible_fraction[1] == pytest.approx(fraction, abs=0.02)
    assert labels.objects[1].occluded == level
    assert labels.objects[0].occluded == 0


def test_truncation_comes_from_the_projected_box():
    cfg = LabelConfig(bbox_convention="visible")
    labels, _frame, _scene, _calib = _label([(7.0, 5.5, 0.0)], cfg)  # at the left image border
    (car,) = labels.objects
    assert 0.1 < car.truncated < 0.9
    assert car.bbox[0] == 0.0  # visible pixels reach the border
    assert car.occluded == 0  # truncation is not occlusion


def test_far_and_tiny_objects_become_dontcare():
    cfg = LabelConfig(max_distance_m=30.0)
    labels, frame, *_ = _label([(12.0, 0.0, 0.0), (45.0, -3.0, 0.0)], cfg)
    assert [o.type for o in labels.objects] == ["Car", "DontCare"]
    dc = labels.objects[1]
    assert dc.truncated == -1 and dc.occluded == -1 and dc.alpha == -10
    assert dc.location == (-1000.0, -1000.0, -1000.0) and dc.dimensions == (-1.0, -1.0, -1.0)
    rows, cols = np.nonzero(frame.instance == 2)
    assert dc.bbox == (cols.min(), rows.min(), cols.max(), rows.max())
    tiny = _label([(12.0, 0.0, 0.0), (45.0, -3.0, 0.0)], LabelConfig(min_height_px=40.0))[0]
    assert [o.type for o in tiny.objects] == ["Car", "DontCare"]


def test_objects_with_few_pixels_are_left_out_with_high_ids():
    labels, _frame, *_ = _label(
        [(12.0, 0.0, 0.0), (45.0, -3.0, 0.0)], LabelConfig(min_dontcare_pixels=10**6)
    )
    assert labels.objects == []
    assert set(np.unique(labels.instance_map)) == {0, UNLABELLED_ID_BASE, UNLABELLED_ID_BASE + 1}


def test_instance_map_matches_rows(full_dataset):
    from PIL import Image

    ds = KittiObjectDataset(full_dataset)
    for frame in ds:
        ids = np.asarray(Image.open(full_dataset / f"training/instance_2/{frame.frame_id}.png"))
        for row, obj in enumerate(frame.objects):
            rows, cols = np.nonzero(ids == row + 1)
            assert len(rows) > 0
            visible = (cols.min(), rows.min(), cols.max(), rows.max())
            if obj.is_dontcare:
                assert obj.bbox == visible
            else:  # KITTI's convention: the visible pixels lie in the box (mirrors aside)
                x1, y1, x2, y2 = obj.bbox
                margin = 0.15 * (x2 - x1) + 2  # mirrors stick out of the 3D box by ~0.1 m
                assert x1 - margin <= visible[0] and visible[2] <= x2 + margin
                assert y1 - 2 <= visible[1] and visible[3] <= y2 + 2
        labelled = set(range(1, len(frame.objects) + 1))
        present = set(np.unique(ids)) - {0}
        assert labelled <= present
        assert all(i > 10000 for i in present - labelled)


def test_kitti_evaluation_matches_the_labels_to_themselves(full_dataset):
    """The evaluator parses our rows (difficulty from 2D height, occlusion and truncation;
    DontCare) and, given the labels as detections, matches every counted object."""
    from perception3d.eval.kitti import match_frame

    counted = 0
    for frame in KittiObjectDataset(full_dataset):
        detections = [o for o in frame.objects if not o.is_dontcare]
        for cls in ("Car", "Pedestrian", "Cyclist"):
            for metric in ("bbox", "bev", "3d"):
                m = match_frame(frame.objects, detections, cls, metric=metric, difficulty="hard")
                assert "fn" not in m.gt_status.tolist() and "fp" not in m.pred_status.tolist()
                counted += m.gt_status.tolist().count("tp")
    assert counted >= 3
