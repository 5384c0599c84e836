"""Ground-truth database: every labelled object's LiDAR points, for pasting into other scenes.

Built once from a KITTI-layout split by ``perception3d create-db --data-root DIR`` (SECOND's
"ground-truth sampling" database, Yan et al. 2018), stored without pickle::

    DIR/gt_database/<split>/points.npy   float32 (P, 4) [x, y, z, intensity], all objects
                                         concatenated, each in its source frame's LiDAR frame
    DIR/gt_database/<split>/index.json   one entry per object (columns below) + metadata

Points stay where the sensor saw them (not re-centred on the box): the sensor position relative
to the object is what makes a paste physically consistent (`perception3d/lidar/paste.py`).
Entry columns: ``name``, ``frame_id``, ``label_index`` (row in label_2, DontCare counted),
``box_lidar`` (7,), ``difficulty`` (0 easy, 1 moderate, 2 hard, -1 none; KITTI devkit rules),
``truncated``, ``occluded``, ``num_points``, ``offset`` (first row in points.npy).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from perception3d.atomic import atomic_write_bytes, atomic_write_text
from perception3d.data.kitti import KittiObjectDataset
from perception3d.data.kitti_labels import kitti_difficulty  # re-exported: the devkit's rule
from perception3d.errors import DataFormatError
from perception3d.geometry.boxes import points_in_boxes

__all__ = ["GtDatabase", "create_gt_database", "kitti_difficulty"]

FORMAT_VERSION = 1
_COLUMNS = ("name", "frame_id", "label_index", "box_lidar", "difficulty", "truncated",
            "occluded", "num_points", "offset")  # fmt: skip


def _database_dir(data_root: Path, split: str) -> Path:
    return Path(data_root) / "gt_database" / split


def create_gt_database(
    data_root: str | Path,
    split: str = "train",
    out_dir: str | Path | None = None,
    ids: Iterable[str | int] | None = None,
    progress: bool = True,
) -> Path:
    """Extract every labelled (non-DontCare) object's points of a split and store them.

    Args:
        data_root: KITTI-layout root (``training/velodyne``, ``calib``, ``label_2``).
        split: ImageSets name (``train``, ``val``...) or ``training`` for every frame.
        out_dir: output folder; default ``data_root/gt_database/<split>``.
        ids: explicit frame ids instead of the split's.
        progress: show a progress bar.

    Returns:
        The output folder (``points.npy`` + ``index.json``, written atomically).

    Raises:
        MissingFrameError: a frame of the split (or the split file) does not exist, or a frame
            of ``training/`` has no label file.
        KittiFormatError: a malformed velodyne/label/calib file, or a label value outside
            KITTI's rules (a class such as ``car``, a non-positive size; file and line named).
    """
    data_root = Path(data_root)
    dataset = KittiObjectDataset(data_root, split=split, ids=ids)
    out = Path(out_dir) if out_dir is not None else _database_dir(data_root, split)
    columns: dict[str, list] = {k: [] for k in _COLUMNS}
    chunks, offset = [], 0
    for frame_id in tqdm(dataset.ids, desc="create-db", disable=not progress, unit="frame"):
        frame = dataset.frame(frame_id)
        labelled = [(i, o) for i, o in enumerate(frame.objects) if not o.is_dontcare]
        if not labelled:
            continue
        points, boxes = frame.points, frame.boxes_lidar  # boxes in label order, DontCare out
        inside = points_in_boxes(points, boxes, return_mask=True)  # (N, M) boxes may overlap
        for j, (label_index, obj) in enumerate(labelled):
            obj_points = points[inside[:, j]]
            columns["name"].append(obj.type)
            columns["frame_id"].append(frame.frame_id)
            columns["label_index"].append(label_index)
            columns["box_lidar"].append([float(v) for v in boxes[j]])
            columns["difficulty"].append(kitti_difficulty(obj))
            columns["truncated"].append(float(obj.truncated))
            columns["occluded"].append(int(obj.occluded))
            columns["num_points"].append(len(obj_points))
            columns["offset"].append(offset)
            chunks.append(obj_points)
            offset += len(obj_points)
    all_points = np.concatenate(chunks) if chunks else np.zeros((0, 4), np.float32)
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(all_points, dtype="<f4"), allow_pickle=False)
    atomic_write_bytes(out / "points.npy", buffer.getvalue())
    meta = {"format_version": FORMAT_VERSION, "data_root": str(data_root), "split": split,
            "num_frames": len(dataset.ids), "num_objects": len(columns["name"])}  # fmt: skip
    atomic_write_text(out / "index.json", json.dumps({"meta": meta, "objects": columns}) + "\n")
    return out


def _typed_columns(objects: dict, count: int) -> dict[str, np.ndarray]:
    """The index's columns as typed arrays; raises TypeError / ValueError on a wrong type."""
    out = {}
    for key in ("name", "frame_id"):
        if not all(isinstance(v, str) for v in objects[key]):
            raise TypeError(f"{key}: expected strings")
        out[key] = np.array(objects[key], dtype=object)
    for key in ("label_index", "difficulty", "occluded", "num_points", "offset"):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in objects[key]):
            raise TypeError(f"{key}: expected integers")
        out[key] = np.array(objects[key], dtype=np.int64).reshape(count)
    truncated = np.array(objects["truncated"], dtype=np.float64).reshape(count)
    boxes = np.array(objects["box_lidar"], dtype=np.float64)
    if boxes.shape != (count, 7) and not (count == 0 and boxes.size == 0):
        raise ValueError(f"box_lidar: expected {count} boxes of 7 numbers, got {boxes.shape}")
    out["truncated"], out["box_lidar"] = truncated, boxes.reshape(count, 7)
    return out


