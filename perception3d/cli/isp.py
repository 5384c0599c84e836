"""``perception3d isp / isp-effect``: camera ISP and the ISP-effect experiment."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from perception3d.cli.common import (
    add_command,
    add_group,
    add_options,
    add_set_option,
    add_train_command,
    print_outputs,
)


def _cmd_isp_eval(args: argparse.Namespace) -> int:
    from perception3d.config import load_config
    from perception3d.isp.eval_config import EvalConfig
    from perception3d.isp.evaluate import evaluate_config, format_table

    result = evaluate_config(load_config(args.config, EvalConfig, args.set), args.out)
    print(format_table(result))
    print_outputs("isp eval", args.out, "metrics.json, grid.png")
    return 0


def _cmd_isp_sr_eval(args: argparse.Namespace) -> int:
    from perception3d.config import load_config
    from perception3d.isp.sr_eval import SrEvalConfig, evaluate_sr

    evaluate_sr(load_config(args.config, SrEvalConfig, args.set), args.out)
    print_outputs("isp sr-eval", args.out, "metrics.json, grid.png")
    return 0


def _cmd_isp_sr_detect(args: argparse.Namespace) -> int:
    from perception3d.config import load_config
    from perception3d.experiments.sr_far import SrFarConfig, run_sr_far

    run_sr_far(load_config(args.config, SrFarConfig, args.set), args.out)
    print_outputs("isp sr-detect", args.out, "metrics.json")
    return 0


def _cmd_isp_noise_check(args: argparse.Namespace) -> int:
    from perception3d.experiments.isp_effect_noise import noise_check, png_files

    result = noise_check(png_files(args.images), args.out)
    for name, curve in result["curves"].items():
        points = " ".join(f"{c['level']:.0f}:{c['sigma']:.2f}" for c in curve)
        print(f"{name:24s} {points}")
    print_outputs("isp noise-check", args.out, "noise_check.json, noise_check.png")
    return 0


def _cmd_isp_run(args: argparse.Namespace) -> int:
    from perception3d.config import load_config
    from perception3d.isp.pipeline import PipelineConfig
    from perception3d.isp.run import run_isp

    cfg = load_config(args.config, PipelineConfig, args.set)
    summary = run_isp(cfg, args.data_root, args.out, args.split, log=lambda line: None)
    sources = json.dumps(summary["sources"])
    print_outputs("isp run", args.out, f"{summary['frames']} frames in image_2/, {sources}")
    return 0


def _cmd_isp_iq_report(args: argparse.Namespace) -> int:
    from perception3d.experiments.iq_report import (
        format_iq_table,
        load_iq_report_config,
        run_iq_report,
    )

    result = run_iq_report(load_iq_report_config(args.config, args.set), args.out)
    print(format_iq_table(result["table"]))
    print_outputs("isp iq-report", args.out, "iq_report.json, the plots, iq_report.html")
    return 0


def _default_lowlight_weights() -> Path:
    return Path(__file__).resolve().parents[1] / "assets" / "weights" / "isp_lowlight.pt"


def _cmd_isp_lowlight_eval(args: argparse.Namespace) -> int:
    from perception3d.config import load_config
    from perception3d.experiments.lowlight_enhance import LowLightEvalConfig, evaluate_lowlight

    evaluate_lowlight(load_config(args.config, LowLightEvalConfig, args.set), args.out)
    print_outputs("isp lowlight-eval", args.out, "metrics.json, grid.png")
    return 0


def _cmd_isp_lowlight_enhance(args: argparse.Namespace) -> int:
    from perception3d.experiments.lowlight_enhance import enhance_images

    count = enhance_images(args.weights, args.images, args.out)
    print_outputs("isp lowlight-enhance", args.out, f"{count} enhanced PNGs")
    return 0


def _cmd_isp_effect(args: argparse.Namespace) -> int:
    from perception3d.experiments.isp_effect import run_isp_effect_file

    summary, out = run_isp_effect_file(args.config, args.set, args.out, args.quick, args.data_root)
    print((out / "isp_effect.md").read_text())
    print_outputs("isp-effect", out, f"{len(summary['rows'])} rows")
    return 0


def _add_config_command(
    isp,
    name: str,
    summary: str,
    config_yaml: str,
    out_example: str,
    func,
    config_help: str = "evaluation config YAML",
    out_help: str = "folder for metrics.json, grid.png",
) -> None:
    """``isp NAME CONFIG --out DIR [--set ...]``: a command that runs one config (example:
    ``config_yaml``), handled by ``func``."""
    q = add_command(isp, name, summary,
                    f"perception3d isp {name} {config_yaml} --out {out_example}")  # fmt: skip
    q.add_argument("config", type=Path, help=f"{config_help} ({config_yaml})")
    add_options(q, "--out", required=("--out",), out=out_help)
    add_set_option(q)
    q.set_defaults(func=func)


def _register_lowlight(isp) -> None:
    """``isp lowlight-eval`` and ``isp lowlight-enhance``."""
    _add_config_command(
        isp, "lowlight-eval",
        "the sRGB low-light enhancer vs gamma / CLAHE on held-out dark captures",
        "configs/isp/eval_lowlight.yaml", "outputs/lowlight_eval", _cmd_isp_lowlight_eval,
    )  # fmt: skip
    q = add_command(
        isp, "lowlight-enhance", "brighten dark 8-bit sRGB images with the low-light enhancer",
        "perception3d isp lowlight-enhance data/night/image_2 --out outputs/night_enhanced",
    )  # fmt: skip
    q.add_argument("images", type=Path, nargs="+", help="PNG files or folders of them")
    q.add_argument("--weights", type=Path, default=_default_lowlight_weights(),
                   help="enhancer weights (default: the shipped isp_lowlight.pt)")  # fmt: skip
    add_options(q, "--out", required=("--out",), out="folder for the enhanced PNGs")
    q.set_defaults(func=_cmd_isp_lowlight_enhance)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
    isp = add_group(
        sub, "isp", "camera ISP: train a learned stage, evaluate, run a config",
        "perception3d isp eval configs/isp/eval.yaml --out outputs/isp_eval", "isp_command",
    )  # fmt: skip
    add_train_command(
        isp, "train", "train a learned stage (= perception3d train CONFIG)",
        "perception3d isp train configs/isp/train_raw.yaml --out outputs/isp_raw",
        "training config (configs/isp/train_*.yaml)",
    )  # fmt: skip
    _add_config_command(
        isp, "eval", "none vs classical vs learned on held-out degraded captures",
        "configs/isp/eval.yaml", "outputs/isp_eval", _cmd_isp_eval,
    )  # fmt: skip
    _add_config_command(
        isp, "sr-eval", "bicubic vs SRCNN vs ESPCN super-resolution on held-out captures",
        "configs/isp/eval_sr.yaml", "outputs/sr_eval", _cmd_isp_sr_eval,
        config_help="SR evaluation config YAML",
    )  # fmt: skip
    _add_config_command(
        isp, "sr-detect",
        "2D / Frustum PointNet AP of objects beyond 40 m with x2 SR of horizon crops",
        "configs/isp/sr_far_detect.yaml", "outputs/sr_far", _cmd_isp_sr_detect,
        config_help="SR detection experiment config YAML", out_help="folder for metrics.json",
    )  # fmt: skip
    q = add_command(
        isp, "noise-check",
        "noise level vs intensity of real 8-bit images beside the sensor model's",
        "perception3d isp noise-check data/kitti/training/image_2 --out outputs/noise_check",
    )  # fmt: skip
    q.add_argument("images", type=Path, nargs="+", help="PNG files or folders of them")
    add_options(q, "--out", required=("--out",), out="folder for noise_check.json/.png")
    q.set_defaults(func=_cmd_isp_noise_check)
    q = add_command(
        isp, "run", "run an ISP config over a dataset, writing image_2/*.png",
        "perception3d isp run configs/isp/learned.yaml --data-root data/synthkitti "
        "--out outputs/isp_learned",
    )  # fmt: skip
    q.add_argument("config", type=Path, help="ISP pipeline config YAML (configs/isp/*.yaml)")
    add_options(
        q, "--data-root", "--out", "--split", required=("--data-root", "--out"),
        out="output folder (gets image_2/)",
        split={"default": None, "help": "ImageSets split (default: every frame)"},
    )  # fmt: skip
    add_set_option(q)
    q.set_defaults(func=_cmd_isp_run)
    _add_config_command(
        isp, "iq-report",
        "image quality (MTF50, SNR, dynamic range, colour, vignetting, distortion, texture) of "
        "ISPs on rendered test charts",
        "configs/isp/iq_report.yaml", "outputs/iq_report", _cmd_isp_iq_report,
        config_help="IQ report config YAML", out_help="folder for JSON, PNG plots, HTML",
    )  # fmt: skip
    _register_lowlight(isp)
    p = add_command(
        sub, "isp-effect",
        "ISP effect on PointPainting and Frustum PointNet under clean/low-light/HDR/haze",
        "perception3d isp-effect configs/fusion/isp_effect_quick.yaml --quick\n"
        "perception3d isp-effect configs/fusion/isp_effect_real.yaml --data-root data/kitti "
        "--set data.max_val_frames=50\n"
        "perception3d isp-effect configs/fusion/isp_effect_drives.yaml --data-root data/drives",
    )  # fmt: skip
    p.add_argument(
        "config", type=Path, help="configs/fusion/isp_effect*.yaml (with drives: over drives)"
    )
    add_options(
        p, "--out", "--data-root", out="output folder (resumable)",
        data_root="override data.root: a synthetic root, or a real KITTI root (image_2, "
        "velodyne, calib, label_2; its ImageSets/<split>.txt names the frames); drive configs: "
        "drives.root, a synth-drive root",
    )  # fmt: skip
    p.add_argument(
        "--quick",
        action="store_true",
        help="4 frames (drives: 5 per drive), 20 bootstrap resamples (minutes)",
    )
    add_set_option(p, "data.max_val_frames=50")
    p.set_defaults(func=_cmd_isp_effect)
