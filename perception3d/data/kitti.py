"""KITTI 3D object benchmark layout: readers, writers and a dataset of frames.

Layout (``root/``)::

    ImageSets/{train,val,test}.txt        frame ids, one per line
    training/velodyne/000000.bin           float32 (N, 4) [x, y, z, reflectance], LiDAR frame
    training/image_2/000000.png            left colour camera
    training/calib/000000.txt              P0..P3, R0_rect, Tr_velo_to_cam, Tr_imu_to_velo
    training/label_2/000000.txt            15 columns per object (16 with a score: results)
    testing/...                            the same without label_2

Label columns: type, truncated, occluded, alpha, bbox (x1 y1 x2 y2, px), dimensions (h w l, m),
location (x y z, bottom centre, rectified camera frame, m), rotation_y [, score].
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write
from perception3d.data.frame_sequence import FrameSequence, check_max_frames, first_frames
from perception3d.data.kitti_labels import (  # noqa: F401  (re-exported)
    CLASSES,
    KittiObject,
    check_label_values,
    labels_to_arrays,
    parse_label_line,
    read_label_file,
    read_text_file,
    write_label_file,
    write_result_file,
)
from perception3d.data.pointcloud import nonfinite_message
from perception3d.errors import DataFormatError, KittiFormatError, MissingFrameError
from perception3d.geometry.calib import Calibration, boxes_cam_to_lidar


# -- velodyne -----------------------------------------------------------------------------
def read_velodyne(path: str | Path) -> np.ndarray:
    """Read a KITTI ``.bin`` sweep.

    Returns:
        (N, 4) float32 ``[x, y, z, reflectance]``, LiDAR frame, metres; N may be 0.

    Raises:
        KittiFormatError: size not a multiple of 16 bytes, or NaN/inf values.
        FileNotFoundError: no such file.
    """
    path = Path(path)
    raw = path.read_bytes()
    if len(raw) % 16:
        raise KittiFormatError(
            path, f"size {len(raw)} bytes is not a multiple of 16 (float32 x, y, z, reflectance)"
        )
    points = np.frombuffer(raw, dtype="<f4").reshape(-1, 4).copy()
    message = nonfinite_message(points)
    if message is not None:
        raise KittiFormatError(path, message)
    return points


def write_velodyne(path: str | Path, points: np.ndarray) -> Path:
    """Write (N, 4) points as a KITTI ``.bin`` (little-endian float32), atomically."""
    pts = np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] != 4:
        raise ValueError(f"points must be (N, 4), got {pts.shape}")
    return atomic_write(path, lambda f: f.write(pts.astype("<f4").tobytes()))


# -- images -------------------------------------------------------------------------------
def read_image(path: str | Path) -> np.ndarray:
    """Read an 8-bit (or 16-bit) PNG as (3, H, W) float32 sRGB in [0, 1].

    Raises:
        DataFormatError: not an image Pillow can decode (truncated, corrupt, another format).
        FileNotFoundError: no such file.
    """
    from PIL import Image

    path = Path(path)
    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB") if im.mode not in ("RGB", "I;16") else im)
    except FileNotFoundError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        # OSError: truncated or unidentified; SyntaxError: PIL's "not a PNG file" and kin
        raise DataFormatError(path, f"not a readable image ({exc})") from None
    scale = 65535.0 if arr.dtype == np.uint16 else 255.0
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    return np.ascontiguousarray(arr.transpose(2, 0, 1), dtype=np.float32) / scale


def image_size_hw(path: str | Path) -> tuple[int, int]:
    """(H, W) of an image without decoding its pixels.

    Raises:
        DataFormatError: not an image Pillow can identify. FileNotFoundError: no such file.
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            w, h = im.size
    except FileNotFoundError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DataFormatError(path, f"not a readable image ({exc})") from None
    return h, w


