"""``perception3d demo``: the main job end to end."""

from __future__ import annotations

import argparse
from pathlib import Path


def _cmd_demo(args: argparse.Namespace) -> int:
    from perception3d.demo import run_demo

    kwargs = {} if args.weights is None else {"weights": args.weights}
    run_demo(out_dir=args.out, data_root=args.data_root, **kwargs)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
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
