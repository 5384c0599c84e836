"""``perception3d isp / isp-effect``: camera ISP and the ISP-effect experiment."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _cmd_isp(args: argparse.Namespace) -> int:
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
            scenes,
            models,
            args.out,
            cfg.seed,
            cfg.conditions,
            cfg.denoise,
            log=print,
            precision=cfg.precision,
        )
        print(format_table(result))
        print(f"wrote {args.out / 'metrics.json'} and {args.out / 'grid.png'}")
        return 0
    if args.isp_command == "noise-check":
        from perception3d.experiments.isp_effect_noise import noise_check, png_files

        result = noise_check(png_files(args.images), args.out)
        for name, curve in result["curves"].items():
            points = " ".join(f"{c['level']:.0f}:{c['sigma']:.2f}" for c in curve)
            print(f"{name:24s} {points}")
        print(f"wrote {args.out / 'noise_check.json'} and {args.out / 'noise_check.png'}")
        return 0
    from perception3d.isp.pipeline import PipelineConfig
    from perception3d.isp.run import run_isp

    summary = run_isp(
        load_config(args.config, PipelineConfig, args.set), args.data_root, args.out, args.split
    )
    print(json.dumps(summary["sources"]))
    return 0


def _cmd_isp_effect(args: argparse.Namespace) -> int:
    from perception3d.experiments.isp_effect import load_isp_effect_config, run_isp_effect

    overrides = list(args.set)
    if args.quick:
        overrides = ["max_frames=4", "bootstrap=20", *overrides]
    if args.data_root is not None:
        overrides.append(f"data_root={args.data_root.resolve()}")
    out = args.out or Path("outputs") / "isp_effect" / args.config.stem
    summary = run_isp_effect(load_isp_effect_config(args.config, overrides), out)
    print((out / "isp_effect.md").read_text())
    print(f"perception3d isp-effect: {len(summary['rows'])} rows -> {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
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
    q = isp.add_parser(
        "noise-check",
        help="noise level vs intensity of real 8-bit images beside the sensor model's",
        epilog="example: perception3d isp noise-check data/kitti/training/image_2 "
        "--out outputs/noise_check",
    )
    q.add_argument("images", type=Path, nargs="+", help="PNG files or folders of them")
    q.add_argument("--out", type=Path, required=True, help="folder for noise_check.json/.png")
    q.set_defaults(func=_cmd_isp)
    q = isp.add_parser("run", help="run an ISP config over a dataset, writing image_2/*.png")
    q.add_argument("config", type=Path, help="ISP pipeline config YAML (configs/isp/*.yaml)")
    q.add_argument("--data-root", type=Path, required=True, help="KITTI-layout root")
    q.add_argument("--out", type=Path, required=True, help="output folder (gets image_2/)")
    q.add_argument("--split", default=None, help="ImageSets split (default: every frame)")
    q.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override")
    q.set_defaults(func=_cmd_isp)
    p = sub.add_parser(
        "isp-effect",
        help="ISP effect on PointPainting and Frustum PointNet under clean/low-light/HDR/haze",
        epilog="examples:\n  perception3d isp-effect configs/fusion/isp_effect_quick.yaml --quick\n"
        "  perception3d isp-effect configs/fusion/isp_effect_real.yaml --data-root data/kitti "
        "--set max_frames=50",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", type=Path, help="configs/fusion/isp_effect*.yaml")
    p.add_argument("--out", type=Path, default=None, help="output folder (resumable)")
    p.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="override data_root: a synthetic root, or a real KITTI root (image_2, velodyne, "
        "calib, label_2; its ImageSets/<split>.txt names the frames)",
    )
    p.add_argument(
        "--quick", action="store_true", help="4 frames, 20 bootstrap resamples (minutes)"
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override")
    p.set_defaults(func=_cmd_isp_effect)
