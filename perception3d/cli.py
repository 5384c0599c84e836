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


def _shard(text: str) -> tuple[int, int]:
    from perception3d.data.synth.writer import parse_shard

    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cmd_synth(args: argparse.Namespace) -> int:
    from perception3d.data.synth.config import load_synth_config
    from perception3d.data.synth.writer import generate_dataset

    overrides = list(args.set)
    if args.frames is not None:
        overrides.append(f"frames={args.frames}")
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    cfg = load_synth_config(args.config, overrides)
    summary = generate_dataset(
        args.out,
        cfg,
        workers=args.workers,
        shard=args.shard,
        overwrite=args.overwrite,
        resume=args.resume,
    )
    print(
        f"perception3d synth: {summary['frames_written']} frames written, "
        f"{summary['frames_skipped']} already complete, into {args.out}"
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
        "synth", help="generate a synthetic driving dataset in the KITTI object layout"
    )
    p.add_argument("--out", type=Path, required=True, help="output root (KITTI layout)")
    p.add_argument("--frames", type=int, default=None, help="number of frames (config: frames)")
    p.add_argument("--seed", type=int, default=None, help="dataset seed (config: seed)")
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="YAML config (default: the embedded configs/datasets/synthkitti.yaml values)",
    )
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key"
    )
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument(
        "--shard", type=_shard, default=(0, 1), help="i/n: write frames with index %% n == i"
    )
    p.add_argument("--overwrite", action="store_true", help="replace a previous synth run")
    p.add_argument("--resume", action="store_true", help="complete an interrupted run")
    p.set_defaults(func=_cmd_synth)
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
