"""``perception3d demo``: the main job end to end."""

from __future__ import annotations

import argparse
from pathlib import Path

from perception3d.cli.common import add_command, add_options, print_outputs


def _cmd_demo(args: argparse.Namespace) -> int:
    from perception3d.demo import DEMO_OUT, run_demo

    summary = run_demo(out_dir=args.out, data_root=args.data_root, weights=args.weights)
    files = f"pred/, metrics.json, {len(summary['pictures'])} frame PNGs, summary.json"
    print_outputs("demo", args.out or DEMO_OUT, f"{files}; {summary['seconds']['total']:.0f} s")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
    p = add_command(
        sub, "demo", "run the main job end to end on the embedded default data",
        "perception3d demo\nperception3d demo --data-root tests/data/kitti_samples --out outputs/d",
    )  # fmt: skip
    add_options(
        p, "--out", "--data-root",
        out="folder for the demo's outputs (default: outputs/demo)",
        data_root="KITTI-layout root to use instead of the embedded default",
    )  # fmt: skip
    p.add_argument("--weights", type=Path, default=None, help="detector checkpoint (default: "
                   "the shipped PointPillars-lite synthetic weights)")  # fmt: skip
    p.set_defaults(func=_cmd_demo)
