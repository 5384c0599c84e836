"""``perception3d view``: an interactive 3D view of frames as one self-contained HTML file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from perception3d.cli.common import add_command, add_options, print_outputs
from perception3d.cli.viz import add_frame_options, add_match_options, frame_ids

EXAMPLE = """perception3d view --data-root tests/data/kitti_samples --frame 000008 --out view.html
perception3d view --data-root data/synthkitti --frames 000000 000001 000002 \\
    --pred-dir outputs/pred --out val.html"""


def _cmd_view(args: argparse.Namespace) -> int:
    try:
        return _run_view(args)
    except ValueError as exc:  # bad suffix, too many frames: the library's input checks
        print(f"perception3d view: error: {exc}", file=sys.stderr)
        return 2


def _run_view(args: argparse.Namespace) -> int:
    from perception3d.viz.frame import VizOptions
    from perception3d.viz.web.page import write_view
    from perception3d.viz.web.scene import ViewerOptions

    ids = frame_ids(args)
    viz = VizOptions(
        match=not args.no_match,
        metric=args.metric,
        difficulty=args.difficulty,
        score_threshold=args.score_threshold,
    )
    options = ViewerOptions(max_points=args.max_points, viz=viz)
    out = write_view(args.data_root, ids, args.out, args.pred_dir, options)
    size_mb = out.stat().st_size / 1e6
    print_outputs("view", out, f"{len(ids)} frames, {size_mb:.1f} MB; open it in a browser")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
    p = add_command(
        sub, "view",
        "interactive 3D view of frames (points, GT, predictions) as one offline HTML file", EXAMPLE,
        description="Write one self-contained HTML page (no server, no network) showing the "
        "sweep coloured by height, reflectivity or range, ground truth and predictions with "
        "class, score and TP/FP/FN colours (the KITTI evaluator's matching), the camera "
        "frustum and the camera image; layers toggle, frames step (left/right arrows).",
    )  # fmt: skip
    add_frame_options(
        p,
        "one frame id (e.g. 000008)",
        "frame ids to step through (at most 50)",
        "ImageSets file of frame ids (at most 50)",
    )
    add_options(p, "--out", out={"default": Path("view.html"), "help": "default: view.html"})
    p.add_argument(
        "--max-points",
        type=int,
        default=30_000,
        help="points per frame (seeded subsample above it; default 30000, about 0.3 MB)",
    )
    add_match_options(p)
    p.set_defaults(func=_cmd_view)
