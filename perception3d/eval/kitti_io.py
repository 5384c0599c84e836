"""KITTI evaluation from folders of label / result files, the printed table and the JSON."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

from perception3d.atomic import atomic_write_text
from perception3d.data.kitti import (
    KittiObject,
    KittiObjectDataset,
    parse_label_line,
    read_split_file,
    read_text_file,
)
from perception3d.errors import KittiFormatError, MissingFrameError
from perception3d.eval.kitti_evaluate import evaluate_kitti
from perception3d.eval.kitti_protocol import CLASSES, MIN_OVERLAPS

_EXAMPLES_SHOWN = 5  # missing prediction files named in the warning


class KittiEvalWarning(UserWarning):
    """Something the evaluation worked around (e.g. frames without a prediction file)."""


def _read_rows(path: Path, predictions: bool) -> list[KittiObject]:
    """Label rows (15 columns) or result rows (16, with score) of one file, checked line by
    line: errors name the file and the line."""
    objects = []
    text = read_text_file(path, "result" if predictions else "label")
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        obj = parse_label_line(line, path, lineno, allow_score=predictions)
        if predictions and obj.score is None:
            raise KittiFormatError(
                path, "expected 16 columns (a label row and its score), got 15", lineno
            )
        x1, y1, x2, y2 = obj.bbox
        if x2 < x1 or y2 < y1:
            raise KittiFormatError(
                path, f"bbox must have x2 >= x1 and y2 >= y1, got {obj.bbox}", lineno
            )
        objects.append(obj)
    return objects


def read_predictions(path: str | Path) -> list[KittiObject]:
    """Read a KITTI result file: label rows plus a 16th score column; empty file -> [].

    Raises:
        KittiFormatError: a row without score, a malformed number or an inverted bbox (file and
            line named).
        DataFormatError: not UTF-8 text.
    """
    return _read_rows(Path(path), predictions=True)


def _label_dir(gt_dir: Path) -> Path:
    """``gt_dir`` itself, or its ``training/label_2`` / ``label_2`` when given a dataset root."""
    for sub in (gt_dir / "training" / "label_2", gt_dir / "label_2"):
        if sub.is_dir():
            return sub
    return gt_dir


def evaluate_kitti_dirs(
    gt_dir: str | Path,
    pred_dir: str | Path,
    ids: Iterable[str | int] | str | Path | None = None,
    classes: Sequence[str] = CLASSES,
    score_threshold: float | None = None,
) -> dict:
    """Evaluate a folder of result files against a folder of label files.

    Args:
        gt_dir: folder of ``<id>.txt`` label files, or a KITTI root holding
            ``training/label_2`` (or a folder holding ``label_2``).
        pred_dir: folder of ``<id>.txt`` result files (label rows plus a score column). A frame
            without a file has no detections; such frames are counted in one
            ``KittiEvalWarning`` and in ``meta["missing_prediction_files"]``.
        ids: frame ids, or a split file (``ImageSets/val.txt``); default every label file.
        classes: any of "Car", "Pedestrian", "Cyclist".
        score_threshold: also count TP / FP / FN at this score (``evaluate_kitti``).

    Returns:
        ``evaluate_kitti``'s result; ``meta`` also has ``missing_prediction_files``,
        ``gt_dir``, ``pred_dir`` and ``seconds`` covering the reading too.

    Raises:
        MissingFrameError: a folder, the split file or a frame's label file does not exist.
        KittiFormatError: a malformed label or result row, or a label value outside KITTI's
            rules (file and line named).
        DataFormatError: a label, result or split file that is not UTF-8 text.
    """
    start_time = time.perf_counter()
    label_dir, pred_dir = _label_dir(Path(gt_dir)), Path(pred_dir)
    for folder, what in ((label_dir, "ground truth"), (pred_dir, "prediction")):
        if not folder.is_dir():
            raise MissingFrameError(f"{folder}: {what} folder not found")
    if ids is None:
        frame_ids = sorted(p.stem for p in label_dir.glob("*.txt"))
        if not frame_ids:
            raise MissingFrameError(f"{label_dir}: no label files (<id>.txt) found")
    elif isinstance(ids, (str, Path)):
        if not Path(ids).is_file():
            raise MissingFrameError(f"{ids}: split file not found")
        frame_ids = read_split_file(ids)
    else:
        frame_ids = [KittiObjectDataset.normalize_id(i) for i in ids]
    gt, pred, missing = {}, {}, []
    for fid in frame_ids:
        label_path = label_dir / f"{fid}.txt"
        if not label_path.is_file():
            raise MissingFrameError(f"frame {fid}: label file {label_path} not found")
        gt[fid] = _read_rows(label_path, predictions=False)
        pred_path = pred_dir / f"{fid}.txt"
        if pred_path.is_file():
            pred[fid] = _read_rows(pred_path, predictions=True)
        else:
            missing.append(fid)
    if missing:
        shown = ", ".join(missing[:_EXAMPLES_SHOWN]) + (", ..." if len(missing) > 5 else "")
        warnings.warn(
            f"{len(missing)} of {len(frame_ids)} frames have no prediction file in {pred_dir} "
            f"and count as frames without detections ({shown})",
            KittiEvalWarning,
            stacklevel=2,
        )
    result = evaluate_kitti(gt, pred, classes, score_threshold)
    result["meta"].update(
        missing_prediction_files=len(missing),
        gt_dir=str(label_dir),
        pred_dir=str(pred_dir),
        seconds=time.perf_counter() - start_time,
    )
    return result


def _counts_line(class_name: str, meta: dict) -> str:
    counted = meta.get("gt_counted", {}).get(class_name)
    if not counted:
        return ""
    text = ", ".join(f"{d} {n}" for d, n in counted.items())
    capped = [f"{d} {meta['r40_cap'][class_name][d]:.1f}" for d, n in counted.items() if n < 40]
    note = (
        f"; AP_R40 capped (n / 40) at {', '.join(capped)}" if capped and "r40_cap" in meta else ""
    )
    return f"{class_name} objects counted: {text}{note}"


def format_kitti_table(result: dict) -> str:
    """The familiar table (OpenPCDet's layout): per class and overlap set, bbox / bev / 3d /
    aos AP for easy, moderate, hard, at R11 ("AP") then R40 ("AP_R40"), then the uncapped
    all-point AP ("AP_all") and, with a score threshold, precision and recall there. Each
    class starts with its object counts per difficulty and, below 40 objects, the cap that
    the R40 sampling puts on AP_R40.

    Example:
        >>> row = [90.0, 80.0, 70.0]
        >>> keys = ("bbox@0.7", "aos@0.7", "bev@0.7", "3d@0.7", "bev@0.5", "3d@0.5")
        >>> table = {k: row for k in keys}
        >>> text = format_kitti_table({"Car": {"R40": table, "R11": table}})
        >>> print(text.splitlines()[0]); print(text.splitlines()[3])
        Car AP@0.70, 0.70, 0.70:
        3d   AP:90.0000, 80.0000, 70.0000
    """
    lines = []
    meta = result.get("meta") or {}
    if meta:
        lines.append(
            f"KITTI evaluation: {meta['frames']} frames, {meta['objects']} objects, "
            f"{meta['predictions']} predictions, {meta['seconds']:.2f} s"
        )
    for class_name, per_points in result.items():
        if class_name == "meta":
            continue
        counts = _counts_line(class_name, meta)
        if counts:
            lines.append(counts)
        for bbox_thr, bev_thr, d3_thr in MIN_OVERLAPS[class_name]:
            for points, label in (("R11", "AP"), ("R40", "AP_R40"), ("all_point", "AP_all")):
                table = per_points.get(points)
                if table is None:
                    continue
                lines.append(f"{class_name} {label}@{bbox_thr:.2f}, {bev_thr:.2f}, {d3_thr:.2f}:")
                for name, key in (
                    ("bbox", f"bbox@{bbox_thr:g}"),
                    ("bev ", f"bev@{bev_thr:g}"),
                    ("3d  ", f"3d@{d3_thr:g}"),
                    ("aos ", f"aos@{bbox_thr:g}"),
                ):
                    values = table.get(key)
                    if values is not None:
                        lines.append(f"{name} AP:" + ", ".join(f"{v:.4f}" for v in values))
            at_score = per_points.get("at_score")
            if at_score is not None:
                lines.append(
                    f"{class_name} at score >= {meta.get('score_threshold')}, precision / recall "
                    f"(TP FP FN), easy / moderate / hard:"
                )
                for name, key in (
                    ("bbox", f"bbox@{bbox_thr:g}"),
                    ("bev ", f"bev@{bev_thr:g}"),
                    ("3d  ", f"3d@{d3_thr:g}"),
                ):
                    cells = [
                        f"{c['precision']:.3f} / {c['recall']:.3f} ({c['tp']} {c['fp']} {c['fn']})"
                        for c in at_score[key]
                    ]
                    lines.append(f"{name} PR:" + ", ".join(cells))
    return "\n".join(lines)


def write_metrics(result: dict, path: str | Path) -> Path:
    """Write the result as indented JSON, atomically."""
    return atomic_write_text(path, json.dumps(result, indent=2) + "\n")
