"""``perception3d fusion / frustum``: camera + LiDAR fusion: PointPainting and Frustum PointNet."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from perception3d.cli.common import add_command, add_train_command


def _cmd_paint(args: argparse.Namespace) -> int:
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


def _cmd_eval_seg_lidar(args: argparse.Namespace) -> int:
    from perception3d.engine.seg_lidar_eval import run_seg_lidar_eval

    metrics = run_seg_lidar_eval(args.seg, args.data_root, args.split, args.images, args.out)
    print(json.dumps(metrics, indent=1))
    return 0


def _cmd_frustum_infer(args: argparse.Namespace) -> int:
    from perception3d.engine.frustum_infer import run_frustum_inference

    summary = run_frustum_inference(
        args.data_root, args.out, args.split, args.det2d, args.model3d,
        args.frustum_command == "infer-2d", args.gt_boxes, args.images,
        args.max_frames, not args.no_progress, args.overwrite,
    )  # fmt: skip
    print(f"perception3d frustum {args.frustum_command}: {json.dumps(summary)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
    p = sub.add_parser(
        "fusion", help="PointPainting: train the segmentation net, paint LiDAR points"
    )
    fusion = p.add_subparsers(dest="fusion_command", metavar="FUSION_COMMAND", required=True)
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
    q.set_defaults(func=_cmd_paint)
    q = add_command(
        fusion, "eval-seg-lidar",
        "segmentation IoU on frames without masks: labels from the LiDAR points in 3D boxes",
        "perception3d fusion eval-seg-lidar --data-root /data/kitti --split val "
        "--seg perception3d/assets/weights/segnet_synth.pt --out seg_real.json",
    )  # fmt: skip
    q.add_argument("--data-root", type=Path, required=True,
                   help="KITTI-layout root with image_2, velodyne, calib, label_2")  # fmt: skip
    q.add_argument("--seg", type=Path, required=True, help="segmentation weights")
    q.add_argument("--split", default="val", help="ImageSets name (default: val)")
    q.add_argument("--images", type=Path, default=None,
                   help="folder of <id>.png replacing image_2")  # fmt: skip
    q.add_argument("--out", type=Path, default=None, help="write the metrics JSON here")
    q.set_defaults(func=_cmd_eval_seg_lidar)
    p = sub.add_parser("frustum", help="Frustum PointNet: 2D image detector + 3D frustum stage")
    fr = p.add_subparsers(dest="frustum_command", metavar="FRUSTUM_COMMAND", required=True)
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
        q.add_argument("--data-root", type=Path, required=True, help="KITTI-layout root")
        q.add_argument("--split", default="val", help="ImageSets name (default: val)")
        q.add_argument("--det2d", type=Path, default=None,
                       help="2D detector checkpoint (default: the shipped weights)")  # fmt: skip
        q.set_defaults(model3d=None, gt_boxes=False)
        if name == "infer":
            q.add_argument("--model3d", type=Path, default=None,
                           help="3D stage checkpoint (default: the shipped weights)")  # fmt: skip
            q.add_argument("--gt-boxes", action="store_true",
                           help="use the label_2 2D boxes instead of the 2D detector")  # fmt: skip
        q.add_argument("--out", type=Path, required=True, help="result folder")
        q.add_argument("--overwrite", action="store_true",
                       help="replace the result files already in --out")  # fmt: skip
        q.add_argument("--images", type=Path, default=None,
                       help="folder of <id>.png replacing image_2 for the 2D detector")  # fmt: skip
        q.add_argument("--max-frames", type=int, default=None, help="first N frames only")
        q.add_argument("--no-progress", action="store_true", help="no progress bars")
        q.set_defaults(func=_cmd_frustum_infer)
