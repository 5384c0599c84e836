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


def _experiment(args: argparse.Namespace):
    from perception3d.engine.config import load_experiment

    overrides = list(args.set or [])
    if getattr(args, "data_root", None) is not None:
        overrides.append(f"data.root={args.data_root.resolve()}")
    return load_experiment(args.config, overrides)


def _cmd_train(args: argparse.Namespace) -> int:
    from perception3d.engine.train import train

    out = args.out or Path("outputs") / "train" / args.config.stem
    train(_experiment(args), out, resume=args.resume, progress=not args.no_progress)
    return 0


def _cmd_infer(args: argparse.Namespace) -> int:
    from perception3d.engine.infer import infer

    summary = infer(
        args.checkpoint,
        args.data_root,
        args.out,
        split=args.split,
        cfg=_experiment(args),
        device=args.device,
    )
    print(
        f"perception3d infer: {summary['detections']} detections in {summary['frames']} frames "
        f"-> {summary['out_dir']}"
    )
    return 0


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

    p = sub.add_parser(
        "train",
        help="train a 3D detector from a config (torchrun ... -m perception3d train for DDP)",
    )
    p.add_argument("config", type=Path, help="detector config, e.g. configs/models/*.yaml")
    p.add_argument(
        "--out", type=Path, default=None, help="output folder (default: outputs/train/<config>)"
    )
    p.add_argument("--resume", type=Path, default=None, help="checkpoint to continue from")
    p.add_argument("--data-root", type=Path, default=None, help="override data.root")
    p.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a config key (repeatable)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("infer", help="run a trained detector and write KITTI result files")
    p.add_argument("config", type=Path, help="the detector config the checkpoint was trained with")
    p.add_argument("checkpoint", type=Path, help="checkpoint (.pt)")
    p.add_argument("--data-root", type=Path, required=True, help="KITTI-layout root")
    p.add_argument("--split", default="val", help="ImageSets name, or 'training' for all frames")
    p.add_argument("--out", type=Path, required=True, help="folder for <frame_id>.txt results")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a config key (repeatable)"
    )
    p.set_defaults(func=_cmd_infer)
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
