"""``perception3d train / infer / create-db``: train any task, run any detector, ground-truth
database."""

from __future__ import annotations

import argparse
from pathlib import Path

from perception3d.cli.common import (
    add_command,
    add_options,
    add_set_option,
    add_train_command,
    print_outputs,
)


def _cmd_infer(args: argparse.Namespace) -> int:
    from perception3d.engine.infer import infer_config_file

    summary = infer_config_file(
        args.config, args.checkpoint, args.out, args.data_root, args.split, args.set,
        args.device, args.max_frames, args.overwrite, not args.no_progress, args.det2d,
        args.gt_boxes, args.images, args.backend, args.tta,
    )  # fmt: skip
    found = f"{summary['detections']} detections in {summary['frames']} frames"
    print_outputs("infer", summary["out_dir"], found)
    return 0


def _cmd_create_db(args: argparse.Namespace) -> int:
    import numpy as np

    from perception3d.data.gt_database import GtDatabase, create_gt_database

    out = create_gt_database(args.data_root, split=args.split, out_dir=args.out)
    database = GtDatabase.load(out)
    names, counts = np.unique(database.names.astype(str), return_counts=True)
    summary = ", ".join(f"{n} {c}" for n, c in zip(names, counts)) or "no objects"
    print_outputs("create-db", out, f"{len(database)} objects ({summary})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
    add_train_command(
        sub, "train",
        "train any model from an experiment config (torchrun ... -m perception3d train for DDP)",
        "perception3d train configs/models/pointpillars_lite.yaml --data-root data/synthkitti\n"
        "perception3d train configs/fusion/segnet.yaml --set train.epochs=2 --out outputs/seg\n"
        "perception3d train configs/models/pointpillars_lite.yaml --resume "
        "outputs/train/pointpillars_lite/latest.pt",
        "experiment config (task, model, data, train), e.g. configs/**/*.yaml",
    )  # fmt: skip
    p = add_command(
        sub, "infer", "run a trained detector (any detector task) and write KITTI result files",
        "perception3d infer configs/models/pointpillars_lite.yaml CKPT --data-root "
        "data/synthkitti --out outputs/pred\n"
        "perception3d infer configs/frustum/frustum_pointnet.yaml CKPT_3D --det2d CKPT_2D "
        "--out outputs/pred_frustum",
    )  # fmt: skip
    p.add_argument("config", type=Path, help="the config the checkpoint was trained with")
    p.add_argument("checkpoint", type=Path, help="checkpoint (.pt) of the config's task")
    add_options(
        p, "--data-root", "--split", "--out", "--overwrite", "--device", "--max-frames",
        required=("--out",), data_root="KITTI-layout root (default: config's data.root)",
        split="ImageSets name, or 'training' for all frames",
        out="folder for <frame_id>.txt results",
    )  # fmt: skip
    p.add_argument("--backend", choices=("eager", "fused"), default="eager",
                   help="fused: PointPillars' fast CPU form (docs/detectors.md)")  # fmt: skip
    p.add_argument("--tta", choices=("none", "flip"), default="none",
                   help="flip: add the mirrored sweep, fuse (docs/detectors.md)")  # fmt: skip
    p.add_argument("--det2d", type=Path, default=None,
                   help="frustum: 2D detector checkpoint (default: the shipped one)")  # fmt: skip
    p.add_argument("--gt-boxes", action="store_true",
                   help="frustum: the labels' 2D boxes instead of the 2D detector")  # fmt: skip
    add_options(
        p, "--images", "--no-progress",
        images="frustum, detector2d: folder of <id>.png replacing image_2",
    )  # fmt: skip
    add_set_option(p)
    p.set_defaults(func=_cmd_infer)
    p = add_command(
        sub, "create-db", "ground-truth database (object points) of a split, for object paste",
        "perception3d create-db --data-root data/synthkitti --split train",
    )  # fmt: skip
    add_options(
        p, "--data-root", "--split", "--out", required=("--data-root",),
        split={"default": "train",
               "help": "ImageSets name, or 'training' for every frame (default: train)"},
        out="output folder (default: DATA_ROOT/gt_database/SPLIT)",
    )  # fmt: skip
    p.set_defaults(func=_cmd_create_db)