@dataclass(frozen=True, eq=False)
class GtDatabase:
    """The loaded database: struct of arrays over K objects, points memory-mapped.

    Attributes:
        names: (K,) object-dtype class names.
        frame_ids: (K,) object-dtype source frame ids.
        label_index: (K,) int64 row of the object in its label_2 file (DontCare counted).
        boxes_lidar: (K, 7) float64 boxes in their source LiDAR frame.
        difficulty, occluded, num_points: (K,) int64; truncated: (K,) float64.
        offsets: (K + 1,) int64 row ranges into ``points``.
        points: (P, 4) float32 [x, y, z, intensity], source LiDAR frames (read-only memmap).
        path: the folder it was loaded from.
    """

    names: np.ndarray
    frame_ids: np.ndarray
    label_index: np.ndarray
    boxes_lidar: np.ndarray
    difficulty: np.ndarray
    truncated: np.ndarray
    occluded: np.ndarray
    num_points: np.ndarray
    offsets: np.ndarray
    points: np.ndarray
    path: Path

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def load(cls, path: str | Path) -> GtDatabase:
        """Load a folder written by :func:`create_gt_database` (no pickle anywhere).

        Raises:
            FileNotFoundError: ``index.json`` or ``points.npy`` missing.
            DataFormatError: not JSON / not a plain float32 (P, 4) ``.npy``, wrong version,
                missing or ill-typed columns, or inconsistent counts (the file named).
        """
        path = Path(path)
        index_path, points_path = path / "index.json", path / "points.npy"
        for p in (index_path, points_path):
            if not p.is_file():
                raise FileNotFoundError(f"{p}: not found (build it with perception3d create-db)")
        try:
            index = json.loads(index_path.read_bytes().decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataFormatError(index_path, f"not valid JSON: {exc}") from None
        meta = index.get("meta") if isinstance(index, dict) else None
        objects = index.get("objects") if isinstance(index, dict) else None
        if not isinstance(meta, dict) or not isinstance(objects, dict):
            raise DataFormatError(index_path, "expected an object with 'meta' and 'objects'")
        if meta.get("format_version") != FORMAT_VERSION:
            raise DataFormatError(index_path, f"format_version must be {FORMAT_VERSION}, "
                                  f"got {meta.get('format_version')!r}")  # fmt: skip
        missing = [k for k in _COLUMNS if not isinstance(objects.get(k), list)]
        if missing:
            raise DataFormatError(index_path, f"missing object columns (lists) {missing}")
        try:
            points = np.load(points_path, mmap_mode="r", allow_pickle=False)
        except Exception as exc:  # numpy's header parser raises ValueError, SyntaxError, ...
            raise DataFormatError(points_path, f"not a plain .npy array: {exc!r}") from None
        if points.ndim != 2 or points.shape[1] != 4 or points.dtype != np.float32:
            raise DataFormatError(points_path, f"expected float32 (P, 4), got {points.dtype} "
                                  f"{points.shape}")  # fmt: skip
        count = len(objects["name"])
        if any(len(objects[k]) != count for k in _COLUMNS):
            raise DataFormatError(index_path, "object columns have different lengths")
        try:
            columns = _typed_columns(objects, count)
        except (TypeError, ValueError, OverflowError) as exc:
            raise DataFormatError(index_path, f"malformed object column ({exc})") from None
        num_points = columns["num_points"]
        offsets = np.append(columns["offset"], len(points))
        if count and (
            np.any(num_points < 0) or np.any(offsets[:-1] + num_points != offsets[1:])
            or offsets[0] != 0
        ):  # fmt: skip
            raise DataFormatError(index_path, f"offsets/num_points do not tile the {len(points)} "
                                  "rows of points.npy")  # fmt: skip
        return cls(
            names=columns["name"],
            frame_ids=columns["frame_id"],
            label_index=columns["label_index"],
            boxes_lidar=columns["box_lidar"],
            difficulty=columns["difficulty"],
            truncated=columns["truncated"],
            occluded=columns["occluded"],
            num_points=num_points,
            offsets=offsets,
            points=points,
            path=path,
        )

    def object_points(self, index: int) -> np.ndarray:
        """(n, 4) float32 points of object ``index`` in its source LiDAR frame (a copy)."""
        return np.array(self.points[self.offsets[index] : self.offsets[index + 1]])

    def select(
        self,
        name: str,
        min_points: int = 5,
        difficulties: Sequence[int] = (0, 1, 2),
        max_occluded: int = 3,
    ) -> np.ndarray:
        """(k,) int64 indices of the objects of class ``name`` with at least ``min_points``
        points, a difficulty in ``difficulties`` and occlusion level <= ``max_occluded``."""
        keep = (
            (self.names == name)
            & (self.num_points >= min_points)
            & np.isin(self.difficulty, list(difficulties))
            & (self.occluded <= max_occluded)
        )
        return np.flatnonzero(keep)
