"""KITTI raw text files: OXTS lines, timestamps, calibration that pykitti parses."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.data.kitti_raw_write import (
    OXTS_FIELDS,
    format_oxts,
    write_raw_calibration,
    write_timestamps,
)
from perception3d.sim.camera import kitti_default_calibration


def test_oxts_line_has_30_fields_and_integer_flags():
    assert len(OXTS_FIELDS) == 30
    line = format_oxts([49.0123456789012, 8.4, 110.5] + [0.1] * 22 + [4, 10, 4, 4, 0])
    parts = line.split()
    assert len(parts) == 30 and parts[0] == "49.012345678901"
    assert parts[-5:] == ["4", "10", "4", "4", "0"]
    with pytest.raises(ValueError, match="30 values, got 29"):
        format_oxts([0.0] * 29)
    with pytest.raises(ValueError, match=r"non-finite OXTS value\(s\): \['yaw'\]"):
        format_oxts([0.0] * 5 + [np.nan] + [0.0] * 24)


def test_timestamps_keep_nanoseconds(tmp_path):
    t0 = np.datetime64("2011-09-26T13:00:00", "ns")
    path = write_timestamps(tmp_path / "timestamps.txt", [t0, t0 + np.timedelta64(100_000_001)])
    assert path.read_text().splitlines() == [
        "2011-09-26 13:00:00.000000000",
        "2011-09-26 13:00:00.100000001",
    ]


def test_calibration_reads_back_through_pykitti_parser(tmp_path):
    utils = pytest.importorskip("pykitti.utils")
    calib = kitti_default_calibration()
    paths = write_raw_calibration(tmp_path, calib, (1242, 375), "01-Jan-2011 00:00:00")
    cam = utils.read_calib_file(paths[0])
    np.testing.assert_allclose(cam["P_rect_02"].reshape(3, 4), calib.P2, rtol=1e-12)
    np.testing.assert_allclose(cam["R_rect_00"].reshape(3, 3), calib.R0_rect, rtol=1e-12)
    np.testing.assert_allclose(cam["S_rect_02"], [1242, 375])
    velo = utils.read_calib_file(paths[1])
    np.testing.assert_allclose(velo["R"].reshape(3, 3), calib.Tr_velo_to_cam[:, :3], rtol=1e-12)
    imu = utils.read_calib_file(paths[2])
    np.testing.assert_allclose(imu["T"], calib.Tr_imu_to_velo[:, 3], rtol=1e-12)
