"""ScannerModel: KITTI's laser cones, ray/cell round trips, columns as the range image has them."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.data.kitti import read_velodyne
from perception3d.geometry.beams import estimate_beam_table
from perception3d.geometry.spherical import RangeImage
from perception3d.lidar.scanner import (
    KITTI_HDL64E_ELEVATIONS_DEG,
    KITTI_HDL64E_HEAD_HEIGHTS_M,
    ScannerModel,
)


def _sweep(kitti_root, frame_id):
    return read_velodyne(kitti_root / "training" / "velodyne" / f"{frame_id}.bin")


def test_kitti_table_is_the_fit_of_004139(kitti_root):
    points = _sweep(kitti_root, "004139")
    fitted = ScannerModel.fit(points, estimate_beam_table(points).ring)
    np.testing.assert_allclose(
        np.degrees(np.arctan(fitted.tan_elevation)), KITTI_HDL64E_ELEVATIONS_DEG, atol=1e-4
    )
    np.testing.assert_allclose(fitted.head_height_m, KITTI_HDL64E_HEAD_HEIGHTS_M, atol=1e-4)


@pytest.mark.parametrize("frame_id", ["004139", "000008"])
def test_real_points_lie_on_their_kitti_cone(kitti_root, frame_id):
    # 000008 is a camera-field-of-view crop: the fixed table still fits it (same sensor).
    points = _sweep(kitti_root, frame_id).astype(np.float64)
    scanner = ScannerModel.kitti_hdl64e()
    rows = scanner.rows(points)
    d = np.hypot(points[:, 0], points[:, 1])
    residual = np.degrees(
        np.arctan2(points[:, 2] - scanner.head_height_m[rows], d)
        - np.arctan(scanner.tan_elevation[rows])
    )
    assert np.percentile(np.abs(residual), 99.9) < 0.02  # beams are 0.33-0.6 deg apart
    if frame_id == "004139":  # scan-order rings of the intact sweep: the same beams
        np.testing.assert_array_equal(rows, estimate_beam_table(points).ring)


def test_ray_points_round_trip_to_their_cells():
    scanner = ScannerModel.kitti_hdl64e()
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 64, 1000)
    cols = rng.integers(0, scanner.width, 1000)
    pts = scanner.ray_points(rows, cols, rng.uniform(2, 80, 1000))
    got_rows, got_cols, range_m = scanner.cells(pts)
    np.testing.assert_array_equal(got_rows, rows)
    np.testing.assert_array_equal(got_cols, cols)
    np.testing.assert_allclose(range_m, np.linalg.norm(pts, axis=1))


def test_columns_match_the_range_image(kitti_root):
    points = _sweep(kitti_root, "000008")
    scanner = ScannerModel.kitti_hdl64e()
    image = RangeImage.from_points(points, np.radians(KITTI_HDL64E_ELEVATIONS_DEG))
    np.testing.assert_array_equal(scanner.cells(points)[1], image.point_col)


def test_scanned_columns_of_a_crop(kitti_root):
    scanner = ScannerModel.kitti_hdl64e()
    full = scanner.scanned_columns(scanner.cells(_sweep(kitti_root, "004139"))[1])
    crop = scanner.scanned_columns(scanner.cells(_sweep(kitti_root, "000008"))[1])
    assert full.mean() > 0.99
    assert 0.2 < crop.mean() < 0.3  # the camera sees about 90 of 360 degrees


def test_origin_model_is_elevation_from_the_origin():
    scanner = ScannerModel.nominal_hdl64e(width=1024)
    assert scanner.num_beams == 64 and np.all(scanner.head_height_m == 0)
    pts = scanner.ray_points([0, 63], [0, 0], [10.0, 10.0])
    el = np.degrees(np.arctan2(pts[:, 2], np.hypot(pts[:, 0], pts[:, 1])))
    np.testing.assert_allclose(el, [2.0, -24.9], atol=1e-9)


def test_errors():
    with pytest.raises(ValueError, match="strictly descending"):
        ScannerModel.from_elevations([0.0, 0.1])
    with pytest.raises(ValueError, match="width must be a positive int"):
        ScannerModel.from_elevations([0.1, 0.0], width=0)
    with pytest.raises(ValueError, match=r"points must be \(N, 3\+\)"):
        ScannerModel.kitti_hdl64e().rows(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="needs at least one point"):
        ScannerModel.fit(np.zeros((2, 3)), np.array([0, 2]))
