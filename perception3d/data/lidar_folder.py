"""A LiDAR-only dataset: a folder of point clouds and box labels in the LiDAR frame, with the
user's own classes (no camera, no calibration).

Layout (``root/``)::

    points/<frame>.bin|.npy|.pcd|.ply   one sweep per frame (any reader of data/pointcloud.py)
    labels/<frame>.txt                  one object per line: class x y z dx dy dz heading
    ImageSets/<split>.txt               optional frame lists (train.txt, val.txt...)

Label rows: the class name (no spaces), the box centre (x, y, z), its size (dx along the
heading, dy, dz) in metres and the heading in radians counter-clockwise from +x about +z: the
LiDAR-frame box of OpenPCDet and mmdetection3d. Blank lines and ``#`` comments are skipped.
Prediction files add a 9th column, the score. Classes are whatever the detector config's
``model.classes`` names; labelled objects of other classes are background, as KITTI's Misc.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "f.txt"
    >>> _ = write_lidar_labels(path, np.array([[5.0, 1, -0.9, 1, 1, 1.6, 0.5]]), ["Crate"])
    >>> path.read_text()
    'Crate 5.0000 1.0000 -0.9000 1.0000 1.0000 1.6000 0.5000\\n'
    >>> read_lidar_labels(path).names.tolist()
    ['Crate']
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_text
from perception3d.data.frame_sequence import FrameSequence, first_frames
from perception3d.data.kitti import read_split_file
from perception3d.data.pointcloud import SUFFIXES, read_point_cloud
from perception3d.errors import DataFormatError, MissingFrameError

__all__ = [
    "LabelledFrame",
    "LidarFolderDataset",
    "LidarFrame",
    "LidarLabels",
    "read_lidar_labels",
    "write_lidar_labels",
]


@dataclass(frozen=True)
class LidarLabels:
    """The boxes of one label or prediction file.

    Attributes:
        boxes_lidar: (M, 7) float64 ``[x, y, z, dx, dy, dz, heading]``, LiDAR frame.
        names: (M,) object-dtype class names.
        scores: (M,) float64 scores of a prediction file, or None for labels.
    """

    boxes_lidar: np.ndarray
    names: np.ndarray
    scores: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.names)


def read_lidar_labels(path: str | Path, allow_score: bool = True) -> LidarLabels:
    """Read a LiDAR-frame label file (8 columns) or prediction file (9: + score).

    Raises:
        DataFormatError: a row with another column count, a non-numeric or non-finite value,
            a negative size, or a score where ``allow_score`` is False, or files mixing 8 and 9
            columns; the message names the file and line.
        FileNotFoundError: no such file.
    """
    path = Path(path)
    boxes, names, scores = [], [], []
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) not in ((8, 9) if allow_score else (8,)):
            expected = "8 (class x y z dx dy dz heading)" + (" or 9 (+ score)" * allow_score)
            raise DataFormatError(path, f"expected {expected} columns, got {len(words)}", lineno)
        try:
            values = [float(v) for v in words[1:]]
        except ValueError as exc:
            raise DataFormatError(path, f"non-numeric value ({exc})", lineno) from None
        if not np.isfinite(values).all() or min(values[3:6]) < 0:
            raise DataFormatError(path, f"values must be finite, sizes >= 0: {line!r}", lineno)
        if scores and (len(words) == 9) != (scores[-1] is not None):
            raise DataFormatError(path, "rows with and without a score column are mixed", lineno)
        names.append(words[0])
        boxes.append(values[:7])
        scores.append(values[7] if len(words) == 9 else None)
    with_score = bool(scores) and scores[0] is not None
    return LidarLabels(
        np.array(boxes, dtype=np.float64).reshape(-1, 7),
        np.array(names, dtype=object),
        np.array(scores, dtype=np.float64) if with_score else None,
    )


def write_lidar_labels(
    path: str | Path,
    boxes_lidar: np.ndarray,
    names: Sequence[str],
    scores: np.ndarray | None = None,
) -> Path:
    """Write a label (or, with ``scores``, prediction) file atomically, 4 decimals."""
    boxes_lidar = np.asarray(boxes_lidar, dtype=np.float64).reshape(-1, 7)
    if len(names) != len(boxes_lidar) or (scores is not None and len(scores) != len(names)):
        raise ValueError("boxes_lidar, names and scores must have the same length")
    lines = []
    for k, (box, name) in enumerate(zip(boxes_lidar, names)):
        if not str(name) or any(c.isspace() for c in str(name)):
            raise ValueError(f"class names cannot be empty or hold spaces, got {name!r}")
        row = " ".join([str(name), *(f"{v:.4f}" for v in box)])
        lines.append(row + ("" if scores is None else f" {float(scores[k]):.4f}") + "\n")
    return atomic_write_text(path, "".join(lines))


class LabelledFrame:
    """A frame whose ``labels`` (:class:`LidarLabels`) give its ``boxes_lidar`` and ``names``,
    the attributes of a KITTI ``Frame`` that the detection pipeline reads."""

    labels: LidarLabels

    @property
    def boxes_lidar(self) -> np.ndarray:
        """(M, 7) float64 label boxes, LiDAR frame."""
        return self.labels.boxes_lidar

    @property
    def names(self) -> np.ndarray:
        """(M,) object-dtype class names."""
        return self.labels.names


class LidarFrame(LabelledFrame):
    """One frame of a :class:`LidarFolderDataset` (the attributes of a KITTI ``Frame`` that
    the detection pipeline reads; ``calib`` and ``image_shape`` are None)."""

    calib = None
    image_shape = None

    def __init__(self, frame_id: str, points_path: Path, label_path: Path | None) -> None:
        self.frame_id, self.points_path, self.label_path = frame_id, points_path, label_path

    def __repr__(self) -> str:
        return f"LidarFrame({self.frame_id!r}, {self.points_path})"

    @cached_property
    def points(self) -> np.ndarray:
        """(N, 4) float32 ``[x, y, z, intensity]``, LiDAR frame."""
        return read_point_cloud(self.points_path)

    @property
    def has_labels(self) -> bool:
        return self.label_path is not None

    @cached_property
    def labels(self) -> LidarLabels:
        if self.label_path is None:
            return LidarLabels(np.zeros((0, 7)), np.zeros(0, dtype=object))
        return read_lidar_labels(self.label_path, allow_score=False)


class LidarFolderDataset(FrameSequence[LidarFrame]):
    """Frames of a LiDAR-only root (layout in the module docstring).

    Args:
        root: the folder holding ``points/`` and ``labels/``.
        split: an ``ImageSets/<split>.txt`` name, or ``"all"`` (also ``"training"``) for every
            file of ``points/``.
        ids: explicit frame ids instead of the split.
        labelled: every frame must have a label file (else frames without one have no
            objects).
        max_frames: keep only the first N frames (None: all).

    Raises:
        MissingFrameError: no ``points/`` folder, a missing split file, or (``labelled``) a
            frame without its label file.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "all",
        ids: Iterable[str] | None = None,
        labelled: bool = True,
        max_frames: int | None = None,
    ) -> None:
        self.root = Path(root)
        self.points_dir, self.labels_dir = self.root / "points", self.root / "labels"
        if not self.points_dir.is_dir():
            raise MissingFrameError(
                f"{self.points_dir}: no such folder (expected the LiDAR-only layout: points/, "
                "labels/, ImageSets/; docs/detectors.md)"
            )
        self._files = {
            Path(name).stem: self.points_dir / name
            for name in sorted(os.listdir(self.points_dir))
            if Path(name).suffix.lower() in SUFFIXES
        }
        if ids is not None:
            self.ids = [str(i) for i in ids]
        elif split in ("all", "training"):
            self.ids = sorted(self._files)
        else:
            split_file = self.root / "ImageSets" / f"{split}.txt"
            if not split_file.is_file():
                raise MissingFrameError(f"{split_file}: split file not found")
            self.ids = read_split_file(split_file)
        self.ids = first_frames(self.ids, max_frames)
        self.labelled = labelled

    def frame(self, frame_id: str) -> LidarFrame:
        """The :class:`LidarFrame` of ``frame_id``.

        Raises:
            MissingFrameError: no point cloud of that name, or (``labelled``) no label file.
        """
        fid = str(frame_id)
        if fid not in self._files:
            raise MissingFrameError(f"frame {fid}: no {self.points_dir}/{fid}.* point cloud")
        label = self.labels_dir / f"{fid}.txt"
        if not label.is_file():
            if self.labelled:
                raise MissingFrameError(f"frame {fid}: {label} not found")
            label = None
        return LidarFrame(fid, self._files[fid], label)
