"""``perception3d train / infer / create-db``: 3D detectors: train, infer, ground-truth database."""

from __future__ import annotations

import argparse
from pathlib import Path


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


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
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
