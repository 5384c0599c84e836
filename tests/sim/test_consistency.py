"""LiDAR and camera see the same world: on full-size default frames, the LiDAR points of an
object project onto that object's pixels at the rendered depth, and every labelled object
that is near and not heavily occluded holds LiDAR points."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from perception3d.data.kitti import KittiObjectDataset
from perception3d.geometry.boxes import points_in_boxes
from perception3d.sim.config import load_synth_config
from perception3d.sim.frame import generate_frame


@pytest.fixture(scope="module")
def full_frame():
    """A full-size default frame with more objects than usual (more points to check)."""
    busy = "objects.mean_in_view={Car: 6.0, Van: 1.0, Pedestrian: 3.0, Cyclist: 1.0}"
    return generate_frame(load_synth_config(None, ["seed=7", busy]), 0)


def _project(calib, points, shape_hw):
    uv, depth = calib.lidar_to_image(points)
    px = np.round(uv).astype(np.int64)
    h, w = shape_hw
    inside = (depth > 0.5) & (px[:, 0] >= 0) & (px[:, 0] < w) & (px[:, 1] >= 0) & (px[:, 1] < h)
    return px, depth, inside


def test_object_points_land_on_the_objects_pixels_at_the_rendered_depth(full_frame):
    f = full_frame
    pts, inst = f.sweep.points, f.sweep.instance
    px, depth, inside = _project(f.calib, pts, f.camera.instance.shape)
    on_object = inside & (inst > 0)
    assert on_object.sum() > 500
    u, v = px[on_object, 0], px[on_object, 1]
    same = f.camera.instance[v, u] == inst[on_object]
    # The camera sits 0.27 m ahead of and 8 cm below the LiDAR: some points the LiDAR sees are
    # hidden from the camera by a nearer object (the pixel is nearer than the point); and laser
    # pulses pass glass the camera sees (car windows), returning from what lies behind it.
    hidden = f.camera.depth_m[v, u] < depth[on_object] - 0.3
    assert hidden.mean() < 0.2  # 0.14 on this frame
    assert same[~hidden].mean() > 0.97
    # Every point the camera can see lands on its object's pixel or next to it (rounding to a
    # pixel centre can step over a silhouette edge).
    near = np.zeros_like(same)
    for du in (-1, 0, 1):
        for dv in (-1, 0, 1):
            uu = np.clip(u + du, 0, f.camera.instance.shape[1] - 1)
            vv = np.clip(v + dv, 0, f.camera.instance.shape[0] - 1)
            near |= f.camera.instance[vv, uu] == inst[on_object]
    assert near[~hidden].mean() > 0.995
    # Where the pixel shows the same object, its depth is the point's depth (range noise 2 cm,
    # float16 depth storage, a pixel's footprint on slanted surfaces).
    rendered = f.camera.depth_m[v[same], u[same]]
    assert np.median(np.abs(rendered - depth[on_object][same])) < 0.05


def test_written_files_agree_too(full_dataset):
    """Same check through the files only: boxes from label_2, pixels from instance_2."""
    for frame in KittiObjectDataset(full_dataset):
        ids = np.asarray(Image.open(full_dataset / f"training/instance_2/{frame.frame_id}.png"))
        rows = [k for k, o in enumerate(frame.objects) if not o.is_dontcare]
        boxes = frame.boxes_lidar.copy()
        boxes[:, 2] += 0.1  # drop the bottom 20 cm: road points inside the box footprint
        boxes[:, 5] -= 0.2
        index = points_in_boxes(frame.points, boxes)
        px, _, inside = _project(frame.calib, frame.points, ids.shape)
        for j, row in enumerate(rows):
            # A sitting person's box holds the bench they sit on (scenery, as in KITTI).
            if frame.objects[row].occluded != 0 or frame.objects[row].type == "Person_sitting":
                continue
            sel = (index == j) & inside
            if sel.sum() < 10:
                continue
            hit = ids[px[sel, 1], px[sel, 0]] == row + 1
            assert hit.mean() > 0.8, (frame.frame_id, row, hit.mean())


def test_near_visible_objects_hold_lidar_points(full_dataset):
    checked = 0
    for frame in KittiObjectDataset(full_dataset):
        cared = [o for o in frame.objects if not o.is_dontcare]
        counts = np.bincount(
            np.maximum(points_in_boxes(frame.points, frame.boxes_lidar), -1) + 1,
            minlength=len(cared) + 1,
        )[1:]
        for obj, box, count in zip(cared, frame.boxes_lidar, counts):
            if np.linalg.norm(box[:3]) <= 50 and obj.occluded <= 1:
                assert count >= 5, (frame.frame_id, obj.to_line(), count)
                checked += 1
    assert checked >= 3
