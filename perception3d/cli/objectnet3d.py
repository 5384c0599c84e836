"""``perception3d objectnet3d``: ObjectNet3D models."""

from __future__ import annotations

import argparse
from pathlib import Path

from perception3d.cli.common import (
    add_command,
    add_group,
    add_options,
    add_train_command,
    print_outputs,
)


def _cmd_predict(args: argparse.Namespace) -> int:
    from perception3d.engine.objectnet3d_viewpoint import predict_viewpoints_gt_boxes

    predict_viewpoints_gt_boxes(args.data_root, args.ckpt, args.out, split=args.split)
    print_outputs("objectnet3d predict-viewpoint", args.out, "viewpoints of the ground-truth boxes")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
    on3d_sub = add_group(
        sub, "objectnet3d", "ObjectNet3D models: PointNet recognition, viewpoint estimation",
        "perception3d objectnet3d train-viewpoint --data-root data/on3d --out outputs/viewpoint",
        "action",
    )  # fmt: skip
    for action, text, name in (
        ("train-recognition", "PointNet on points sampled from the CAD models", "recognition"),
        ("train-viewpoint", "viewpoint network on box crops; scores val with GT boxes",
         "viewpoint"),
    ):  # fmt: skip
        add_train_command(
            on3d_sub, action, f"{text} (= perception3d train configs/objectnet3d/{name}.yaml)",
            f"perception3d objectnet3d {action} --data-root data/on3d --out outputs/{name} "
            "--set train.epochs=5",
            f"YAML (default: configs/objectnet3d/{name}.yaml values)", task=name,
        )  # fmt: skip
    q = add_command(
        on3d_sub, "predict-viewpoint",
        "viewpoints for the ground-truth boxes -> a prediction file",
        "perception3d objectnet3d predict-viewpoint --data-root data/on3d --ckpt "
        "outputs/viewpoint/model.pt --out pred.txt",
    )  # fmt: skip
    q.add_argument("--ckpt", type=Path, required=True, help="a viewpoint checkpoint (model.pt)")
    add_options(
        q, "--data-root", "--out", "--split", required=("--data-root", "--out"),
        data_root="ObjectNet3D root", out="prediction file to write",
        split="image set (default: val)",
    )  # fmt: skip
    q.set_defaults(func=_cmd_predict)
