"""``perception3d fusion / frustum``: camera + LiDAR fusion: PointPainting and Frustum PointNet."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from perception3d.cli.common import (
    add_command,
    add_group,
    add_options,
    add_train_command,
    print_outputs,
)


def _cmd_paint(args: argparse.Namespace) -> int:
    if args.seg is not None and args.cluster_gap_m is not None:
        from perception3d.errors import ConfigError

        raise ConfigError("--cluster-gap-m applies to --boxes / --det2d painting, not to --seg")
    if args.det2d is not None:
        from perception3d.engine.box_paint_detect import paint_split_det2d_file

        summary = paint_split_det2d_file(args.data_root, args.det2d, args.out, args.threads,
                                         images=args.images, split=args.split,
                                         cluster_gap_m=args.cluster_gap_m, fov_only=args.fov_only,
                                         max_frames=args.max_frames)  # fmt: skip
    elif args.boxes is not None:
        from perception3d.models.box_paint import paint_split_boxes

        summary = paint_split_boxes(args.data_root, args.boxes, args.out, args.images, args.split,
                                    args.cluster_gap_m, args.fov_only,
                                    max_frames=args.max_frames)  # fmt: skip
    else:
        from perception3d.models.fusion import paint_split

        summary = paint_split(args.data_root, args.images, args.seg, args.out, split=args.split,
                              workers=args.threads, fov_only=args.fov_only,
                              max_frames=args.max_frames)  # fmt: skip
    print_outputs("fusion paint", args.out, f"{summary['frames']} frames painted")
    return 0


def _cmd_eval_seg_lidar(args: argparse.Namespace) -> int:
    if args.painted is not None:
        from perception3d.engine.painted_lidar_eval import run_painted_lidar_eval

        metrics = run_painted_lidar_eval(args.painted, args.data_root, args.split, args.out)
    else:
        from perception3d.engine.seg_lidar_eval import run_seg_lidar_eval

        metrics = run_seg_lidar_eval(args.seg, args.data_root, args.split, args.images, args.out)
    print(json.dumps(metrics, indent=1))
    if args.out is not None:
        print_outputs("fusion eval-seg-lidar", args.out, "metrics")
    return 0


def _cmd_frustum_infer(args: argparse.Namespace) -> int:
    from perception3d.engine.frustum_infer import run_frustum_inference

    summary = run_frustum_inference(
        args.data_root,
        args.out,
        args.split,
        args.det2d,
        args.model3d,
        args.frustum_command == "infer-2d",
        args.gt_boxes,
        args.images,
        args.max_frames,
        not args.no_progress,
        args.overwrite,
        args.horizon_tiles,
    )
    print_outputs(f"frustum {args.frustum_command}", args.out, json.dumps(summary))
    return 0


def _cmd_frustum_adapt_bn(args: argparse.Namespace) -> int:
    from perception3d.engine.detector2d_adapt import adapt_detector2d_file

    note = adapt_detector2d_file(
        args.det2d, args.images, args.out, args.layers, not args.no_flip, args.batch_size
    )
    text = f"{len(note['images'])} images, {note['inputs']} inputs, layers {note['layers']}"
    print_outputs("frustum adapt-bn", args.out, text)
    return 0


def _cmd_frustum_adapt_bn_3d(args: argparse.Namespace) -> int:
    from perception3d.engine.frustum_adapt import adapt_frustum_file

    note = adapt_frustum_file(args.model3d, args.det2d, args.data_root, args.frames, args.out,
                              args.score_threshold)  # fmt: skip
    print_outputs("frustum adapt-bn-3d", args.out, f"{note['frustums']} frustums")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
    fusion = add_group(
        sub, "fusion", "PointPainting: train the segmentation net, paint LiDAR points",
        "perception3d fusion paint --data-root data/synthkitti --seg SEG.pt --out data/painted",
        "fusion_command",
    )  # fmt: skip
    add_train_command(
        fusion, "train-seg", "train the image segmentation net (= perception3d train CONFIG)",
        "perception3d fusion train-seg configs/fusion/segnet.yaml --out outputs/segnet",
        "configs/fusion/segnet.yaml",
    )  # fmt: skip
    q = add_command(
        fusion, "paint", "append segmentation scores to each LiDAR point (velodyne_painted/*.npy)",
        "perception3d fusion paint --data-root data/synthkitti --seg "
        "perception3d/assets/weights/segnet_synth.pt --out data/synthkitti_painted --split val",
    )  # fmt: skip
    source = q.add_mutually_exclusive_group(required=True)
    source.add_argument("--seg", type=Path, help="segmentation weights (segnet.pt)")
    source.add_argument("--boxes", type=Path,
                        help="folder of KITTI 2D result files <id>.txt to paint from instead "
                        "(perception3d frustum infer-2d; docs/fusion.md 'Painting from 2D "
                        "boxes')")  # fmt: skip
    source.add_argument("--det2d", type=Path,
                        help="or paint from the boxes of this 2D detector (a checkpoint, or "
                        "configs/frustum/detector2d_nanodet.yaml) run on each image")  # fmt: skip
    q.add_argument("--cluster-gap-m", type=float, default=None,
                   help="with --boxes / --det2d: paint only the nearest depth cluster of each "
                   "box's points, split at depth gaps above this (default: all)")  # fmt: skip
    add_options(
        q, "--data-root", "--images", "--out", "--split", "--threads", "--max-frames",
        required=("--data-root", "--out"), data_root="KITTI-layout root (LiDAR)",
        images="folder with image_2/ (default: the root's)",
        out="painted KITTI-layout root to write", split="ImageSets split, or 'training' (all)",
        max_frames="first N frames of the split",
    )  # fmt: skip
    q.add_argument("--fov-only", action="store_true", help="store only the points inside image_2")
    q.set_defaults(func=_cmd_paint)
    q = add_command(
        fusion, "eval-seg-lidar",
        "segmentation IoU on frames without masks: labels from the LiDAR points in 3D boxes",
        "perception3d fusion eval-seg-lidar --data-root /data/kitti --split val "
        "--seg perception3d/assets/weights/segnet_synth.pt --out seg_real.json",
    )  # fmt: skip
    source = q.add_mutually_exclusive_group(required=True)
    source.add_argument("--seg", type=Path, help="segmentation weights")
    source.add_argument("--painted", type=Path,
                        help="a painted root (fusion paint) of --data-root's frames: score its "
                        "stored scores' argmax instead of running a net")  # fmt: skip
    add_options(
        q, "--data-root", "--split", "--images", "--out", required=("--data-root",),
        data_root="KITTI-layout root with image_2, velodyne, calib, label_2",
        out="write the metrics JSON here",
    )  # fmt: skip
    q.set_defaults(func=_cmd_eval_seg_lidar)
    _register_frustum(sub)


def _register_frustum(sub: argparse._SubParsersAction) -> None:
    fr = add_group(
        sub, "frustum", "Frustum PointNet: 2D image detector + 3D frustum stage",
        "perception3d frustum infer --data-root data/synthkitti --out outputs/frustum",
        "frustum_command",
    )  # fmt: skip
    for name, config in (("train-2d", "detector2d"), ("train-3d", "frustum_pointnet")):
        add_train_command(
            fr, name, f"train the {'2D image detector' if name == 'train-2d' else '3D stage'} "
            "(= perception3d train CONFIG)",
            f"perception3d frustum {name} configs/frustum/{config}.yaml --out outputs/{config}",
            f"configs/frustum/{config}.yaml",
        )  # fmt: skip
    for name, text in (
        ("infer", "2D detections lifted to 3D boxes -> KITTI result files"),
        ("infer-2d", "2D detections only -> KITTI result files (bbox metric)"),
    ):
        q = add_command(
            fr, name, text,
            f"perception3d frustum {name} --data-root data/synthkitti --out outputs/{name}",
        )  # fmt: skip
        add_options(q, "--data-root", "--split", required=("--data-root",))
        q.add_argument(
            "--det2d",
            type=Path,
            default=None,
            help="2D detector checkpoint (default: the shipped weights)",
        )
        q.set_defaults(model3d=None, gt_boxes=False)
        if name == "infer":
            q.add_argument("--model3d", type=Path, default=None,
                           help="3D stage checkpoint (default: the shipped weights)")  # fmt: skip
            q.add_argument("--gt-boxes", action="store_true",
                           help="use the label_2 2D boxes instead of the 2D detector")  # fmt: skip
        add_options(
            q, "--out", "--overwrite", "--images", "--max-frames", "--no-progress",
            required=("--out",), out="result folder",
            images="folder of <id>.png replacing image_2 for the 2D detector",
        )  # fmt: skip
        q.add_argument(
            "--horizon-tiles", action=argparse.BooleanOptionalAction, default=None,
            help="also detect 3 horizon windows zoomed x2 and merge their boxes (far objects; "
            "default: frustum_infer.DEFAULT_HORIZON_TILES, docs/frustum.md 'Horizon tiles')",
        )  # fmt: skip
        q.set_defaults(func=_cmd_frustum_infer)
    _register_adapt_bn(fr)


def _register_adapt_bn(fr: argparse._SubParsersAction) -> None:
    q = add_command(
        fr, "adapt-bn",
        "AdaBN: re-estimate the 2D detector's BatchNorm statistics on unlabelled images",
        "perception3d frustum adapt-bn --det2d perception3d/assets/weights/"
        "frustum_detector2d_dense.pt --images REAL/training/image_2 --out det2d_adabn.pt",
    )  # fmt: skip
    q.add_argument("--det2d", type=Path, required=True, help="2D detector checkpoint to adapt")
    q.add_argument("--images", type=Path, nargs="+", required=True,
                   help="unlabelled target-domain PNG images, or folders of them")  # fmt: skip
    q.add_argument("--out", type=Path, required=True, help="adapted checkpoint to write")
    q.add_argument("--layers", choices=("all", "head"), default="all",
                   help="all BatchNorm layers (AdaBN) or those after the encoder")  # fmt: skip
    q.add_argument("--no-flip", action="store_true", help="do not add each image's mirror")
    q.add_argument("--batch-size", type=int, default=None,
                   help="inputs per batch (default: all in one batch)")  # fmt: skip
    q.set_defaults(func=_cmd_frustum_adapt_bn)
    q = add_command(
        fr, "adapt-bn-3d",
        "AdaBN of the 3D stage on the frustums of 2D detections on unlabelled frames",
        "perception3d frustum adapt-bn-3d --model3d perception3d/assets/weights/"
        "frustum_pointnet_synth.pt --det2d DET2D.pt --data-root REAL --frames 000006 000015 "
        "--out f3d_adabn.pt",
    )  # fmt: skip
    q.add_argument("--model3d", type=Path, required=True, help="3D stage checkpoint to adapt")
    q.add_argument("--det2d", type=Path, required=True, help="2D detector giving the boxes")
    q.add_argument("--data-root", type=Path, required=True,
                   help="KITTI root: image_2, velodyne, calib (no labels)")  # fmt: skip
    q.add_argument("--frames", nargs="+", required=True, help="frame ids of training/ to use")
    q.add_argument("--out", type=Path, required=True, help="adapted checkpoint to write")
    q.add_argument("--score-threshold", type=float, default=0.3,
                   help="minimum score of the 2D detections used (default 0.3)")  # fmt: skip
    q.set_defaults(func=_cmd_frustum_adapt_bn_3d)
