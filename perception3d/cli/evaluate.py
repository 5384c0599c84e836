"""``perception3d eval``: official evaluation protocols: KITTI, ObjectNet3D."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from perception3d.cli.common import (
    add_command,
    add_group,
    add_options,
    print_outputs,
    warnings_to_stderr,
)

KITTI_DESCRIPTION = """\
Evaluate KITTI result files (label rows plus a 16th score column) against label files with
the official KITTI protocol; print the table, optionally write JSON.
"""
LIDAR_DESCRIPTION = """\
Evaluate LiDAR-frame prediction files (class x y z dx dy dz heading score) against label
files (the same 8 columns; docs/detectors.md, LiDAR-only datasets) by BEV and 3D IoU average
precision per class, KITTI-style interpolation.
"""


def _warned(command: str, evaluate, *args):
    """``evaluate(*args)``, its warnings (missing result files...) printed to stderr as
    ``perception3d eval COMMAND: warning: ...``."""
    with warnings_to_stderr(f"eval {command}"):
        return evaluate(*args)


def _cmd_eval_kitti(args: argparse.Namespace) -> int:
    from perception3d.eval.kitti import evaluate_kitti_dirs, format_kitti_table, write_metrics

    result = _warned(
        "kitti", evaluate_kitti_dirs,
        args.gt_dir, args.pred_dir, args.split, args.classes, args.score_threshold,
    )  # fmt: skip
    print(format_kitti_table(result))
    if args.out is not None:
        print_outputs("eval kitti", write_metrics(result, args.out), "metrics")
    return 0


def _kitti_classes(text: str) -> list[str]:
    """``--classes Car,Pedestrian`` -> ["Car", "Pedestrian"], names checked."""
    from perception3d.eval.kitti_protocol import CLASSES

    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in CLASSES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated subset of {','.join(CLASSES)}, got {text!r}"
        )
    return names


def _iou_thresholds(text: str) -> float | dict[str, float]:
    """``--iou 0.5`` (every class) or ``--iou Car=0.7,Crate=0.5`` (per class)."""
    try:
        if "=" not in text:
            return float(text)
        pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
        return {name.strip(): float(value) for name, value in pairs}
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an IoU (0.5) or CLASS=IOU pairs (Car=0.7,Crate=0.5), got {text!r}"
        ) from None


def _cmd_eval_lidar(args: argparse.Namespace) -> int:
    from perception3d.eval.lidar import format_lidar_table
    from perception3d.eval.lidar_io import evaluate_lidar_dirs, write_lidar_metrics

    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    result = _warned(
        "lidar", evaluate_lidar_dirs,
        args.gt_dir, args.pred_dir, args.split, classes, args.iou, args.score_threshold,
    )  # fmt: skip
    print(format_lidar_table(result))
    if args.out is not None:
        print_outputs("eval lidar", write_lidar_metrics(result, args.out), "metrics")
    return 0


def _cmd_eval_objectnet3d(args: argparse.Namespace) -> int:
    from perception3d.atomic import atomic_write_text
    from perception3d.eval.objectnet3d import evaluate_objectnet3d_root, format_objectnet3d_table

    result = evaluate_objectnet3d_root(
        args.data_root, args.pred, split=args.split, toolbox_indexing=args.toolbox_indexing
    )
    if args.toolbox_indexing:
        print(
            "perception3d eval objectnet3d: viewpoints looked up as the toolbox script does "
            "(objects(j), unfixed): for comparison with published numbers only",
            file=sys.stderr,
        )
    if args.out is not None:  # said before the table, whose last line is the mean
        atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
        print_outputs("eval objectnet3d", args.out, "metrics")
    print(format_objectnet3d_table(result))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
    eval_sub = add_group(
        sub, "eval", "evaluate predictions with a benchmark's official protocol",
        "perception3d eval kitti --gt-dir data/synthkitti --pred-dir outputs/pred", "benchmark",
    )  # fmt: skip
    _register_objectnet3d(eval_sub)
    _register_kitti(eval_sub)
    _register_lidar(eval_sub)


def _register_objectnet3d(eval_sub: argparse._SubParsersAction) -> None:
    q = add_command(
        eval_sub, "objectnet3d",
        "ObjectNet3D detection AP and viewpoint AVP/AVS (official toolbox)",
        "perception3d eval objectnet3d --data-root data/on3d --pred pred.txt --out eval.json",
    )  # fmt: skip
    q.add_argument("--pred", type=Path, required=True, help="prediction file "
                   "(docs/objectnet3d.md) or a folder of detections_<class>.txt")  # fmt: skip
    add_options(
        q, "--data-root", "--split", "--out", required=("--data-root",),
        data_root="ObjectNet3D root", split="image set of Image_sets/ (default: val)",
        out="write the result as JSON here",
    )  # fmt: skip
    q.add_argument(
        "--toolbox-indexing",
        action="store_true",
        help="reproduce the toolbox script's unfixed viewpoint lookup (objects(j) counted per "
        "class), to compare with published numbers (docs/objectnet3d.md)",
    )
    q.set_defaults(func=_cmd_eval_objectnet3d)


def _add_dirs(q: argparse.ArgumentParser, gt_help: str, pred_help: str, split_help: str) -> None:
    """``--gt-dir`` and ``--pred-dir`` (required) and ``--split``, shared by ``eval kitti``
    and ``eval lidar``."""
    q.add_argument("--gt-dir", type=Path, required=True, help=gt_help)
    q.add_argument("--pred-dir", type=Path, required=True, help=pred_help)
    q.add_argument("--split", type=Path, default=None, help=split_help)


def _add_threshold_and_out(q: argparse.ArgumentParser) -> None:
    """``--score-threshold`` and ``--out``, shared by ``eval kitti`` and ``eval lidar``."""
    add_options(
        q, "--score-threshold", "--out", out="write the metrics JSON here",
        score_threshold="also print precision / recall (TP FP FN) of the detections "
        "scoring at least this",
    )  # fmt: skip


def _register_kitti(eval_sub: argparse._SubParsersAction) -> None:
    q = add_command(
        eval_sub, "kitti", "KITTI object AP: bbox, bev, 3d, aos at R11 and R40",
        "perception3d eval kitti --gt-dir data/synthkitti --pred-dir outputs/pred "
        "--split data/synthkitti/ImageSets/val.txt --out metrics.json",
        description=KITTI_DESCRIPTION,
    )  # fmt: skip
    _add_dirs(
        q, "folder of <id>.txt label files, or a KITTI root with training/label_2",
        "folder of <id>.txt result files; a missing file means no detections (warned)",
        "file of frame ids (e.g. ImageSets/val.txt); default: every label file",
    )  # fmt: skip
    q.add_argument(
        "--classes",
        type=_kitti_classes,
        default=["Car", "Pedestrian", "Cyclist"],
        help="comma-separated classes (default: Car,Pedestrian,Cyclist)",
    )
    _add_threshold_and_out(q)
    q.set_defaults(func=_cmd_eval_kitti)


def _register_lidar(eval_sub: argparse._SubParsersAction) -> None:
    q = add_command(
        eval_sub, "lidar",
        "LiDAR-frame boxes of any classes: BEV and 3D IoU AP (R40, R11, all-point)",
        "perception3d eval lidar --gt-dir data/mylidar --pred-dir preds/ "
        "--iou Car=0.7,Crate=0.5 --score-threshold 0.3", description=LIDAR_DESCRIPTION,
    )  # fmt: skip
    _add_dirs(
        q, "folder of <frame>.txt label files, or a LiDAR-only root with labels/",
        "folder of <frame>.txt prediction files", "file of frame ids (default: all)",
    )  # fmt: skip
    q.add_argument(
        "--classes", default=None, help="comma-separated classes (default: those of the labels)"
    )
    q.add_argument(
        "--iou",
        type=_iou_thresholds,
        default=0.5,
        help="IoU threshold for all classes (0.5) or per class (Car=0.7,Crate=0.5)",
    )
    _add_threshold_and_out(q)
    q.set_defaults(func=_cmd_eval_lidar)
