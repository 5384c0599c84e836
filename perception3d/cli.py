"""``perception3d <command>``: argument parsing only; each command calls one library function.

Library modules are imported inside the handlers so ``--help`` is instant and a command whose
optional extra is missing does not break the others.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path


def _cmd_demo(args: argparse.Namespace) -> int:
    from perception3d.demo import run_demo

    kwargs = {} if args.weights is None else {"weights": args.weights}
    run_demo(out_dir=args.out, data_root=args.data_root, **kwargs)
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


def _cmd_create_db(args: argparse.Namespace) -> int:
    import numpy as np

    from perception3d.data.gt_database import GtDatabase, create_gt_database

    out = create_gt_database(args.data_root, split=args.split, out_dir=args.out)
    database = GtDatabase.load(out)
    names, counts = np.unique(database.names.astype(str), return_counts=True)
    summary = ", ".join(f"{n} {c}" for n, c in zip(names, counts)) or "no objects"
    print(f"perception3d create-db: {len(database)} objects ({summary}) -> {out}")
    return 0


def _cmd_weather(args: argparse.Namespace) -> int:
    from perception3d.lidar.weather_dataset import write_weather_copy

    chosen = [(k, v) for k, v in (("fog", args.fog_mor), ("rain", args.rain_rate),
                                  ("snow", args.snow_rate)) if v is not None]  # fmt: skip
    if len(chosen) != 1:
        print("perception3d weather: give exactly one of --fog-mor, --rain-rate, --snow-rate",
              file=sys.stderr)  # fmt: skip
        return 2
    kind, strength = chosen[0]
    out = write_weather_copy(args.data_root, args.out, args.split, kind, strength, args.seed)
    print(f"perception3d weather: {args.split} in {kind} ({strength}) -> {out}")
    return 0


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
    from perception3d.isp.pipeline import PipelineConfig
    from perception3d.isp.run import run_isp

    summary = run_isp(
        load_config(args.config, PipelineConfig, args.set), args.data_root, args.out, args.split
    )
    print(json.dumps(summary["sources"]))
    return 0


def _cmd_fusion(args: argparse.Namespace) -> int:
    if args.fusion_command == "train-seg":
        from perception3d.engine.seg_train import load_seg_config, train_segnet

        overrides = list(args.set)
        if args.data_root is not None:
            overrides.append(f"data_root={args.data_root.resolve()}")
        out = args.out or Path("outputs") / "segnet" / args.config.stem
        info = train_segnet(load_seg_config(args.config, overrides), out)
        val = info["val"]
        ious = ", ".join(f"{k} {100 * v:.1f}" for k, v in val["iou"].items())
        print(f"perception3d fusion train-seg: val mIoU {100 * val['miou']:.1f} ({ious}) -> {out}")
        return 0
    from perception3d.models.fusion import paint_split

    summary = paint_split(
        args.data_root,
        args.images,
        args.seg,
        args.out,
        split=args.split,
        workers=args.threads,
        fov_only=args.fov_only,
        max_frames=args.max_frames,
    )
    print(f"perception3d fusion paint: {summary['frames']} frames painted -> {args.out}")
    return 0


def _cmd_isp_effect(args: argparse.Namespace) -> int:
    from perception3d.eval.isp_effect import load_isp_effect_config, run_isp_effect

    overrides = list(args.set)
    if args.quick:
        overrides = ["max_frames=4", "bootstrap=20", *overrides]
    out = args.out or Path("outputs") / "isp_effect" / args.config.stem
    summary = run_isp_effect(load_isp_effect_config(args.config, overrides), out)
    print((out / "isp_effect.md").read_text())
    print(f"perception3d isp-effect: {len(summary['rows'])} rows -> {out}")
    return 0


def _cmd_viz(args: argparse.Namespace) -> int:
    try:
        return _run_viz(args)
    except ValueError as exc:  # bad views, suffix, ranges: the library's input checks
        print(f"perception3d viz: error: {exc}", file=sys.stderr)
        return 2


def _run_viz(args: argparse.Namespace) -> int:
    from perception3d.viz.bev import BevGrid
    from perception3d.viz.frame import VizOptions, visualize
    from perception3d.viz.sequence import visualize_sequence

    x0, x1, y0, y1 = args.bev_range
    options = VizOptions(
        views=tuple(args.views),
        classes=tuple(args.classes),
        match=not args.no_match,
        metric=args.metric,
        difficulty=args.difficulty,
        score_threshold=args.score_threshold,
        color_by=args.color_by,
        bev_grid=BevGrid((x0, x1), (y0, y1), args.bev_resolution),
        backend_3d=args.renderer_3d,
        width=args.width,
    )
    if args.frame is not None:
        out = visualize(args.data_root, args.frame, args.out, args.pred_dir, options, args.show)
    else:
        from perception3d.data.kitti import read_split_file

        ids = args.frames if args.frames is not None else read_split_file(args.split)
        out = visualize_sequence(args.data_root, ids, args.out, args.pred_dir, options, args.fps)
    print(f"wrote {out}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from perception3d.viz.report import build_report

    out = build_report(args.sources, args.out, args.title)
    print(f"wrote {out}")
    return 0


def _csv(kind):
    def parse(text: str) -> list:
        try:
            return [kind(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated values, got {text!r}"
            ) from None

    return parse


def _bev_range(text: str) -> tuple[float, float, float, float]:
    values = _csv(float)(text)
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"expected XMIN,XMAX,YMIN,YMAX, got {text!r}")
    return tuple(values)


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


def _cmd_synth_objectnet3d(args: argparse.Namespace) -> int:
    from perception3d.data.objectnet3d_synth.generate import (
        generate_synthetic_objectnet3d,
        load_synth_objectnet3d_config,
    )

    cfg = load_synth_objectnet3d_config(args.config, args.set)
    summary = generate_synthetic_objectnet3d(args.out, cfg, progress=not args.quiet)
    print(json.dumps(summary, indent=2))
    return 0


def _cmd_eval_objectnet3d(args: argparse.Namespace) -> int:
    from perception3d.atomic import atomic_write_text
    from perception3d.eval.objectnet3d import evaluate_objectnet3d_root, format_objectnet3d_table

    result = evaluate_objectnet3d_root(args.data_root, args.pred, split=args.split)
    print(format_objectnet3d_table(result))
    if args.out is not None:
        atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    return 0


def _cmd_objectnet3d(args: argparse.Namespace) -> int:
    from perception3d.config import load_config_or_defaults

    if args.action == "train-recognition":
        from perception3d.engine.objectnet3d_recognition import (
            RecognitionConfig,
            train_recognition,
        )

        cfg = load_config_or_defaults(args.config, RecognitionConfig, args.set)
        metrics = train_recognition(args.data_root, args.out, cfg)
        print(json.dumps({k: metrics[k] for k in ("aligned", "rotated")}, indent=2))
    elif args.action == "train-viewpoint":
        from perception3d.engine.objectnet3d_viewpoint import ViewpointConfig, train_viewpoint

        cfg = load_config_or_defaults(args.config, ViewpointConfig, args.set)
        metrics = train_viewpoint(args.data_root, args.out, cfg)
        print(json.dumps(metrics["val_gt_boxes"]["mean"], indent=2))
    elif args.action == "predict-viewpoint":
        from perception3d.engine.objectnet3d_viewpoint import predict_viewpoints_gt_boxes

        predict_viewpoints_gt_boxes(args.data_root, args.ckpt, args.out, split=args.split)
        print(f"wrote {args.out}")
    else:
        raise ValueError(f"unknown objectnet3d action {args.action!r}")
    return 0


def _cmd_frustum(args: argparse.Namespace) -> int:
    from perception3d.engine import frustum_run

    summary = frustum_run.run_frustum_command(args.frustum_command, vars(args))
    print(f"perception3d frustum {args.frustum_command}: {json.dumps(summary)}")
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
    p.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="detector checkpoint (default: the shipped PointPillars-lite synthetic weights)",
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
    p = sub.add_parser(
        "fusion", help="PointPainting: train the segmentation net, paint LiDAR points"
    )
    fusion = p.add_subparsers(dest="fusion_command", metavar="FUSION_COMMAND", required=True)
    q = fusion.add_parser("train-seg", help="train the image segmentation net (resumable)")
    q.add_argument("config", type=Path, help="configs/fusion/segnet.yaml")
    q.add_argument("--out", type=Path, default=None, help="output folder (segnet.pt, metrics)")
    q.add_argument("--data-root", type=Path, default=None, help="override data_root")
    q.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override")
    q.set_defaults(func=_cmd_fusion)
    q = fusion.add_parser(
        "paint", help="append segmentation scores to each LiDAR point (velodyne_painted/*.npy)"
    )
    q.add_argument("--data-root", type=Path, required=True, help="KITTI-layout root (LiDAR)")
    q.add_argument(
        "--images", type=Path, default=None, help="folder with image_2/ (default: the root's)"
    )
    q.add_argument("--seg", type=Path, required=True, help="segmentation weights (segnet.pt)")
    q.add_argument("--out", type=Path, required=True, help="painted KITTI-layout root to write")
    q.add_argument("--split", default="val", help="ImageSets split, or 'training' (all)")
    q.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    q.add_argument("--fov-only", action="store_true", help="store only the points inside image_2")
    q.add_argument("--max-frames", type=int, default=None, help="first N frames of the split")
    q.set_defaults(func=_cmd_fusion)

    p = sub.add_parser(
        "isp-effect",
        help="ISP effect on PointPainting and Frustum PointNet under clean/low-light/HDR/haze",
    )
    p.add_argument("config", type=Path, help="configs/fusion/isp_effect*.yaml")
    p.add_argument("--out", type=Path, default=None, help="output folder (resumable)")
    p.add_argument(
        "--quick", action="store_true", help="4 frames, 20 bootstrap resamples (minutes)"
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override")
    p.set_defaults(func=_cmd_isp_effect)

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

    p = sub.add_parser(
        "create-db", help="ground-truth database (object points) of a split, for object paste"
    )
    p.add_argument("--data-root", type=Path, required=True, help="KITTI-layout root")
    p.add_argument(
        "--split",
        default="train",
        help="ImageSets split name, or 'training' for every frame (default: train)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: DATA_ROOT/gt_database/SPLIT)",
    )
    p.set_defaults(func=_cmd_create_db)

    p = sub.add_parser(
        "weather",
        help="copy of a split with every sweep in fog, rain or snow (docs/augmentation.md)",
    )
    p.add_argument("--data-root", type=Path, required=True, help="KITTI-layout root")
    p.add_argument("--out", type=Path, required=True, help="new KITTI-layout root")
    p.add_argument("--split", default="val", help="ImageSets split name (default: val)")
    p.add_argument(
        "--fog-mor", type=float, default=None, help="fog: meteorological optical range, m"
    )
    p.add_argument("--rain-rate", type=float, default=None, help="rain rate, mm/h")
    p.add_argument("--snow-rate", type=float, default=None, help="snowfall rate (water), mm/h")
    p.add_argument("--seed", type=int, default=0, help="base seed (default: 0)")
    p.set_defaults(func=_cmd_weather)

    p = sub.add_parser(
        "viz",
        help="draw a frame (BEV, image_2, 3D, range image) with GT and predictions",
        description="Draw a KITTI-layout frame: the sweep, ground truth, predictions with "
        "scores, and TP/FP/FN by the KITTI evaluator's rules when --pred-dir is given. "
        "--frame writes one PNG; --frames/--split write a GIF or MP4 over frames.",
    )
    p.add_argument("--data-root", type=Path, required=True, help="folder holding training/")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--frame", help="one frame id (e.g. 000008): --out FILE.png")
    which.add_argument("--frames", nargs="+", help="frame ids for a video: --out FILE.gif|.mp4")
    which.add_argument("--split", type=Path, help="ImageSets file of frame ids for a video")
    p.add_argument("--out", type=Path, required=True, help="FILE.png, or FILE.gif/.mp4")
    p.add_argument("--pred-dir", type=Path, help="KITTI result files (<id>.txt with scores)")
    p.add_argument(
        "--views",
        type=_csv(str),
        default=["bev", "image"],
        help="comma-separated subset of bev,image,3d,range (default: bev,image)",
    )
    p.add_argument("--show", action="store_true", help="also open windows when a display exists")
    p.add_argument("--fps", type=float, default=2.0, help="video frames per second (default: 2)")
    p.add_argument("--color-by", choices=("height", "intensity"), default="height")
    p.add_argument("--metric", choices=("3d", "bev", "bbox"), default="3d", help="for matching")
    p.add_argument("--difficulty", choices=("easy", "moderate", "hard"), default="moderate")
    p.add_argument(
        "--classes", type=_csv(str), default=["Car", "Pedestrian", "Cyclist"], help="evaluated"
    )
    p.add_argument("--no-match", action="store_true", help="no TP/FP/FN colouring")
    p.add_argument(
        "--score-threshold", type=float, default=0.0, help="drop predictions below this score"
    )
    p.add_argument(
        "--renderer-3d",
        choices=("auto", "open3d", "matplotlib"),
        default="auto",
        help="3D view renderer (auto: Open3D offscreen when it works, else matplotlib)",
    )
    p.add_argument(
        "--bev-range",
        type=_bev_range,
        default=(-20.0, 70.0, -40.0, 40.0),
        metavar="XMIN,XMAX,YMIN,YMAX",
        help="BEV extent in metres, LiDAR frame (default: -20,70,-40,40)",
    )
    p.add_argument("--bev-resolution", type=float, default=0.1, help="metres per BEV pixel")
    p.add_argument("--width", type=int, default=1242, help="width of the picture in pixels")
    p.set_defaults(func=_cmd_viz)

    p = sub.add_parser(
        "report",
        help="gather a run's metrics (JSON) and pictures into one self-contained HTML page",
    )
    p.add_argument("sources", nargs="+", type=Path, help="folders or files (*.json, *.png, *.gif)")
    p.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    p.add_argument("--title", default="perception3d report")
    p.set_defaults(func=_cmd_report)

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

    p = sub.add_parser(
        "synth-objectnet3d",
        help="render a synthetic ObjectNet3D in the real layout (.mat, .off, Image_sets, JPEG)",
    )
    p.add_argument("--out", type=Path, required=True, help="dataset root to write")
    p.add_argument("--config", type=Path, default=None, help="YAML (default: built-in defaults)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set num_images=200 (repeatable)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_synth_objectnet3d)

    p = sub.add_parser("eval", help="evaluate predictions with a benchmark's official protocol")
    eval_sub = p.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    q = eval_sub.add_parser(
        "objectnet3d", help="ObjectNet3D detection AP and viewpoint AVP/AVS (official toolbox)"
    )
    q.add_argument("--data-root", type=Path, required=True, help="ObjectNet3D root")
    q.add_argument(
        "--pred",
        type=Path,
        required=True,
        help="prediction file (docs/objectnet3d.md) or a folder of detections_<class>.txt",
    )
    q.add_argument("--split", default="val", help="image set of Image_sets/ (default: val)")
    q.add_argument("--out", type=Path, default=None, help="write the result as JSON here")
    q.set_defaults(func=_cmd_eval_objectnet3d)

    q = eval_sub.add_parser(
        "kitti",
        help="KITTI object AP: bbox, bev, 3d, aos at R11 and R40",
        description="Evaluate KITTI result files (label rows plus a 16th score column) against "
        "label files with the official KITTI protocol; print the table, optionally write JSON.",
    )
    q.add_argument(
        "--gt-dir",
        type=Path,
        required=True,
        help="folder of <id>.txt label files, or a KITTI root with training/label_2",
    )
    q.add_argument(
        "--pred-dir",
        type=Path,
        required=True,
        help="folder of <id>.txt result files; a missing file means no detections (warned)",
    )
    q.add_argument(
        "--split",
        type=Path,
        default=None,
        help="file of frame ids (e.g. ImageSets/val.txt); default: every label file",
    )
    q.add_argument(
        "--classes",
        type=_kitti_classes,
        default=["Car", "Pedestrian", "Cyclist"],
        help="comma-separated classes (default: Car,Pedestrian,Cyclist)",
    )
    q.add_argument("--out", type=Path, default=None, help="write the metrics JSON here")
    q.set_defaults(func=_cmd_eval_kitti)

    p = sub.add_parser(
        "objectnet3d", help="ObjectNet3D models: PointNet recognition, viewpoint estimation"
    )
    on3d_sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, text in (
        ("train-recognition", "PointNet on points sampled from the CAD models"),
        ("train-viewpoint", "viewpoint network on box crops; scores val with GT boxes"),
    ):
        q = on3d_sub.add_parser(action, help=text)
        q.add_argument("--data-root", type=Path, required=True, help="ObjectNet3D root")
        q.add_argument("--out", type=Path, required=True, help="folder for model.pt, metrics")
        q.add_argument("--config", type=Path, default=None, help="YAML (default: defaults)")
        q.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config key (repeatable)")  # fmt: skip
        q.set_defaults(func=_cmd_objectnet3d)
    q = on3d_sub.add_parser(
        "predict-viewpoint", help="viewpoints for the ground-truth boxes -> a prediction file"
    )
    q.add_argument("--data-root", type=Path, required=True, help="ObjectNet3D root")
    q.add_argument("--ckpt", type=Path, required=True, help="model.pt of train-viewpoint")
    q.add_argument("--out", type=Path, required=True, help="prediction file to write")
    q.add_argument("--split", default="val", help="image set (default: val)")
    q.set_defaults(func=_cmd_objectnet3d)
    p = sub.add_parser("frustum", help="Frustum PointNet: 2D image detector + 3D frustum stage")
    fr = p.add_subparsers(dest="frustum_command", metavar="FRUSTUM_COMMAND", required=True)
    for name, text in (
        ("train-2d", "train the 2D image detector (configs/frustum/detector2d.yaml)"),
        ("train-3d", "train the 3D frustum stage (configs/frustum/frustum_pointnet.yaml)"),
    ):
        q = fr.add_parser(name, help=text)
        q.add_argument("config", type=Path, help="experiment YAML")
        q.add_argument("--out", type=Path, default=None, help="output folder")
        q.add_argument("--resume", type=Path, default=None, help="checkpoint to continue from")
        q.add_argument("--set", action="append", metavar="KEY=VALUE", help="config override")
        q.add_argument("--no-progress", action="store_true", help="no progress bars")
        q.set_defaults(func=_cmd_frustum)
    for name, text in (
        ("infer", "2D detections lifted to 3D boxes -> KITTI result files"),
        ("infer-2d", "2D detections only -> KITTI result files (bbox metric)"),
    ):
        q = fr.add_parser(name, help=text)
        q.add_argument("--data-root", type=Path, required=True, help="KITTI-layout root")
        q.add_argument("--split", default="val", help="ImageSets name (default: val)")
        q.add_argument("--det2d", type=Path, default=None,
                       help="2D detector checkpoint (default: the shipped weights)")  # fmt: skip
        if name == "infer":
            q.add_argument("--model3d", type=Path, default=None,
                           help="3D stage checkpoint (default: the shipped weights)")  # fmt: skip
            q.add_argument("--gt-boxes", action="store_true",
                           help="use the label_2 2D boxes instead of the 2D detector")  # fmt: skip
        q.add_argument("--out", type=Path, required=True, help="result folder")
        q.add_argument("--images", type=Path, default=None,
                       help="folder of <id>.png replacing image_2 for the 2D detector")  # fmt: skip
        q.add_argument("--max-frames", type=int, default=None, help="first N frames only")
        q.add_argument("--no-progress", action="store_true", help="no progress bars")
        q.set_defaults(func=_cmd_frustum)
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
