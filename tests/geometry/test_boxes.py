"""Box corners, points in boxes and 2D projection, on real frames and hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.data.kitti import KittiObjectDataset
from perception3d.geometry.boxes import (
    BOX_EDGES,
    box_edges_image,
    boxes_to_image_2d,
    clip_segments_near_plane,
    corners_cam,
    corners_lidar,
    points_in_boxes,
    rotate_boxes_z,
    rotate_points_z,
)
from perception3d.geometry.calib import Calibration, boxes_lidar_to_cam


def test_corners_lidar_hand_computed():
    box = np.array([[10.0, 5.0, 1.0, 4.0, 2.0, 1.5, np.pi / 2]])
    c = corners_lidar(box)[0]
    # heading +90 deg: the front (+dx) points to +y, the left to -x.
    np.testing.assert_allclose(c[0], [10 - 1, 5 + 2, 1 - 0.75], atol=1e-12)  # front-left bottom
    np.testing.assert_allclose(c[2], [10 + 1, 5 - 2, 1 - 0.75], atol=1e-12)  # rear-right bottom
    np.testing.assert_allclose(c[4:, 2], 1.75)
    np.testing.assert_allclose(c.mean(axis=0), box[0, :3])


def test_corners_cam_match_lidar_corners_through_calib(kitti_root):
    frame = KittiObjectDataset(kitti_root).frame("004139")
    cl = corners_lidar(frame.boxes_lidar)
    cc = corners_cam(boxes_lidar_to_cam(frame.boxes_lidar, frame.calib))
    back = frame.calib.rect_to_lidar(cc.reshape(-1, 3)).reshape(cc.shape)
    # Same corners, same order; the rect frame's tiny tilt w.r.t. the LiDAR (under 1 degree)
    # moves corners by at most a few centimetres.
    assert np.abs(back - cl).max() < 0.05


def test_points_in_boxes_index_and_mask():
    boxes = np.array(
        [[0, 0, 0, 2, 2, 2, 0.0], [0.5, 0, 0, 2, 2, 2, np.pi / 4], [10, 10, 0, 1, 1, 1, 0.0]]
    )
    pts = np.array(
        [[0, 0, 0], [1.2, 0, 0], [10, 10.4, 0.4], [10, 10, 0.6], [1, 1, 1]], dtype=np.float32
    )
    idx = points_in_boxes(pts, boxes)
    mask = points_in_boxes(pts, boxes, return_mask=True)
    assert idx.tolist() == [0, 1, 2, -1, 0]
    assert mask.tolist() == [
        [True, True, False],
        [False, True, False],
        [False, False, True],
        [False, False, False],
        [True, False, False],
    ]


def test_points_in_boxes_matches_numpy_reference(rng):
    pts = rng.uniform(-20, 20, (5000, 3))
    boxes = np.concatenate(
        [
            rng.uniform(-15, 15, (30, 3)),
            rng.uniform(1, 6, (30, 3)),
            rng.uniform(-np.pi, np.pi, (30, 1)),
        ],
        axis=1,
    )
    d = pts[:, None, :] - boxes[None, :, :3]
    c, s = np.cos(boxes[:, 6]), np.sin(boxes[:, 6])
    lx = d[..., 0] * c + d[..., 1] * s
    ly = -d[..., 0] * s + d[..., 1] * c
    ref = (
        (np.abs(lx) <= boxes[:, 3] / 2)
        & (np.abs(ly) <= boxes[:, 4] / 2)
        & (np.abs(d[..., 2]) <= boxes[:, 5] / 2)
    )
    np.testing.assert_array_equal(points_in_boxes(pts, boxes, return_mask=True), ref)
    assert ref.any()


def test_points_in_boxes_empty_inputs():
    assert points_in_boxes(np.zeros((0, 4)), np.zeros((3, 7))).shape == (0,)
    assert points_in_boxes(np.ones((5, 4)), np.zeros((0, 7))).tolist() == [-1] * 5
    with pytest.raises(ValueError, match=r"boxes_lidar must be \(M, 7\)"):
        points_in_boxes(np.ones((5, 3)), np.zeros((2, 6)))
    with pytest.raises(ValueError, match=r"points_xyz must be"):
        points_in_boxes(np.ones((5, 2)), np.zeros((2, 7)))


def test_labelled_objects_within_40m_contain_points(kitti_root):
    frame = KittiObjectDataset(kitti_root).frame("004139")
    keep = np.isin(frame.names, ["Car", "Pedestrian", "Cyclist"])
    keep &= np.linalg.norm(frame.boxes_lidar[:, :2], axis=1) < 40
    idx = points_in_boxes(frame.points, frame.boxes_lidar)
    counts = np.bincount(idx[idx >= 0], minlength=len(frame.boxes_lidar))
    assert keep.sum() >= 15
    assert (counts[keep] >= 3).all(), counts[keep]


def test_projected_boxes_match_label_2d_boxes(kitti_root):
    checked = 0
    for frame in KittiObjectDataset(kitti_root):
        if frame.image_shape is None:
            continue
        cared = [o for o in frame.objects if not o.is_dontcare]
        b2d, valid = boxes_to_image_2d(frame.boxes_lidar, frame.calib, frame.image_shape)
        for o, box, ok in zip(cared, b2d, valid):
            assert ok
            if o.truncated == 0 and o.type == "Car":
                # Annotated 2D boxes are the visible extent; for untruncated cars the projected
                # 3D box agrees within a few pixels.
                assert np.abs(box - np.array(o.bbox)).max() < 3.0
                checked += 1
    assert checked >= 4


def test_points_of_fov_crop_project_inside_image(kitti_root):
    frame = KittiObjectDataset(kitti_root).frame("000008")
    uv, depth = frame.calib.lidar_to_image(frame.points)
    h, w = frame.image_shape
    assert (depth > 0).all()
    inside = (uv[:, 0] >= -1) & (uv[:, 0] <= w) & (uv[:, 1] >= -1) & (uv[:, 1] <= h)
    assert inside.mean() == 1.0


def test_box_behind_camera_is_clipped_at_near_plane(kitti_root):
    calib = Calibration.from_file(kitti_root / "training/calib/000008.txt")
    # A long truck alongside the car, half of it behind the camera plane.
    box = np.array([[0.27, 3.0, -0.8, 12.0, 2.5, 3.0, 0.0]])
    b2d, valid = boxes_to_image_2d(box, calib, (375, 1242))
    assert valid[0]
    assert b2d[0, 0] == 0.0 and 0 < b2d[0, 2] < 1242  # reaches the left border, clipped
    behind = np.array([[-10.0, 0, 0, 4, 2, 1.5, 0.0]])
    _, valid = boxes_to_image_2d(behind, calib, (375, 1242))
    assert not valid[0]


def test_rotation_about_z_moves_points_and_boxes_together(rng):
    boxes = np.array([[10.0, 2.0, -1.0, 4.0, 1.8, 1.5, 0.3]])
    pts = corners_lidar(boxes)[0]
    angle = 0.7
    np.testing.assert_allclose(
        corners_lidar(rotate_boxes_z(boxes, angle))[0], rotate_points_z(pts, angle), atol=1e-12
    )


def test_clip_segments_near_plane_hand_cases():
    p0 = np.array([[0.0, 0.0, -1.0], [1.0, 2.0, 5.0], [0.0, 0.0, -3.0], [4.0, 0.0, 2.0]])
    p1 = np.array([[0.0, 2.0, 3.0], [3.0, 2.0, 9.0], [1.0, 1.0, -0.5], [0.0, 0.0, -2.0]])
    q0, q1, visible = clip_segments_near_plane(p0, p1, near_m=1.0)
    assert visible.tolist() == [True, True, False, True]
    np.testing.assert_allclose(q0[0], [0.0, 1.0, 1.0])  # cut where z = 1, a quarter along y
    np.testing.assert_allclose(q1[0], p1[0])
    np.testing.assert_allclose([q0[1], q1[1]], [p0[1], p1[1]])  # in front: unchanged
    np.testing.assert_allclose(q1[3], [3.0, 0.0, 1.0])  # the far end is cut back
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        clip_segments_near_plane(p0[:, :2], p1[:, :2])


def test_box_edges_image_visible_parts_lie_in_front(kitti_root):
    calib = KittiObjectDataset(kitti_root).frame("000008").calib
    boxes = np.array([[0.3, 0.0, -0.5, 6.0, 2.0, 1.5, 0.0], [-8.0, 0, 0, 2, 2, 2, 0]])
    segments, visible = box_edges_image(boxes, calib, near_m=0.1)
    assert segments.shape == (2, 12, 2, 2) and not visible[1].any()
    assert 0 < visible[0].sum() < 12
    # Every visible end is the projection of a point of its 3D edge at depth >= the near plane.
    corners = calib.lidar_to_rect(corners_lidar(boxes[:1]).reshape(-1, 3))
    for j in np.flatnonzero(visible[0]):
        a, b = corners[BOX_EDGES[j]]
        for u, v in segments[0, j]:
            # The edge point projecting onto pixel column u: solve linearly along the edge.
            row = calib.P2[0] - u * calib.P2[2]  # row . [x, 1] = 0 on that column
            num_a, num_b = row[:3] @ a + row[3], row[:3] @ b + row[3]
            t = num_a / (num_a - num_b)
            point = a + t * (b - a)
            assert -1e-9 <= t <= 1 + 1e-9 and point[2] >= 0.1 - 1e-9
            uv, _ = calib.rect_to_image(point[None])
            np.testing.assert_allclose(uv[0], [u, v], atol=1e-6)