def read_split_file(path: str | Path) -> list[str]:
    """Frame ids of an ``ImageSets/*.txt`` file (blank lines ignored).

    Raises:
        DataFormatError: not UTF-8 text, or a line holding more than one word (file, line).
        FileNotFoundError: no such file.
    """
    ids = []
    for lineno, line in enumerate(read_text_file(path, "split").splitlines(), start=1):
        words = line.split()
        if len(words) > 1:
            raise DataFormatError(
                path, f"expected one frame id per line, got {len(words)} words", lineno
            )
        ids += words
    return ids


def split_path(root: str | Path, split: str) -> Path:
    """The split file ``split`` names: a path ending in ``.txt`` as given, else
    ``root/ImageSets/<split>.txt`` (whether it exists is the caller's to check)."""
    path = Path(split)
    return path if path.suffix == ".txt" else Path(root) / "ImageSets" / f"{split}.txt"


# -- frames and dataset -------------------------------------------------------------------
class Frame:
    """One KITTI object frame, loaded lazily: nothing is read until asked for.

    Attributes:
        frame_id: six-digit id string.
        points: (N, 4) float32 ``[x, y, z, intensity]``, LiDAR frame.
        image: (3, H, W) float32 sRGB image_2 in [0, 1], or None when there is none.
        calib: :class:`Calibration`.
        objects: label rows (DontCare kept, see ``KittiObject.is_dontcare``); [] for a frame
            of ``testing/`` without a label file. A ``training/`` frame must have one: reading
            its objects without raises ``MissingFrameError`` (its points, calibration and
            image still read, so inference runs on unlabelled frames).
        has_labels: whether a label file exists.
        boxes_lidar: (M, 7) LiDAR boxes of the non-DontCare objects, in label order.
        names: (M,) class names matching ``boxes_lidar``.
    """

    def __init__(
        self,
        frame_id: str,
        velodyne_path: Path,
        calib_path: Path,
        image_path: Path | None,
        label_path: Path | None,
        expected_label_path: Path | None = None,
    ) -> None:
        self.frame_id = frame_id
        self.velodyne_path = velodyne_path
        self.calib_path = calib_path
        self.image_path = image_path
        self.label_path = label_path
        self.expected_label_path = expected_label_path

    @property
    def has_labels(self) -> bool:
        return self.label_path is not None

    def __repr__(self) -> str:
        return f"Frame({self.frame_id!r}, velodyne={self.velodyne_path})"

    @cached_property
    def points(self) -> np.ndarray:
        return read_velodyne(self.velodyne_path)

    @cached_property
    def calib(self) -> Calibration:
        return Calibration.from_file(self.calib_path)

    @cached_property
    def image(self) -> np.ndarray | None:
        return None if self.image_path is None else read_image(self.image_path)

    @cached_property
    def image_shape(self) -> tuple[int, int] | None:
        """(H, W) of image_2 (read from the header only), or None."""
        return None if self.image_path is None else image_size_hw(self.image_path)

    @cached_property
    def objects(self) -> list[KittiObject]:
        if self.label_path is not None:
            return read_label_file(self.label_path, allow_score=False)
        if self.expected_label_path is not None:
            raise MissingFrameError(
                f"frame {self.frame_id}: label file {self.expected_label_path} not found (frames "
                "of training/ need one, an empty file for a frame without objects; only "
                "testing/ frames may lack labels)"
            )
        return []

    @cached_property
    def _cared(self) -> list[KittiObject]:
        return [o for o in self.objects if not o.is_dontcare]

    @cached_property
    def boxes_lidar(self) -> np.ndarray:
        boxes_cam = np.array([o.box_cam for o in self._cared], dtype=np.float64).reshape(-1, 7)
        return boxes_cam_to_lidar(boxes_cam, self.calib)

    @cached_property
    def names(self) -> np.ndarray:
        return np.array([o.type for o in self._cared], dtype=object)

    @cached_property
    def dontcare_boxes_lidar(self) -> np.ndarray:
        """(K, 7) LiDAR boxes of the DontCare rows that carry a 3D box (positive sizes and a
        location: pseudo-labels of uncertain detections, `experiments.sim2real.pseudo`);
        KITTI's own DontCare rows (-1 sizes, -1000 location) have none."""
        rows = [
            o.box_cam
            for o in self.objects
            if o.is_dontcare and min(o.dimensions) > 0 and o.location[2] > -999
        ]
        boxes_cam = np.array(rows, dtype=np.float64).reshape(-1, 7)
        return boxes_cam_to_lidar(boxes_cam, self.calib)


