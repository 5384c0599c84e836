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


def _cmd_isp(args: argparse.Namespace) -> int:
    import json

    import torch

    from perception3d.config import load_config

    if args.isp_command == "train":
        from perception3d.isp.train import TrainConfig, train_stage

        train_stage(load_config(args.config, TrainConfig, args.set))
        return 0
    if args.isp_command == "eval":
        from perception3d.isp.data import build_pool
        from perception3d.isp.eval_config import EvalConfig
        from perception3d.isp.evaluate import evaluate, format_table
        from perception3d.isp.train import load_weights

        cfg = load_config(args.config, EvalConfig, args.set)
        torch.set_num_threads(cfg.threads)
        scenes = build_pool(
            cfg.synth_root, cfg.synth_split, cfg.max_synth, cfg.procedural, cfg.scene_seed
        )
        if not scenes:
            raise FileNotFoundError(f"{args.config}: no held-out scenes (synth_root/procedural)")
        models = {k: load_weights(getattr(cfg.weights, k)) for k in ("raw", "hdr", "dehaze")}
        result = evaluate(
            scenes, models, args.out, cfg.seed, cfg.conditions, cfg.denoise, log=print
        )
        print(format_table(result))
        print(f"wrote {args.out / 'metrics.json'} and {args.out / 'grid.png'}")
        return 0
    from perception3d.isp.pipeline import PipelineConfig
    from perception3d.isp.run import run_isp

    summary = run_isp(
        load_config(args.config, PipelineConfig, args.set), args.data_root, args.out, args.split
    )
    print(json.dumps(summary["sources"]))
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

    p = sub.add_parser("isp", help="camera ISP: train a learned stage, evaluate, run a config")
    isp = p.add_subparsers(dest="isp_command", metavar="ISP_COMMAND", required=True)
    q = isp.add_parser("train", help="train a learned stage (configs/isp/train_*.yaml)")
    q.add_argument("config", type=Path, help="training config YAML")
    q.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override")
    q.set_defaults(func=_cmd_isp)
    q = isp.add_parser("eval", help="none vs classical vs learned on held-out degraded captures")
    q.add_argument("config", type=Path, help="evaluation config YAML (configs/isp/eval.yaml)")
    q.add_argument("--out", type=Path, required=True, help="folder for metrics.json, grid.png")
    q.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override")
    q.set_defaults(func=_cmd_isp)
    q = isp.add_parser("run", help="run an ISP config over a dataset, writing image_2/*.png")
    q.add_argument("config", type=Path, help="ISP pipeline config YAML (configs/isp/*.yaml)")
    q.add_argument("--data-root", type=Path, required=True, help="KITTI-layout root")
    q.add_argument("--out", type=Path, required=True, help="output folder (gets image_2/)")
    q.add_argument("--split", default=None, help="ImageSets split (default: every frame)")
    q.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override")
    q.set_defaults(func=_cmd_isp)
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
