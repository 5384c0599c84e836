"""KITTI raw sequences (synchronized camera, Velodyne and OXTS) through ``pykitti``.

Layout read (the official raw download, "synced+rectified")::

    base/2011_09_26/calib_{cam_to_cam,velo_to_cam,imu_to_velo}.txt
    base/2011_09_26/2011_09_26_drive_0001_sync/{image_02,velodyne_points,oxts}/data/...
                                               oxts/timestamps.txt

Needs the ``kitti-raw`` extra (pykitti, plus opencv-python-headless and pandas, which pykitti
imports without declaring them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perception3d.data.kitti import read_image, read_velodyne
from perception3d.errors import MissingFrameError
from perception3d.geometry.calib import Calibration


def _pykitti():
    try:
        import pykitti
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            f"KITTI raw sequences need pykitti: pip install 'perception3d[kitti-raw]' ({exc})"
        ) from exc
    return pykitti


@dataclass(frozen=True)
class RawFrame:
    """One synchronized raw frame.

    Attributes:
        index: position in the drive (0-based).
        timestamp: OXTS timestamp.
        points: (N, 4) float32 LiDAR frame.
        image: (3, H, W) float32 sRGB image_02 in [0, 1], or None.
        pose_world_imu: (4, 4) float64 IMU -> world (East-North-Up, origin at the first frame).
        oxts: the raw OXTS packet (namedtuple of pykitti).
    """

    index: int
    timestamp: dt.datetime
    points: np.ndarray
    image: np.ndarray | None
    pose_world_imu: np.ndarray
    oxts: object


class KittiRawDrive:
    """A KITTI raw drive.

    Args:
        base_dir: folder holding the date folders.
        date: e.g. ``"2011_09_26"``.
        drive: e.g. ``"0001"``.
        frames: optional subset of frame indices.
    """

    def __init__(
        self, base_dir: str | Path, date: str, drive: str, frames: list[int] | None = None
    ) -> None:
        base = Path(base_dir)
        drive_dir = base / date / f"{date}_drive_{drive}_sync"
        if not drive_dir.is_dir():
            raise MissingFrameError(f"{drive_dir}: drive folder not found")
        for name in ("calib_cam_to_cam.txt", "calib_velo_to_cam.txt", "calib_imu_to_velo.txt"):
            if not (base / date / name).is_file():
                raise MissingFrameError(f"{base / date / name}: calibration file not found")
        self._raw = _pykitti().raw(str(base), date, drive, frames=frames)
        self.drive_dir = drive_dir

    def __len__(self) -> int:
        return len(self._raw.timestamps)

    @property
    def calib(self) -> Calibration:
        """The drive's calibration as a :class:`Calibration` (image_2 through P_rect_02)."""
        c = self._raw.calib
        return Calibration(
            P2=c.P_rect_20,
            R0_rect=c.R_rect_00[:3, :3],
            Tr_velo_to_cam=c.T_cam0_velo_unrect[:3, :4],
            P0=c.P_rect_00,
            P1=c.P_rect_10,
            P3=c.P_rect_30,
            Tr_imu_to_velo=c.T_velo_imu[:3, :4],
        )

    def frame(self, index: int) -> RawFrame:
        """Frame ``index`` with its sweep, image_02, pose and OXTS packet."""
        self._check_index(index)
        raw = self._raw
        image = read_image(raw.cam2_files[index]) if index < len(raw.cam2_files) else None
        ox = raw.oxts[index]
        return RawFrame(
            index=index,
            timestamp=raw.timestamps[index],
            points=read_velodyne(raw.velo_files[index]),
            image=image,
            pose_world_imu=np.asarray(ox.T_w_imu, dtype=np.float64),
            oxts=ox.packet,
        )

    def _check_index(self, index: int) -> None:
        if not 0 <= index < len(self):
            raise MissingFrameError(
                f"{self.drive_dir}: frame {index} out of range (drive has {len(self)} frames)"
            )

    def points(self, index: int) -> np.ndarray:
        """(N, 4) float32 sweep of frame ``index``, LiDAR frame (no image is read)."""
        self._check_index(index)
        return read_velodyne(self._raw.velo_files[index])

    def pose_world_lidar(self, index: int) -> np.ndarray:
        """(4, 4) float64 LiDAR -> world at frame ``index``: OXTS ``T_w_imu`` composed with
        the inverse of ``calib_imu_to_velo`` (world: East-North-Up at the first frame)."""
        self._check_index(index)
        world_imu = np.asarray(self._raw.oxts[index].T_w_imu, dtype=np.float64)
        return world_imu @ np.linalg.inv(np.asarray(self._raw.calib.T_velo_imu, np.float64))

    def __iter__(self):
        for i in range(len(self)):
            yield self.frame(i)
