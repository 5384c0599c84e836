"""Calibration and frame conversions, checked on the real KITTI sample frames."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.data.kitti import KittiObjectDataset
from perception3d.errors import KittiFormatError
from perception3d.geometry.boxes import points_in_boxes
from perception3d.geometry.calib import (
    Calibration,
    alpha_from_rotation_y,
    boxes_cam_to_lidar,
    boxes_lidar_to_cam,
    limit_period,
    rotation_y_from_alpha,
)

FRAMES = ["000000", "000008", "004139"]


def _wrap(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


@pytest.mark.parametrize("fid", FRAMES)
def test_labels_to_lidar_and_back_reproduce_label_values(kitti_root, fid):
    frame = KittiObjectDataset(kitti_root).frame(fid)
    cared = [o for o in frame.objects if not o.is_dontcare]
    boxes_cam = np.array([o.box_cam for o in cared])
    back = boxes_lidar_to_cam(frame.boxes_lidar, frame.calib)
    # Labels carry 2 decimals; the round trip must reproduce them exactly at that rounding.
    np.testing.assert_array_equal(np.round(back[:, :6], 2), boxes_cam[:, :6])
    np.testing.assert_allclose(_wrap(back[:, 6] - boxes_cam[:, 6]), 0, atol=1e-9)


def test_lidar_box_layout_matches_kitti_meaning(kitti_root):
    frame = KittiObjectDataset(kitti_root).frame("000008")
    obj = frame.objects[1]  # Car at x=-1.17, y=1.65, z=7.86 (cam), ry=1.90
    box = frame.boxes_lidar[1]
    h, w, l = obj.dimensions
    np.testing.assert_allclose(box[3:6], [l, w, h])
    # 7.86 m in front of the camera is about 7.86 + 0.27 m in front of the LiDAR (Tr x offset).
    assert 7.9 < box[0] < 8.4 and 0.9 < box[1] < 1.4
    # The bottom of the box is near the road, about 1.73 m below the LiDAR.
    assert -1.9 < box[2] - h / 2 < -1.5
    assert np.isclose(_wrap(box[6] + obj.rotation_y + np.pi / 2), 0)


def test_points_in_label_boxes_match_openpcdet_counts(kitti_root):
    # OpenPCDet (boxes3d_kitti_camera_to_lidar + points_in_boxes) on 000008's six cars gives
    # [1325, 1900, 881, 659, 55, 162]; the old shift-in-camera-frame rule gave
    # [1429, 1933, 881, 666, 54, 169] (issue 16).
    frame = KittiObjectDataset(kitti_root).frame("000008")
    mask = points_in_boxes(frame.points, frame.boxes_lidar, return_mask=True)
    assert mask.sum(axis=0).tolist() == [1325, 1900, 881, 659, 55, 162]


def test_lidar_centre_is_half_height_above_bottom_along_lidar_z(kitti_root):
    frame = KittiObjectDataset(kitti_root).frame("004139")
    cared = [o for o in frame.objects if not o.is_dontcare]
    boxes_cam = np.array([o.box_cam for o in cared])
    bottom_lidar = frame.calib.rect_to_lidar(boxes_cam[:, :3])
    boxes = frame.boxes_lidar
    np.testing.assert_allclose(boxes[:, :2], bottom_lidar[:, :2], atol=1e-12)
    np.testing.assert_allclose(boxes[:, 2] - boxes[:, 5] / 2, bottom_lidar[:, 2], atol=1e-12)


def test_point_round_trip_and_projection(kitti_root):
    calib = Calibration.from_file(kitti_root / "training/calib/000008.txt")
    pts = np.random.default_rng(0).uniform([2, -20, -3], [70, 20, 2], (1000, 3))
    np.testing.assert_allclose(calib.rect_to_lidar(calib.lidar_to_rect(pts)), pts, atol=1e-9)
    uv, depth = calib.lidar_to_image(pts)
    back = calib.rect_to_lidar(calib.image_to_rect(uv, depth))
    np.testing.assert_allclose(back, pts, atol=1e-7)


def test_image_to_rect_matrix_is_image_to_rect_and_inverts_p2(kitti_root):
    calib = Calibration.from_file(kitti_root / "training/calib/000008.txt")
    rng = np.random.default_rng(1)
    uv, depth = rng.uniform([0, 0], [1242, 375], (200, 2)), rng.uniform(2, 80, 200)
    hom = np.column_stack([uv * depth[:, None], depth, np.ones_like(depth)])
    rect = hom @ calib.image_to_rect_matrix.T
    np.testing.assert_allclose(rect[:, :3], calib.image_to_rect(uv, depth), atol=1e-9)
    back_uv, back_depth = calib.rect_to_image(rect[:, :3])
    np.testing.assert_allclose(back_uv, uv, atol=1e-7)
    np.testing.assert_allclose(back_depth, depth, atol=1e-9)


def test_principal_point_projects_to_centre(kitti_root):
    calib = Calibration.from_file(kitti_root / "training/calib/000008.txt")
    # A point on the optical axis of camera 2, 10 m out, lands on (cu, cv) of P2 up to the
    # baseline offset P2[0,3]/depth.
    uv, depth = calib.rect_to_image(np.array([[0.0, 0.0, 10.0]]))
    p2 = calib.P2
    expected_u = (p2[0, 2] * 10 + p2[0, 3]) / (10 + p2[2, 3])
    assert uv[0, 0] == pytest.approx(expected_u)
    assert depth[0] == pytest.approx(10 + p2[2, 3])


def test_alpha_rotation_y_relation_on_labels(kitti_root):
    for frame in KittiObjectDataset(kitti_root):
        cared = [o for o in frame.objects if not o.is_dontcare]
        ry = np.array([o.rotation_y for o in cared])
        loc = np.array([o.location for o in cared])
        alpha = alpha_from_rotation_y(ry, loc)
        # KITTI annotators' alpha agrees with ry - atan2(x, z) to a few hundredths of a radian.
        assert np.abs(_wrap(alpha - np.array([o.alpha for o in cared]))).max() < 0.05
        np.testing.assert_allclose(_wrap(rotation_y_from_alpha(alpha, loc) - ry), 0, atol=1e-12)


def test_limit_period_range():
    a = np.linspace(-20, 20, 1001)
    w = limit_period(a)
    assert (w >= -np.pi).all() and (w < np.pi).all()
    np.testing.assert_allclose(np.sin(w), np.sin(a), atol=1e-12)


def test_boxes_conversion_round_trip_random(kitti_root):
    calib = Calibration.from_file(kitti_root / "training/calib/004139.txt")
    rng = np.random.default_rng(1)
    boxes = np.concatenate(
        [
            rng.uniform([-40, -40, -2], [40, 40, 1], (50, 3)),
            rng.uniform(0.5, 5, (50, 3)),
            rng.uniform(-np.pi, np.pi, (50, 1)),
        ],
        1,
    )
    back = boxes_cam_to_lidar(boxes_lidar_to_cam(boxes, calib), calib)
    np.testing.assert_allclose(back[:, :6], boxes[:, :6], atol=1e-9)
    np.testing.assert_allclose(_wrap(back[:, 6] - boxes[:, 6]), 0, atol=1e-9)


def test_calib_write_round_trip(kitti_root, tmp_path):
    for fid in FRAMES:
        src = kitti_root / f"training/calib/{fid}.txt"
        calib = Calibration.from_file(src)
        out = calib.write(tmp_path / f"{fid}.txt")
        again = Calibration.from_file(out)
        for name in ("P0", "P1", "P2", "P3", "R0_rect", "Tr_velo_to_cam", "Tr_imu_to_velo"):
            np.testing.assert_array_equal(getattr(again, name), getattr(calib, name))
        # The KITTI text (12-digit exponent format) is reproduced byte for byte, up to the
        # trailing blank line that only some KITTI files have.
        assert out.read_text().rstrip("\n") == src.read_text().rstrip("\n")


def test_tracking_key_aliases(tmp_path, kitti_root):
    text = (kitti_root / "training/calib/000008.txt").read_text()
    text = text.replace("R0_rect:", "R_rect:").replace("Tr_velo_to_cam:", "Tr_velo_cam:")
    (tmp_path / "c.txt").write_text(text)
    calib = Calibration.from_file(tmp_path / "c.txt")
    ref = Calibration.from_file(kitti_root / "training/calib/000008.txt")
    np.testing.assert_array_equal(calib.R0_rect, ref.R0_rect)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (
            lambda t: "\n".join(ln for ln in t.splitlines() if not ln.startswith("P2")),
            r"missing matrix P2",
        ),
        (
            lambda t: t.replace("R0_rect: 9.999239000000e-01", "R0_rect:"),
            r"line 5.*R0_rect: expected 9 numbers, got 8",
        ),
        (
            lambda t: t.replace("Tr_velo_to_cam: 7.533745000000e-03", "Tr_velo_to_cam: abc"),
            r"line 6.*non-numeric",
        ),
        (lambda t: t + "garbage line\n", r"expected 'KEY: numbers'"),
    ],
)
def test_bad_calib_files_name_file_and_line(tmp_path, kitti_root, edit, match):
    text = (kitti_root / "training/calib/000008.txt").read_text()
    bad = tmp_path / "bad_calib.txt"
    bad.write_text(edit(text))
    with pytest.raises(KittiFormatError, match=match) as info:
        Calibration.from_file(bad)
    assert "bad_calib.txt" in str(info.value)


def test_calibration_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"P2 must be \(3, 4\)"):
        Calibration(P2=np.eye(3), R0_rect=np.eye(3), Tr_velo_to_cam=np.eye(3, 4))
