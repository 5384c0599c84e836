"""``perception3d eval lidar``: folders of LiDAR-frame label and prediction files -> AP."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

from perception3d.atomic import atomic_write_text
from perception3d.data.kitti import read_split_file
from perception3d.data.lidar_folder import LidarLabels, read_lidar_labels
from perception3d.eval.lidar import evaluate_lidar

__all__ = ["LidarEvalWarning", "evaluate_lidar_dirs", "write_lidar_metrics"]


class LidarEvalWarning(UserWarning):
    """Predictions missing for some frames (they count as no detections)."""


def _label_dir(gt_dir: Path) -> Path:
    """``gt_dir`` itself, or its ``labels/`` when it is a LiDAR-only dataset root."""
    return gt_dir / "labels" if (gt_dir / "labels").is_dir() else gt_dir


def evaluate_lidar_dirs(
    gt_dir: str | Path,
    pred_dir: str | Path,
    split: str | Path | None = None,
    classes: Sequence[str] | None = None,
    iou_thresholds: float | Mapping[str, float] = 0.5,
    score_threshold: float | None = None,
) -> dict:
    """Evaluate ``pred_dir/<frame>.txt`` (9 columns) against ``gt_dir/<frame>.txt`` (8).

    Args:
        gt_dir: folder of label files, or a LiDAR-only root (its ``labels/``).
        pred_dir: folder of prediction files; a missing file means no detections (warned).
        split: file of frame ids; default every label file.
        classes, iou_thresholds, score_threshold: see :func:`evaluate_lidar`.

    Raises:
        FileNotFoundError: a missing folder, split file or label file of the split.
        DataFormatError: a malformed label or prediction file (named).
    """
    label_dir, pred_dir = _label_dir(Path(gt_dir)), Path(pred_dir)
    for d in (label_dir, pred_dir):
        if not d.is_dir():
            raise FileNotFoundError(f"{d}: no such folder")
    ids = (
        read_split_file(split)
        if split is not None
        else sorted(p.stem for p in label_dir.glob("*.txt"))
    )
    gt: dict[str, LidarLabels] = {}
    pred: dict[str, LidarLabels] = {}
    missing = []
    for fid in ids:
        gt[fid] = read_lidar_labels(label_dir / f"{fid}.txt", allow_score=False)
        path = pred_dir / f"{fid}.txt"
        if path.is_file():
            pred[fid] = read_lidar_labels(path)
        else:
            missing.append(fid)
    if missing:
        warnings.warn(
            f"{pred_dir}: no predictions for {len(missing)} of {len(ids)} frames (e.g. "
            f"{missing[0]}); they count as frames without detections",
            LidarEvalWarning,
            stacklevel=2,
        )
    for fid, labels in pred.items():
        if len(labels) and labels.scores is None:
            raise ValueError(f"{pred_dir / (fid + '.txt')}: predictions need a 9th score column")
    return evaluate_lidar(gt, pred, classes, iou_thresholds, score_threshold)


def write_lidar_metrics(result: dict, path: str | Path) -> Path:
    """Write the evaluation result as JSON, atomically."""
    return atomic_write_text(path, json.dumps(result, indent=2) + "\n")
