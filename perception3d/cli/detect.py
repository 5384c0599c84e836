"""``perception3d detect``: a trained detector on any point cloud (.bin, .npy, .pcd, .ply)."""

from __future__ import annotations

import argparse
from pathlib import Path

from perception3d.cli.common import add_command, add_options, add_set_option, print_outputs

EXAMPLE = """\
perception3d detect configs/models/pointpillars_lite.yaml \\
    perception3d/assets/weights/pointpillars_lite_synth.pt \\
    sweeps/*.pcd scan.npy data/kitti/training/velodyne/000008.bin --out detections/
# KITTI result rows (camera frame) instead of JSON, one calib for every input:
perception3d detect CONFIG CKPT velodyne/ --calib calib/000008.txt --format kitti --out preds/
# PointPillars on the CPU, faster (same boxes up to float rounding):
perception3d detect CONFIG CKPT sweep.bin --backend fused --out detections/
"""


DETECT_DESCRIPTION = """\
Detect objects in point clouds in the LiDAR frame: one JSON per input ({"frame", "boxes":
[{"label", "score", "center", "size", "heading"}]}, metres and radians, box centre, heading
counter-clockwise from +x), or KITTI result rows with --calib --format kitti. The whole
sweep is covered (a front-only model also runs on the points turned by 180 degrees) unless a
calib crops it to the camera's view.
"""


def _image_size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected H,W (e.g. 375,1242), got {text!r}") from None
    return h, w


def _cmd_detect(args: argparse.Namespace) -> int:
    import sys

    from perception3d.engine.detect import Detector
    from perception3d.engine.detect_files import run_detector_on_files

    if args.format == "kitti" and args.calib is None:
        print("perception3d detect: error: --format kitti needs --calib", file=sys.stderr)
        return 2

    detector = Detector.from_checkpoint(
        args.config,
        args.checkpoint,
        device=args.device,
        score_threshold=args.score_threshold,
        full_circle=not args.front_only,
        overrides=tuple(args.set or ()),
        backend=args.backend,
        tta=args.tta,
    )
    summary = run_detector_on_files(
        detector,
        args.inputs,
        args.out,
        calib=args.calib,
        fmt=args.format,
        dump_head=args.dump_head,
        image_shape=args.image_size,
        intensity_scale=args.intensity_scale,
        drop_nonfinite=args.drop_nonfinite,
        progress=not args.no_progress,
    )
    found = f"{summary['detections']} detections in {summary['frames']} point clouds"
    print_outputs("detect", summary["out_dir"], found)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
    p = add_command(
        sub, "detect", "run a trained detector on point-cloud files (.bin, .npy, .pcd, .ply), no "
        "calibration needed", EXAMPLE, description=DETECT_DESCRIPTION,
    )  # fmt: skip
    p.add_argument("config", type=Path, help="the detector's training config (YAML)")
    p.add_argument("checkpoint", type=Path, help="checkpoint (.pt)")
    p.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="point-cloud files, folders or glob patterns"
    )
    add_options(p, "--out", required=("--out",))
    p.add_argument(
        "--calib",
        type=Path,
        default=None,
        help="KITTI calib file for every input, or a folder of <frame>.txt; crops to the "
        "camera's view when the model was trained so (data.fov_only)",
    )
    p.add_argument("--format", choices=("json", "kitti"), default="json", help="output format")
    add_options(p, "--score-threshold", score_threshold="minimum score (default: config's)")
    p.add_argument(
        "--dump-head",
        type=Path,
        default=None,
        metavar="FILE.npz",
        help="also write every anchor's decoded box and sigmoid scores before threshold and "
        "NMS (one input: this .npz; several: a folder of <frame>.npz)",
    )
    add_options(p, "--device")
    p.add_argument(
        "--backend",
        choices=("eager", "fused"),
        default="eager",
        help="fused: PointPillars' inference-only CPU form (weights folded; same boxes up to "
        "float rounding, faster; docs/detectors.md)",
    )
    p.add_argument(
        "--front-only", action="store_true", help="only the model's own range (no rear pass)"
    )
    p.add_argument(
        "--tta",
        choices=("none", "flip"),
        default="none",
        help="flip: each pass also mirrored about the x-z plane, boxes fused (docs/detectors.md)",
    )
    p.add_argument(
        "--image-size",
        type=_image_size,
        default=None,
        metavar="H,W",
        help="image_2 size for the camera-view crop and KITTI 2D boxes (default 375,1242)",
    )
    p.add_argument(
        "--intensity-scale",
        type=float,
        default=None,
        help="multiply intensities by this (KITTI models expect 0..1; e.g. 0.00392 for 0..255)",
    )
    p.add_argument(
        "--drop-nonfinite",
        action="store_true",
        help="drop NaN/inf points (missing returns of organized clouds) instead of refusing",
    )
    add_set_option(p, "post.score_threshold=0.3")
    add_options(p, "--no-progress")
    p.set_defaults(func=_cmd_detect)
