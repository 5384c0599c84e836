"""``perception3d detect``: a detector over point-cloud files -> one result file per input.

Outputs, written atomically into ``out_dir``:

- ``json`` (default): ``<frame>.json`` = ``{"frame", "boxes": [{"label", "score", "center":
  [x, y, z], "size": [dx, dy, dz], "heading"}]}``, LiDAR frame, metres and radians;
- ``kitti`` (needs a calibration): ``<frame>.txt`` KITTI result rows (16 columns, rectified
  camera frame, the image_2 box of the projected 3D box), those projecting into image_2 only,
  as ``perception3d infer`` writes them;
- ``--dump-head``: every anchor's decoded box and sigmoid scores before the threshold and NMS
  (``boxes`` (A, 7), ``scores`` (A, C), plus ``boxes_rear`` / ``scores_rear`` for the turned
  pass of a full-circle run, ``classes``), one ``.npz`` per input.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from tqdm import tqdm

from perception3d.atomic import atomic_write_bytes, atomic_write_text
from perception3d.data.kitti import write_result_file
from perception3d.data.pointcloud import expand_point_cloud_inputs, read_point_cloud
from perception3d.engine.detect import Detector, DetectOutput
from perception3d.engine.infer import detections_to_objects
from perception3d.geometry.calib import Calibration
from perception3d.models.detector import Detections as TorchDetections

__all__ = ["dump_head_path", "run_detector_on_files", "write_head"]


class _Calibrations:
    """The calibration of each input: none, one file for all, or ``<folder>/<frame>.txt``."""

    def __init__(self, calib: str | Path | None) -> None:
        self.path = None if calib is None else Path(calib)
        if self.path is not None and not self.path.exists():
            raise FileNotFoundError(f"{self.path}: calibration file or folder not found")
        self.single = None
        if self.path is not None and self.path.is_file():
            self.single = Calibration.from_file(self.path)

    def __call__(self, frame: str) -> Calibration | None:
        if self.path is None or self.single is not None:
            return self.single
        path = self.path / f"{frame}.txt"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no calibration for frame {frame}")
        return Calibration.from_file(path)


def dump_head_path(dump_head: Path, frame: str, num_inputs: int) -> Path:
    """Where a frame's decoded head goes: ``dump_head`` itself for one input named ``*.npz``,
    else ``dump_head/<frame>.npz`` (a folder)."""
    if num_inputs == 1 and dump_head.suffix == ".npz":
        return dump_head
    return dump_head / f"{frame}.npz"


def write_head(path: Path, output: DetectOutput, classes: tuple[str, ...]) -> Path:
    """Write a run's decoded heads as an ``.npz`` (no pickle), atomically."""
    arrays = {"classes": np.array(classes, dtype=str)}
    for head, suffix in zip(output.heads or [], ("", "_rear")):
        arrays[f"boxes{suffix}"] = head.boxes_lidar
        arrays[f"scores{suffix}"] = head.scores
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return atomic_write_bytes(path, buffer.getvalue())


def _json_text(result: dict) -> str:
    """The result JSON with one box per line."""
    boxes = ",\n".join("  " + json.dumps(box) for box in result["boxes"])
    boxes = f"[\n{boxes}\n]" if boxes else "[]"
    return f'{{"frame": {json.dumps(result["frame"])}, "boxes": {boxes}}}\n'


def _kitti_rows(output: DetectOutput, classes, calib: Calibration, image_shape):
    det = output.detections
    torch_det = TorchDetections(
        torch.from_numpy(det.boxes_lidar),
        torch.from_numpy(det.scores),
        torch.from_numpy(det.labels),
    )
    return detections_to_objects(torch_det, classes, calib, image_shape)


def run_detector_on_files(
    detector: Detector,
    inputs: Iterable[str | Path],
    out_dir: str | Path,
    calib: str | Path | None = None,
    fmt: Literal["json", "kitti"] = "json",
    dump_head: str | Path | None = None,
    image_shape: tuple[int, int] | None = None,
    intensity_scale: float | None = None,
    drop_nonfinite: bool = False,
    progress: bool = True,
) -> dict:
    """Run ``detector`` on point-cloud files and write one result file per input.

    Args:
        detector: a loaded :class:`Detector`.
        inputs: files (``.bin``, ``.npy``, ``.pcd``, ``.ply``), folders of them or glob patterns.
        out_dir: output folder (created).
        calib: a KITTI calib file for every input, or a folder of ``<frame>.txt``; None: none.
        fmt: ``json`` (LiDAR frame) or ``kitti`` (needs ``calib``).
        dump_head: also write every anchor's decoded head (see :func:`dump_head_path`).
        image_shape: (H, W) of image_2 for the FOV crop and KITTI 2D boxes (default 375 x 1242).
        intensity_scale: multiply the files' intensities by this (e.g. ``1/255``).
        drop_nonfinite: drop NaN/inf points instead of refusing the file.
        progress: show a progress bar.

    Returns:
        ``{"frames", "detections", "out_dir", "files": {frame: detections}}``.

    Raises:
        ValueError: ``fmt`` unknown, or ``kitti`` without a calibration.
        FileNotFoundError, PointCloudFormatError, KittiFormatError: bad inputs (named).
    """
    if fmt not in ("json", "kitti"):
        raise ValueError(f"format must be 'json' or 'kitti', got {fmt!r}")
    if fmt == "kitti" and calib is None:
        raise ValueError("--format kitti needs --calib (KITTI rows are in the camera frame)")
    files = expand_point_cloud_inputs(inputs)
    calibrations = _Calibrations(calib)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for path in tqdm(files, desc="detect", unit="file", disable=not progress, leave=False):
        frame = path.stem
        frame_calib = calibrations(frame)
        points = read_point_cloud(path, drop_nonfinite, intensity_scale)
        output = detector.run(points, frame_calib, image_shape, decode_all=dump_head is not None)
        if fmt == "json":
            text = _json_text(output.detections.to_json(frame))
            atomic_write_text(out_dir / f"{frame}.json", text)
            counts[frame] = len(output.detections)
        else:
            rows = _kitti_rows(output, detector.classes, frame_calib, image_shape)
            write_result_file(out_dir / f"{frame}.txt", rows)
            counts[frame] = len(rows)
        if dump_head is not None:
            write_head(dump_head_path(Path(dump_head), frame, len(files)), output, detector.classes)
    return {
        "frames": len(files),
        "detections": sum(counts.values()),
        "out_dir": str(out_dir),
        "files": counts,
    }