class KittiObjectDataset(FrameSequence[Frame]):
    """Frames of a KITTI-object-layout root (the real KITTI or our synthetic one).

    Args:
        root: folder holding ``training/`` (and optionally ``testing/``, ``ImageSets/``).
        split: ``"training"`` or ``"testing"`` (the folder), or an ImageSets name
            (``"train"``, ``"val"``, ``"test"``...), which selects ids from
            ``root/ImageSets/<split>.txt`` inside ``training/`` (``testing/`` for "test").
        ids: explicit frame ids (ints or strings) or a path to a split file; default: every
            ``velodyne/*.bin`` of the folder (or the ImageSets file), sorted.
        max_frames: keep only the first N frames of that list (None: all): the one place
            where a run's frame limit (``data.max_train_frames``, ``--max-frames``) applies.

    Example:
        >>> ds = KittiObjectDataset("tests/data/kitti_samples", ids=["000008"])
        >>> len(ds), ds.frame(8).points.shape
        (1, (17238, 4))
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "training",
        ids: Iterable[str | int] | str | Path | None = None,
        max_frames: int | None = None,
    ) -> None:
        check_max_frames(max_frames)
        self.root = Path(root)
        if split in ("training", "testing"):
            folder, split_file = split, None
        else:
            folder = "testing" if split == "test" else "training"
            split_file = self.root / "ImageSets" / f"{split}.txt"
        self.split_dir = self.root / folder
        if not self.split_dir.is_dir():
            raise MissingFrameError(
                f"{self.split_dir}: no such folder (expected the KITTI "
                f"object layout: {folder}/velodyne, calib, ...)"
            )
        if isinstance(ids, (str, Path)):
            id_list = read_split_file(ids)
        elif ids is not None:
            id_list = [self.normalize_id(i) for i in ids]
        elif split_file is not None:
            if not split_file.is_file():
                raise MissingFrameError(f"{split_file}: split file not found")
            id_list = read_split_file(split_file)
        else:
            velo = self.split_dir / "velodyne"
            id_list = (
                sorted(p[:-4] for p in os.listdir(velo) if p.endswith(".bin"))
                if velo.is_dir()
                else []
            )
        self.ids: list[str] = first_frames(id_list, max_frames)

    @staticmethod
    def normalize_id(frame_id: str | int) -> str:
        """``8`` or ``"8"`` -> ``"000008"``; other strings are kept."""
        if isinstance(frame_id, (int, np.integer)):
            return f"{int(frame_id):06d}"
        s = str(frame_id)
        return f"{int(s):06d}" if s.isdigit() and len(s) < 6 else s

    def frame(self, frame_id: str | int) -> Frame:
        """The :class:`Frame` of ``frame_id``.

        Raises:
            MissingFrameError: its velodyne or calib file does not exist. (A missing label
                file of a ``training/`` frame raises when its objects are read.)
        """
        fid = self.normalize_id(frame_id)
        d = self.split_dir
        velo, calib = d / "velodyne" / f"{fid}.bin", d / "calib" / f"{fid}.txt"
        for p in (velo, calib):
            if not p.is_file():
                raise MissingFrameError(f"frame {fid}: {p} not found")
        image = d / "image_2" / f"{fid}.png"
        label = d / "label_2" / f"{fid}.txt"
        return Frame(
            fid,
            velo,
            calib,
            image if image.is_file() else None,
            label if label.is_file() else None,
            expected_label_path=label if d.name != "testing" else None,
        )
