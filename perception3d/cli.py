"""``perception3d <command>``: argument parsing only; each command calls one library function.

Library modules are imported inside the handlers so ``--help`` is instant and a command whose
optional extra is missing does not break the others.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _cmd_demo(args: argparse.Namespace) -> int:
    from perception3d.demo import run_demo

    run_demo(out_dir=args.out, data_root=args.data_root)
    return 0


def _cmd_eval_kitti(args: argparse.Namespace) -> int:
    import warnings

    from perception3d.eval.kitti import evaluate_kitti_dirs, format_kitti_table, write_metrics

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = evaluate_kitti_dirs(args.gt_dir, args.pred_dir, args.split, args.classes)
    for warning in caught:
        print(f"perception3d eval kitti: warning: {warning.message}", file=sys.stderr)
    print(format_kitti_table(result))
    if args.out is not None:
        print(f"metrics written to {write_metrics(result, args.out)}")
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


def build_parser() -> argparse.ArgumentParser:
    from perception3d import __version__

    parser = argparse.ArgumentParser(
        prog="perception3d",
        description="3D perception on driving data: synthetic KITTI scenes, LiDAR and camera "
        "pipelines, 3D detection and the official KITTI evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"perception3d {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("demo", help="run the main job end to end on the embedded default data")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("outputs/demo"),
        help="folder for the demo's outputs (default: outputs/demo)",
    )
    p.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="KITTI-layout root to use instead of the embedded default",
    )
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("eval", help="evaluate detections (the official KITTI protocol)")
    eval_sub = p.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    p = eval_sub.add_parser(
        "kitti",
        help="KITTI object AP: bbox, bev, 3d, aos at R11 and R40",
        description="Evaluate KITTI result files (label rows plus a 16th score column) against "
        "label files with the official KITTI protocol; print the table, optionally write JSON.",
    )
    p.add_argument(
        "--gt-dir",
        type=Path,
        required=True,
        help="folder of <id>.txt label files, or a KITTI root with training/label_2",
    )
    p.add_argument(
        "--pred-dir",
        type=Path,
        required=True,
        help="folder of <id>.txt result files; a missing file means no detections (warned)",
    )
    p.add_argument(
        "--split",
        type=Path,
        default=None,
        help="file of frame ids (e.g. ImageSets/val.txt); default: every label file",
    )
    p.add_argument(
        "--classes",
        type=_kitti_classes,
        default=["Car", "Pedestrian", "Cyclist"],
        help="comma-separated classes (default: Car,Pedestrian,Cyclist)",
    )
    p.add_argument("--out", type=Path, default=None, help="write the metrics JSON here")
    p.set_defaults(func=_cmd_eval_kitti)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point."""
    from perception3d.errors import Perception3DError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (Perception3DError, FileNotFoundError) as exc:
        print(f"perception3d {args.command}: error: {exc}", file=sys.stderr)
        return 2
