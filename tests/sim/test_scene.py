"""Scene sampling: objects on the ground, no collisions, class and range distributions as
configured, the road level in the camera frame."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.geometry.iou import bev_iou_lidar
from perception3d.sim.camera import camera_calibration
from perception3d.sim.config import CAR_BODIES, CameraConfig, load_synth_config
from perception3d.sim.frame import frame_rng
from perception3d.sim.layout import EGO_BOX_ROAD
from perception3d.sim.scene import CAMERA_HEIGHT_M, road_frame, sample_scene

CALIB = camera_calibration(CameraConfig())


def _scenes(overrides=(), count=12):
    cfg = load_synth_config(None, list(overrides))
    return [sample_scene(cfg, frame_rng(11, i, 0), CALIB) for i in range(count)]


@pytest.fixture(scope="module")
def scenes():
    return _scenes()


def test_road_is_level_in_the_camera_frame_at_kitti_heights():
    t = road_frame(CALIB)
    ground = t.apply(np.array([[0.0, 0, 0], [40, 0, 0], [0, 30, 0], [-20, -10, 0]]))
    y_rect = CALIB.lidar_to_rect(ground)[:, 1]
    np.testing.assert_allclose(y_rect, CAMERA_HEIGHT_M, atol=1e-9)
    assert -t.translation[2] == pytest.approx(1.73, abs=0.01)  # LiDAR height (KITTI: 1.73 m)


def test_pitch_raises_the_road_ahead_and_roll_tilts_it_sideways():
    pitched = road_frame(CALIB, pitch_rad=np.radians(1.0))
    ahead = CALIB.lidar_to_rect(pitched.apply(np.array([[0.0, 0, 0], [50.0, 0, 0]])))
    rise = ahead[0, 1] - ahead[1, 1]  # rect y points down
    assert rise == pytest.approx(np.tan(np.radians(1.0)) * (ahead[1, 2] - ahead[0, 2]), rel=1e-3)
    rolled = road_frame(CALIB, roll_rad=np.radians(0.5), camera_height_m=1.6)
    side = CALIB.lidar_to_rect(rolled.apply(np.array([[10.0, 5, 0], [10.0, -5, 0]])))
    assert abs(side[0, 1] - side[1, 1]) == pytest.approx(10 * np.tan(np.radians(0.5)), rel=1e-2)
    below = CALIB.lidar_to_rect(rolled.apply(np.zeros((1, 3))))[0]
    assert np.dot(below, [0.0, np.cos(np.radians(0.5)), 0.0]) == pytest.approx(1.6, abs=0.05)


def test_objects_stand_on_road_or_sidewalk(scenes):
    for scene in scenes:
        t = scene.road_to_lidar  # road frame -> LiDAR; its z axis is "up"
        for obj in scene.objects:
            height = (obj.surface.mesh.vertices - t.translation) @ t.rotation[:, 2]
            assert height.min() == pytest.approx(0.0, abs=1e-6) or height.min() == pytest.approx(
                scene.layout.curb_height, abs=1e-6
            )
            # The label box's bottom is where the mesh stands (camera frame, y down).
            bottom = scene.road_to_lidar.inverse().apply(
                CALIB.rect_to_lidar(obj.box_cam[None, :3])
            )[0, 2]
            assert bottom == pytest.approx(height.min(), abs=1e-6)


def test_objects_do_not_overlap_each_other_or_the_ego_car(scenes):
    ego = EGO_BOX_ROAD.copy()
    for scene in scenes:
        boxes = np.array([o.box_lidar for o in scene.objects])
        iou = bev_iou_lidar(boxes, boxes)
        np.fill_diagonal(iou, 0.0)
        assert iou.max() == 0.0
        ego[:3] = scene.road_to_lidar.apply(EGO_BOX_ROAD[None, :3])[0]
        assert bev_iou_lidar(boxes, ego[None]).max() == 0.0


def test_default_mix_is_kitti_like(scenes):
    labels = [o.label for s in scenes for o in s.objects]
    assert labels.count("Car") > labels.count("Pedestrian") > 0
    assert {"Car", "Van", "Pedestrian"} <= set(labels)
    kinds = {o.kind for s in scenes for o in s.objects if o.label == "Car"}
    assert {"sedan", "hatchback", "wagon"} <= kinds <= set(CAR_BODIES)


def test_class_frequencies_follow_the_config():
    only_cyclists = [
        "objects.mean_in_view={Cyclist: 3.0}",
        "objects.mean_out_of_view={}",
        "objects.mean_far={}",
        "scene.night_probability=0.0",
    ]
    scenes = _scenes(only_cyclists, count=10)
    counts = [len(s.objects) for s in scenes]
    assert {o.label for s in scenes for o in s.objects} == {"Cyclist"}
    assert 1.5 < np.mean(counts) < 4.5  # Poisson(3) per frame, a few placements may fail


def test_in_view_range_follows_the_histogram():
    cars_at_20_to_30 = [
        "objects.mean_in_view={Car: 4.0}",
        "objects.mean_out_of_view={}",
        "objects.mean_far={}",
        "objects.distance_bins_m=[20.0, 30.0]",
        "objects.distance_weights=[1.0]",
        "objects.parked_row_probability=0.0",
    ]
    ranges = [np.linalg.norm(o.box_lidar[:2]) for s in _scenes(cars_at_20_to_30) for o in s.objects]
    assert len(ranges) > 20
    assert 19.0 < min(ranges) and max(ranges) < 31.0


def test_far_traffic_becomes_dontcare_rows():
    from perception3d.sim.frame import generate_frame

    from .conftest import tiny_config

    cfg = tiny_config(
        1,
        5,
        "objects.mean_in_view={}",
        "objects.mean_out_of_view={}",
        "objects.mean_far={Car: 4.0}",
        "camera.image_scale=1.0",
    )
    frame = generate_frame(cfg, 0)
    ranges = [np.linalg.norm(o.box_lidar[:3]) for o in frame.scene.objects]
    assert len(ranges) >= 2 and min(ranges) > 84.0
    assert frame.labels.objects and all(o.is_dontcare for o in frame.labels.objects)
