"""``perception3d objectnet3d``: ObjectNet3D models."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


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


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
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
