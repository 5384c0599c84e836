"""Detection frames of KITTI raw drives: each frame's sweep, its earlier sweeps with their poses
and times (for multi-sweep accumulation, :mod:`perception3d.lidar.multisweep`), and its labels
from ``tracklet_labels.xml`` as the KITTI object layout's ``label_2`` would hold them.

Layout read (a KITTI raw root, real or from ``perception3d synth-drive``)::

    root/DATE/calib_{cam_to_cam,velo_to_cam,imu_to_velo}.txt
    root/DATE/DATE_drive_NNNN_sync/{velodyne_points,oxts,image_02}/..., tracklet_labels.xml
    root/ImageSets/<split>.txt     optional: drive folder names (DATE_drive_NNNN_sync), one a line

Frame ids are ``DATE_NNNN_FFFFFFFFFF`` (date, drive, 10-digit frame index), e.g.
``2011_09_26_0001_0000000005``.

Labels of a frame (LiDAR frame of the frame time, the project's centre boxes): the tracklets
that span it and lie in image_02 (truncation 0 or 1); the raw type ``Person (sitting)`` becomes
``Person_sitting``. They become DontCare regions (ignored in training and evaluation) when
their occlusion is unset (-1: too far or too small in the image; synthetic drives' label_2
DontCare rows) or when the frame's own sweep has fewer than ``min_points`` returns in the box
(nuScenes practice: boxes without LiDAR points are neither trained on nor evaluated). Both
rules use only the current frame, so a labelled set does not depend on how many sweeps a model
accumulates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

import numpy as np

from perception3d.data.frame_sequence import FrameSequence, first_frames
from perception3d.data.kitti import image_size_hw, read_split_file
from perception3d.data.kitti_raw import KittiRawDrive
from perception3d.data.kitti_tracklets import (
    TRUNCATION_IN_IMAGE,
    TRUNCATION_TRUNCATED,
    Tracklet,
    read_tracklets,
)
from perception3d.data.lidar_folder import LabelledFrame, LidarLabels
from perception3d.errors import DataFormatError, MissingFrameError
from perception3d.geometry.boxes import points_in_boxes
from perception3d.geometry.calib import Calibration

__all__ = ["DriveDetectionFrames", "DriveFrame", "find_drives", "read_raw_timestamps"]

RAW_TO_OBJECT_TYPE = {"Person (sitting)": "Person_sitting"}


def read_raw_timestamps(path: str | Path) -> np.ndarray:
    """(F,) float64 seconds since the epoch of a raw ``timestamps.txt`` (``YYYY-MM-DD
    HH:MM:SS.nnnnnnnnn`` a line; truncated to microseconds as pykitti does).

    Raises:
        DataFormatError: a line of another form (file, line). FileNotFoundError: no file.
    """
    out = []
    for lineno, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            stamp = dt.datetime.strptime(line.strip()[:26], "%Y-%m-%d %H:%M:%S.%f")
        except ValueError:
            message = f"expected YYYY-MM-DD HH:MM:SS.f, got {line!r}"
            raise DataFormatError(path, message, lineno) from None
        out.append(stamp.replace(tzinfo=dt.timezone.utc).timestamp())
    return np.array(out, dtype=np.float64)


def find_drives(root: str | Path) -> list[str]:
    """Sorted drive folder names (``DATE_drive_NNNN_sync``) under ``root/DATE/``."""
    root = Path(root)
    return sorted(
        d.name
        for date in root.iterdir()
        if date.is_dir()
        for d in date.glob(f"{date.name}_drive_*_sync")
        if d.is_dir()
    )


def _split_drive(name: str) -> tuple[str, str]:
    """``2011_09_26_drive_0001_sync`` -> (``2011_09_26``, ``0001``)."""
    date, sep, rest = name.partition("_drive_")
    if not sep or not rest.endswith("_sync"):
        raise ValueError(f"expected a drive folder name DATE_drive_NNNN_sync, got {name!r}")
    return date, rest[: -len("_sync")]


class _Drive:
    """One drive's reader, tracklets and sweep times, loaded once."""

    def __init__(self, root: Path, name: str) -> None:
        self.date, self.number = _split_drive(name)
        self.raw = KittiRawDrive(root, self.date, self.number)
        self.dir = self.raw.drive_dir

    @cached_property
    def times_s(self) -> np.ndarray:
        """(F,) sweep times in seconds from the first: velodyne_points/timestamps.txt, else
        the OXTS timestamps."""
        path = self.dir / "velodyne_points" / "timestamps.txt"
        times = read_raw_timestamps(path) if path.is_file() else np.zeros(0)
        if len(times) < len(self.raw):
            times = read_raw_timestamps(self.dir / "oxts" / "timestamps.txt")
        if len(times) < len(self.raw):
            raise MissingFrameError(
                f"{self.dir}: fewer timestamps than the drive's {len(self.raw)} frames"
            )
        return times - times[0]

    @cached_property
    def tracklets(self) -> list[Tracklet]:
        path = self.dir / "tracklet_labels.xml"
        if not path.is_file():
            raise MissingFrameError(f"{path}: no tracklets (the drive's labels)")
        return read_tracklets(path)

    @cached_property
    def image_shape(self) -> tuple[int, int] | None:
        files = sorted((self.dir / "image_02" / "data").glob("*.png"))
        return image_size_hw(files[0]) if files else None


