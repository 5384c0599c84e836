"""``perception3d <command>``: argument parsing only; each command calls one library function.

Library modules are imported inside the handlers so ``--help`` is instant and a command whose
optional extra is missing does not break the others.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _cmd_demo(args: argparse.Namespace) -> int:
    from perception3d.demo import run_demo

    run_demo(out_dir=args.out, data_root=args.data_root)
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
    p.set_defaults(func=_cmd_demo)

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
