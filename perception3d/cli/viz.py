"""``perception3d viz / report``: pictures and reports."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from perception3d.cli.common import add_command, add_options, csv_list, print_outputs


def _cmd_viz(args: argparse.Namespace) -> int:
    try:
        return _run_viz(args)
    except ValueError as exc:  # bad views, suffix, ranges: the library's input checks
        print(f"perception3d viz: error: {exc}", file=sys.stderr)
        return 2


def _run_viz(args: argparse.Namespace) -> int:
    from perception3d.viz.bev import BevGrid
    from perception3d.viz.frame import VizOptions, visualize
    from perception3d.viz.sequence import visualize_sequence

    grid = None
    if args.bev_range is not None:
        x0, x1, y0, y1 = args.bev_range
        grid = BevGrid((x0, x1), (y0, y1))
    options = VizOptions(
        views=tuple(args.views),
        classes=tuple(args.classes),
        match=not args.no_match,
        metric=args.metric,
        difficulty=args.difficulty,
        score_threshold=args.score_threshold,
        color_by=args.color_by,
        bev_grid=grid,
        backend_3d=args.renderer_3d,
        width=args.width,
    )
    ids = frame_ids(args)
    if args.frame is not None:
        out = visualize(args.data_root, args.frame, args.out, args.pred_dir, options, args.show)
    else:
        out = visualize_sequence(args.data_root, ids, args.out, args.pred_dir, options, args.fps)
    print_outputs("viz", out, f"{len(ids)} frame{'s' if len(ids) > 1 else ''}")
    return 0


def frame_ids(args: argparse.Namespace) -> list[str]:
    """The frame ids of ``--frame``, ``--frames`` or ``--split`` (:func:`add_frame_options`)."""
    if args.frame is not None:
        return [args.frame]
    if args.frames is not None:
        return args.frames
    from perception3d.data.kitti import read_split_file

    return read_split_file(args.split)


def _cmd_report(args: argparse.Namespace) -> int:
    from perception3d.viz.report import build_report

    out = build_report(args.sources, args.out, args.title)
    print_outputs("report", out, f"{len(args.sources)} sources")
    return 0


def _bev_range(text: str) -> tuple[float, float, float, float]:
    values = csv_list(float)(text)
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"expected XMIN,XMAX,YMIN,YMAX, got {text!r}")
    return tuple(values)


def add_frame_options(
    p: argparse.ArgumentParser, frame_help: str, frames_help: str, split_help: str
) -> None:
    """--data-root, the frames (one of --frame, --frames, --split) and --pred-dir."""
    add_options(p, "--data-root", required=("--data-root",), data_root="folder holding training/")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--frame", help=frame_help)
    which.add_argument("--frames", nargs="+", help=frames_help)
    which.add_argument("--split", type=Path, help=split_help)
    p.add_argument("--pred-dir", type=Path, help="KITTI result files (<id>.txt with scores)")


def add_match_options(p: argparse.ArgumentParser) -> None:
    """How predictions are matched to the ground truth (TP/FP/FN colours) and shown."""
    p.add_argument("--metric", choices=("3d", "bev", "bbox"), default="3d", help="for matching")
    p.add_argument("--difficulty", choices=("easy", "moderate", "hard"), default="moderate")
    p.add_argument("--no-match", action="store_true", help="no TP/FP/FN colouring")
    add_options(
        p, "--score-threshold",
        score_threshold={"default": 0.0, "help": "drop predictions below this score"},
    )  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
    p = add_command(
        sub, "viz", "draw a frame (BEV, image_2, 3D, range image) with GT and predictions",
        "perception3d viz --data-root tests/data/kitti_samples --frame 000008 "
        "--views bev,3d,image --out frame.png\n"
        "perception3d viz --data-root data/synthkitti --frames 000000 000001 --out seq.gif",
        description="Draw a KITTI-layout frame: the sweep, ground truth, predictions with "
        "scores, and TP/FP/FN by the KITTI evaluator's rules when --pred-dir is given. "
        "--frame writes one PNG; --frames/--split write a GIF or MP4 over frames.",
    )  # fmt: skip
    add_frame_options(
        p,
        "one frame id (e.g. 000008): --out FILE.png",
        "frame ids for a video: --out FILE.gif|.mp4",
        "ImageSets file of frame ids for a video",
    )
    add_options(p, "--out", required=("--out",), out="FILE.png, or FILE.gif/.mp4")
    p.add_argument(
        "--views",
        type=csv_list(str),
        default=["bev", "image"],
        help="comma-separated subset of bev,image,3d,range (default: bev,image)",
    )
    p.add_argument("--show", action="store_true", help="also open windows when a display exists")
    p.add_argument("--fps", type=float, default=2.0, help="video frames per second (default: 2)")
    p.add_argument("--color-by", choices=("height", "intensity"), default="height")
    p.add_argument(
        "--classes", type=csv_list(str), default=["Car", "Pedestrian", "Cyclist"], help="evaluated"
    )
    add_match_options(p)
    p.add_argument(
        "--renderer-3d",
        choices=("auto", "open3d", "matplotlib"),
        default="auto",
        help="3D view renderer (auto: Open3D offscreen when it works, else matplotlib)",
    )
    p.add_argument(
        "--bev-range",
        type=_bev_range,
        default=None,
        metavar="XMIN,XMAX,YMIN,YMAX",
        help="least BEV extent in metres, LiDAR frame, widened to the panel (default: zoom to "
        "the ground truth and predictions)",
    )
    p.add_argument("--width", type=int, default=1242, help="width of the picture in pixels")
    p.set_defaults(func=_cmd_viz)
    p = add_command(
        sub, "report",
        "one self-contained HTML page of a run: summary tables and plots first, interactive "
        "views (pages of `perception3d view`), the raw JSON folded",
        "perception3d report outputs/run7 --out outputs/run7/report.html",
    )  # fmt: skip
    p.add_argument(
        "sources",
        nargs="+",
        type=Path,
        help="folders or files (*.json, *.md, *.png, *.gif, *.jpg, view *.html)",
    )
    add_options(p, "--out", required=("--out",), out="the HTML file to write")
    p.add_argument("--title", default="perception3d report")
    p.set_defaults(func=_cmd_report)