class DriveFrame(LabelledFrame):
    """One frame of a drive (the attributes of a KITTI ``Frame`` the detection pipeline reads).

    Attributes:
        frame_id: ``DATE_NNNN_FFFFFFFFFF``; index: the frame in its drive.
        points: (N, 4) float32 sweep, LiDAR frame; calib, image_shape: the drive's.
        labels: :class:`LidarLabels` of the cared-for objects (module docstring);
            boxes_lidar, names: its arrays; occlusion: (M,) their tracklet occlusion (0/1/2).
        dontcare_boxes_lidar: (D, 7) the ignored objects' boxes.
    """

    has_labels = True

    def __init__(self, drive: _Drive, index: int, min_points: int) -> None:
        self.drive, self.index, self.min_points = drive, index, min_points
        self.frame_id = f"{drive.date}_{drive.number}_{index:010d}"

    def __repr__(self) -> str:
        return f"DriveFrame({self.frame_id!r})"

    @cached_property
    def points(self) -> np.ndarray:
        return self.drive.raw.points(self.index)

    @property
    def calib(self) -> Calibration:
        return self.drive.raw.calib

    @property
    def image_shape(self) -> tuple[int, int] | None:
        return self.drive.image_shape

    def sweep_history(self, sweeps: int) -> tuple[list, list, list]:
        """This frame's sweep and up to ``sweeps`` earlier ones (fewer at the drive's start),
        most recent first: (points (N_k, 4) list, world_from_lidar (4, 4) list, times_s list),
        the arguments of :func:`perception3d.lidar.multisweep.accumulate_sweeps`."""
        frames = range(self.index, max(self.index - sweeps, 0) - 1, -1)
        raw, times = self.drive.raw, self.drive.times_s
        points = [self.points if k == self.index else raw.points(k) for k in frames]
        return points, [raw.pose_world_lidar(k) for k in frames], [times[k] for k in frames]

    @cached_property
    def _tracklets_in_image(self) -> list[tuple]:
        """(tracklet, its pose index at this frame) of the tracklets that span the frame and
        lie in image_02 (truncation 0 or 1), in tracklet order: the objects of the frame."""
        out = []
        for tr in self.drive.tracklets:
            k = self.index - tr.first_frame
            if 0 <= k < len(tr.poses) and tr.truncation[k] in (
                TRUNCATION_IN_IMAGE,
                TRUNCATION_TRUNCATED,
            ):
                out.append((tr, k))
        return out

    @cached_property
    def objects_in_image(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(boxes (M, 7), names (M,), occlusion (M,), cared (M,) bool) of the in-image
        tracklets of the frame; ``cared`` False: DontCare (module docstring)."""
        boxes, names, occlusion = [], [], []
        for tr, k in self._tracklets_in_image:
            boxes.append(tr.boxes_lidar()[k])
            names.append(RAW_TO_OBJECT_TYPE.get(tr.object_type, tr.object_type))
            occlusion.append(int(tr.occlusion[k]))
        boxes = np.array(boxes, dtype=np.float64).reshape(-1, 7)
        occlusion = np.array(occlusion, dtype=np.int64)
        counts = self.points_per_box(boxes)
        cared = (occlusion >= 0) & (counts >= self.min_points)
        return boxes, np.array(names, dtype=object), occlusion, cared

    @cached_property
    def tracklet_index(self) -> np.ndarray:
        """(M,) int64 index in the drive's ``tracklet_labels.xml`` of each in-image object
        (order of ``objects_in_image``): the same number in every frame it appears in."""
        where = {id(tr): i for i, tr in enumerate(self.drive.tracklets)}
        return np.array([where[id(tr)] for tr, _ in self._tracklets_in_image], dtype=np.int64)

    @cached_property
    def speeds_mps(self) -> np.ndarray:
        """(M,) ground speed of each in-image object (order of ``objects_in_image``), m/s,
        from its tracklet's box centre in the world (OXTS poses) at this frame and the one
        before (after, for a tracklet's first frame); 0 for a one-frame tracklet."""
        raw, times, out = self.drive.raw, self.drive.times_s, []
        for tr, k in self._tracklets_in_image:
            other = k - 1 if k > 0 else k + 1
            if other >= len(tr.poses):
                out.append(0.0)
                continue
            centres = []
            for j in (k, other):
                pose = raw.pose_world_lidar(tr.first_frame + j)
                centres.append(pose[:3, :3] @ tr.poses[j, :3] + pose[:3, 3])
            dt = abs(times[tr.first_frame + k] - times[tr.first_frame + other])
            out.append(float(np.linalg.norm((centres[0] - centres[1])[:2]) / dt))
        return np.array(out, dtype=np.float64)

    def points_per_box(self, boxes_lidar: np.ndarray) -> np.ndarray:
        """(M,) int64 returns of this frame's own sweep inside each box."""
        if len(boxes_lidar) == 0:
            return np.zeros(0, dtype=np.int64)
        mask = points_in_boxes(self.points, boxes_lidar, return_mask=True)
        return mask.sum(axis=0).astype(np.int64)

    @cached_property
    def labels(self) -> LidarLabels:
        boxes, names, _, cared = self.objects_in_image
        return LidarLabels(boxes[cared], names[cared])

    @property
    def occlusion(self) -> np.ndarray:
        _, _, occlusion, cared = self.objects_in_image
        return occlusion[cared]

    @property
    def dontcare_boxes_lidar(self) -> np.ndarray:
        boxes, _, _, cared = self.objects_in_image
        return boxes[~cared]


class DriveDetectionFrames(FrameSequence[DriveFrame]):
    """The frames of the drives under a KITTI raw root (layout in the module docstring).

    Args:
        root: the raw root (date folders).
        split: ``"all"`` (also ``"training"``) for every drive, or an ``ImageSets/<split>.txt``
            of drive folder names.
        ids: explicit frame ids instead of the split's frames.
        max_frames: only the first N frames (None: all).
        min_points: returns of the frame's own sweep a box needs to be a label (fewer:
            DontCare).

    Raises:
        MissingFrameError: no drive, a missing split file or drive folder, an unknown frame id.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "all",
        ids: Iterable[str] | None = None,
        max_frames: int | None = None,
        min_points: int = 1,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise MissingFrameError(f"{self.root}: no such folder (expected a KITTI raw root)")
        if split in ("all", "training"):
            names = find_drives(self.root)
        else:
            split_file = self.root / "ImageSets" / f"{split}.txt"
            if not split_file.is_file():
                raise MissingFrameError(f"{split_file}: split file not found")
            names = read_split_file(split_file)
        if not names:
            raise MissingFrameError(f"{self.root}: no DATE/DATE_drive_NNNN_sync folder")
        self.drives = {}
        for name in names:
            drive = _Drive(self.root, name)
            self.drives[f"{drive.date}_{drive.number}"] = drive
        if ids is not None:
            self.ids = [str(i) for i in ids]
        else:
            self.ids = [
                f"{key}_{i:010d}"
                for key, drive in self.drives.items()
                for i in range(len(drive.raw))
            ]
        self.ids = first_frames(self.ids, max_frames)
        self.min_points = min_points

    def frame(self, frame_id: str) -> DriveFrame:
        """The :class:`DriveFrame` of ``frame_id`` (``DATE_NNNN_FFFFFFFFFF``).

        Raises:
            MissingFrameError: its drive is not in the set, or the index is out of range.
        """
        key, _, index = str(frame_id).rpartition("_")
        if key not in self.drives or not index.isdigit():
            raise MissingFrameError(
                f"frame {frame_id}: not a frame of the drives under {self.root} (ids look like "
                "2011_09_26_0001_0000000005)"
            )
        drive = self.drives[key]
        if int(index) >= len(drive.raw):
            raise MissingFrameError(f"frame {frame_id}: {drive.dir} has {len(drive.raw)} frames")
        return DriveFrame(drive, int(index), self.min_points)
