"""Frustum extraction, frustum rotation and box frame round trips (perception3d.data.frustums)."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.data.frustums import (
    boxes_cam_to_frustum,
    boxes_frustum_to_cam,
    frustum_angle,
    frustum_mask,
    frustum_points,
    rotate_y,
    sample_points,
)
from perception3d.data.kitti import KittiObjectDataset
from perception3d.geometry.boxes import corners_cam


@pytest.fixture(scope="module")
def frame8(kitti_root):
    return KittiObjectDataset(kitti_root, ids=["000008"]).frame(8)


def _brute_force_frustum(points, calib, box):
    """Point by point with the raw matrices: P2 @ R0_rect @ Tr_velo_to_cam @ [x y z 1]."""
    tr = np.vstack([calib.Tr_velo_to_cam, [0, 0, 0, 1]])
    r0 = np.eye(4)
    r0[:3, :3] = calib.R0_rect
    full = calib.P2 @ r0 @ tr
    x1, y1, x2, y2 = box
    inside = []
    for i, (x, y, z, _) in enumerate(points.astype(np.float64)):
        u, v, w = full @ np.array([x, y, z, 1.0])
        if w > 0 and x1 <= u / w <= x2 and y1 <= v / w <= y2:
            inside.append(i)
    return np.array(inside, dtype=np.int64)


@pytest.mark.parametrize("row", [1, 3, 5])
def test_frustum_is_exactly_the_points_projecting_into_the_box(frame8, row):
    box = np.array(frame8.objects[row].bbox)
    expected = _brute_force_frustum(frame8.points, frame8.calib, box)
    got = np.flatnonzero(frustum_mask(frame8.points, box, frame8.calib))
    assert len(expected) > 20  # the car is hit by the LiDAR
    np.testing.assert_array_equal(got, expected)
    pts, index, _ = frustum_points(frame8.points, box, frame8.calib)
    np.testing.assert_array_equal(index, expected)
    assert pts.shape == (len(expected), 4) and pts.dtype == np.float32
    np.testing.assert_array_equal(pts[:, 3], frame8.points[expected, 3])


def test_points_behind_the_camera_are_not_in_the_frustum(frame8):
    # A point behind the camera can project into the box (the projection flips it): the
    # frustum must drop it.
    calib = frame8.calib
    box = np.array(frame8.objects[3].bbox)
    centre_uv = np.array([[(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]])
    in_front = calib.image_to_rect(centre_uv, np.array([10.0]))
    behind = calib.P2[2, 3] - (in_front - [0, 0, calib.P2[2, 3]])  # mirrored through camera 2
    pts = calib.rect_to_lidar(np.vstack([in_front, behind]))
    uv, depth = calib.lidar_to_image(pts)
    assert depth[1] < 0 and box[0] <= uv[1, 0] <= box[2] and box[1] <= uv[1, 1] <= box[3]
    np.testing.assert_array_equal(frustum_mask(pts, box, calib), [True, False])


def test_rotation_puts_the_box_centre_ray_on_the_z_axis(frame8):
    box = np.array(frame8.objects[5].bbox)
    calib = frame8.calib
    angle = frustum_angle(box, calib)
    centre_uv = np.array([[(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]])
    ray = calib.image_to_rect(centre_uv, np.array([50.0]))  # the reference depth
    rotated = rotate_y(ray, -angle)
    assert abs(rotated[0, 0]) < 1e-9 and rotated[0, 2] > 0
    # nearer points of the same ray stay within camera 2's 6 cm offset of the z axis
    near = rotate_y(calib.image_to_rect(centre_uv, np.array([5.0])), -angle)
    assert abs(near[0, 0]) < 0.07
    back = rotate_y(rotated, angle)
    np.testing.assert_allclose(back, ray, atol=1e-12)


def test_box_frames_round_trip_and_keep_the_corners(rng):
    boxes_cam = np.column_stack(
        [
            rng.uniform(-10, 10, 20),
            rng.uniform(1, 2, 20),
            rng.uniform(5, 50, 20),
            rng.uniform(0.5, 5, (20, 3)),
            rng.uniform(-np.pi, np.pi, 20),
        ]
    )
    for angle in (-0.7, 0.0, 0.4):
        f = boxes_cam_to_frustum(boxes_cam, angle)
        np.testing.assert_allclose(boxes_frustum_to_cam(f, angle), boxes_cam, atol=1e-9)
        # the frustum box's corners, rotated back, are the KITTI box's corners
        bottom = f.copy()
        bottom[:, 1] += bottom[:, 4] / 2
        corners_f = corners_cam(bottom).reshape(-1, 3)
        np.testing.assert_allclose(
            rotate_y(corners_f, angle).reshape(-1, 8, 3), corners_cam(boxes_cam), atol=1e-9
        )


def test_sample_points():
    np.testing.assert_array_equal(sample_points(4, 8, None), [0, 2, 4, 6])
    np.testing.assert_array_equal(sample_points(5, 2, None), [0, 1, 0, 1, 0])
    picked = sample_points(10, 6, np.random.default_rng(0))
    assert len(picked) == 10 and set(picked) == set(range(6))
    assert len(set(sample_points(5, 9, np.random.default_rng(0)))) == 5
    with pytest.raises(ValueError, match="empty"):
        sample_points(3, 0, None)
