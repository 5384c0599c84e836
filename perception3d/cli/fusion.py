"""``perception3d fusion / frustum``: camera + LiDAR fusion: PointPainting and Frustum PointNet."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


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


def _cmd_frustum(args: argparse.Namespace) -> int:
    from perception3d.engine import frustum_run

    summary = frustum_run.run_frustum_command(args.frustum_command, vars(args))
    print(f"perception3d frustum {args.frustum_command}: {json.dumps(summary)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
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
