"""``perception3d <command>``: argument parsing only; each command calls one library function.

One module per area registers its commands (``register(sub)``); library modules are imported
inside the handlers so ``--help`` is instant and a command whose optional extra is missing does
not break the others.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from perception3d.cli import (
    data,
    demo,
    detect,
    detector,
    drive,
    evaluate,
    fusion,
    interop,
    isp,
    kitti,
    objectnet3d,
    sim2real,
    view,
    viz,
)

AREAS = (
    demo,
    isp,
    fusion,
    detector,
    detect,
    kitti,
    interop,
    data,
    drive,
    viz,
    view,
    evaluate,
    objectnet3d,
    sim2real,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``perception3d`` parser with every area's commands."""
    from perception3d import __version__

    parser = argparse.ArgumentParser(
        prog="perception3d",
        description="3D perception on driving data: synthetic KITTI scenes, LiDAR and camera "
        "pipelines, 3D detection and the official KITTI evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"perception3d {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for area in AREAS:
        area.register(sub)
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
    except KeyboardInterrupt as exc:  # Ctrl-C: one line, the shell's code for SIGINT
        detail = f" ({exc})" if str(exc) else ""
        print(f"perception3d {args.command}: interrupted{detail}", file=sys.stderr)
        return 130
