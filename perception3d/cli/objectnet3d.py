"""``perception3d objectnet3d``: ObjectNet3D models."""

from __future__ import annotations

import argparse
from pathlib import Path

from perception3d.cli.common import add_command, add_set_option, train_overrides


def _cmd_train(args: argparse.Namespace) -> int:
    from perception3d.engine.train import train_config_file

    task = "recognition" if args.action == "train-recognition" else "viewpoint"
    train_config_file(args.config, train_overrides(args), args.out, args.resume,
                      not args.no_progress, task=task)  # fmt: skip
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from perception3d.engine.objectnet3d_viewpoint import predict_viewpoints_gt_boxes

    predict_viewpoints_gt_boxes(args.data_root, args.ckpt, args.out, split=args.split)
    print(f"wrote {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
    p = sub.add_parser(
        "objectnet3d", help="ObjectNet3D models: PointNet recognition, viewpoint estimation"
    )
    on3d_sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, text, name in (
        ("train-recognition", "PointNet on points sampled from the CAD models", "recognition"),
        ("train-viewpoint", "viewpoint network on box crops; scores val with GT boxes",
         "viewpoint"),
    ):  # fmt: skip
        q = add_command(
            on3d_sub, action, f"{text} (= perception3d train configs/objectnet3d/{name}.yaml)",
            f"perception3d objectnet3d {action} --data-root data/on3d --out outputs/{name} "
            "--set train.epochs=5",
        )  # fmt: skip
        q.add_argument("--data-root", type=Path, required=True, help="ObjectNet3D root")
        q.add_argument("--out", type=Path, default=None,
                       help=f"output folder (default: outputs/train/{name})")  # fmt: skip
        q.add_argument("--config", type=Path, default=None,
                       help=f"YAML (default: configs/objectnet3d/{name}.yaml values)")  # fmt: skip
        q.add_argument("--resume", type=Path, default=None, help="checkpoint to continue from")
        add_set_option(q)
        q.add_argument("--no-progress", action="store_true", help="no progress bars")
        q.set_defaults(func=_cmd_train)
    q = add_command(
        on3d_sub, "predict-viewpoint",
        "viewpoints for the ground-truth boxes -> a prediction file",
        "perception3d objectnet3d predict-viewpoint --data-root data/on3d --ckpt "
        "outputs/viewpoint/model.pt --out pred.txt",
    )  # fmt: skip
    q.add_argument("--data-root", type=Path, required=True, help="ObjectNet3D root")
    q.add_argument("--ckpt", type=Path, required=True, help="a viewpoint checkpoint (model.pt)")
    q.add_argument("--out", type=Path, required=True, help="prediction file to write")
    q.add_argument("--split", default="val", help="image set (default: val)")
    q.set_defaults(func=_cmd_predict)
