"""KITTI raw drives through pykitti, on a tiny drive written in the official raw layout."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pykitti", reason="the kitti-raw extra is not installed")

from perception3d.data.kitti_raw import KittiRawDrive  # noqa: E402
from perception3d.errors import MissingFrameError  # noqa: E402
from perception3d.geometry.calib import Calibration  # noqa: E402


def _fmt(m):
    return " ".join(f"{v:.6e}" for v in np.asarray(m).ravel())


def _write_drive(base: Path, kitti_root: Path, n: int = 3) -> Calibration:
    """A raw drive whose calibration is the object frame 000008's (same car, same rig)."""
    calib = Calibration.from_file(kitti_root / "training/calib/000008.txt")
    day = base / "2011_09_26"
    drive = day / "2011_09_26_drive_0001_sync"
    cam = [f"P_rect_0{i}: {_fmt(p)}" for i, p in enumerate([calib.P0, calib.P1, calib.P2,
                                                            calib.P3])]
    cam += [f"R_rect_0{i}: {_fmt(calib.R0_rect)}" for i in range(4)]
    (day).mkdir(parents=True)
    (day / "calib_cam_to_cam.txt").write_text("\n".join(cam) + "\n")
    tr = calib.Tr_velo_to_cam
    (day / "calib_velo_to_cam.txt").write_text(f"R: {_fmt(tr[:, :3])}\nT: {_fmt(tr[:, 3])}\n")
    imu = calib.Tr_imu_to_velo
    (day / "calib_imu_to_velo.txt").write_text(f"R: {_fmt(imu[:, :3])}\nT: {_fmt(imu[:, 3])}\n")
    for sub in ("image_02/data", "velodyne_points/data", "oxts/data"):
        (drive / sub).mkdir(parents=True)
    stamps = []
    for i in range(n):
        shutil.copy(kitti_root / "training/image_2/000008.png", drive / f"image_02/data/{i:010d}.png")
        pts = np.fromfile(kitti_root / "training/velodyne/000000.bin", np.float32)
        (pts + i).tofile(drive / f"velodyne_points/data/{i:010d}.bin")
        # lat lon alt roll pitch yaw, then 19 velocities/accelerations/accuracies, 5 flags
        lat = 49.0 + i * 1e-5
        vals = [lat, 8.4, 110.0, 0.0, 0.0, 0.1 * i] + [0.0] * 19 + [4, 10, 4, 4, 0]
        (drive / f"oxts/data/{i:010d}.txt").write_text(" ".join(str(v) for v in vals) + "\n")
        stamps.append(f"2011-09-26 13:02:25.{i:03d}000000")
    (drive / "oxts/timestamps.txt").write_text("\n".join(stamps) + "\n")
    return calib


def test_raw_drive_frames_calib_and_poses(tmp_path, kitti_root):
    calib = _write_drive(tmp_path, kitti_root)
    drive = KittiRawDrive(tmp_path, "2011_09_26", "0001")
    assert len(drive) == 3
    f = drive.frame(2)
    ref = np.fromfile(kitti_root / "training/velodyne/000000.bin", np.float32).reshape(-1, 4)
    np.testing.assert_array_equal(f.points, ref + 2)
    assert f.image.shape == (3, 375, 1242)
    assert f.timestamp.microsecond == 2000
    np.testing.assert_allclose(drive.calib.P2, calib.P2, rtol=1e-6)
    np.testing.assert_allclose(drive.calib.Tr_velo_to_cam, calib.Tr_velo_to_cam, rtol=1e-6)
    # poses: first at the origin; the third ~2.2 m north (2e-5 deg latitude), yawed 0.2 rad
    np.testing.assert_allclose(drive.frame(0).pose_world_imu[:3, 3], 0, atol=1e-9)
    t = f.pose_world_imu[:3, 3]
    assert 2.0 < t[1] < 2.5 and abs(t[0]) < 1e-6
    yaw = np.arctan2(f.pose_world_imu[1, 0], f.pose_world_imu[0, 0])
    assert yaw == pytest.approx(0.2)
    assert len(list(drive)) == 3


def test_raw_drive_errors(tmp_path, kitti_root):
    with pytest.raises(MissingFrameError, match=r"drive folder not found"):
        KittiRawDrive(tmp_path, "2011_09_26", "0001")
    _write_drive(tmp_path, kitti_root)
    drive = KittiRawDrive(tmp_path, "2011_09_26", "0001")
    with pytest.raises(MissingFrameError, match=r"frame 5 out of range"):
        drive.frame(5)
