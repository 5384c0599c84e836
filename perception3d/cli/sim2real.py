"""``perception3d sim2real-report``: real and synthetic sweeps side by side (docs/sim2real.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from perception3d.cli.common import add_command, add_options, csv_list, print_outputs

_EXAMPLE = """\
perception3d sim2real-report --real tests/data/kitti_samples --real ../shared/kitti_real \\
    --real ../shared/kitti_real/unlabeled --synth data/synth_heldout --out outputs/sim2real \\
    --detector configs/models/pointpillars_lite.yaml \\
    perception3d/assets/weights/pointpillars_lite_synth.pt
"""


SIM2REAL_REPORT_DESCRIPTION = """\
Real KITTI sweeps against synthetic ones: points per object, reflectivity, clearance to the
clutter beside each object, returns over it, same-class neighbours and how cars stand to their
nearest car, ray drop, range noise, ground, heights, each with its Jensen-Shannon distance, and
a detector's quality and false positives on both (docs/sim2real.md).
"""


_MEDIAN_KEYS = ("close_share_real", "close_share_synthetic", "median_real", "median_synthetic")


def _median_columns(row: dict) -> str:
    """Clearance rows: the shares of objects under 1 m and the medians (m); clutter rows: the
    medians (returns at 30 m); real / synthetic."""
    if "median_real" not in row:
        return ""
    fmt = ["n/a" if row.get(k) is None else f"{row[k]:.2f}" for k in _MEDIAN_KEYS]
    if "close_share_real" not in row:
        return f"; median {fmt[2]} / {fmt[3]}"
    return f"; under 1 m {fmt[0]} / {fmt[1]}; median {fmt[2]} / {fmt[3]} m"


def _zero_columns(row: dict) -> str:
    """Intensity rows: the distance on 0.05 bins (0 merged with 0.01-0.04) and the shares
    reading exactly 0, real / synthetic."""
    if row.get("js_distance_005") is None:
        return ""
    zr, zs = row.get("zero_share_real"), row.get("zero_share_synthetic")
    zeros = "" if zr is None or zs is None else f"; zeros {zr:.3f} / {zs:.3f}"
    return f"; 0.05 bins {row['js_distance_005']:.3f}{zeros}"


def _neighbour_columns(row: dict) -> str:
    """Neighbour rows: objects counted and mean neighbours; the car-pair row: cars counted and
    the share side by side; overhead rows: objects counted and the share with 3 or more returns
    over them; real / synthetic."""
    if "count_real" not in row:
        return ""

    def two(key: str) -> str:
        v = [row.get(f"{key}_{k}") for k in ("real", "synthetic")]
        return " / ".join("n/a" if x is None else f"{x:.2f}" for x in v)

    counts = f"; n {row['count_real']} / {row['count_synthetic']}"
    if "side_by_side_share_real" in row:
        return counts + f"; side by side {two('side_by_side_share')}"
    if "overhead_share_real" in row:
        return counts + f"; 3+ overhead {two('overhead_share')}"
    return counts + f"; mean {two('mean')}"


def _cmd_report(args: argparse.Namespace) -> int:
    from perception3d.experiments.sim2real.report import ReportOptions, sim2real_report

    config, checkpoint = (None, None) if args.detector is None else args.detector
    if args.checkpoint is not None:
        checkpoint = args.checkpoint
    opts = ReportOptions(
        real_roots=tuple(args.real),
        synth_root=args.synth,
        out=args.out,
        synth_frames=args.synth_frames,
        min_points=args.min_points,
        config=None if config is None else Path(config),
        checkpoint=None if checkpoint is None else Path(checkpoint),
        real_pred_dirs=tuple(args.pred_dir or ()),
        synth_pred_dir=args.synth_pred_dir,
        score_threshold=args.score_threshold,
    )
    summary = sim2real_report(opts)
    for row in summary["distances"]:
        js, floor = row["js_distance"], row["real_floor"]
        print(
            f"{row['statistic']:42s} JS "
            + ("  n/a" if js is None else f"{js:.3f}")
            + ("" if floor is None else f"  (real floor {floor:.3f}")
            + f"; frames or objects {row['groups_real']} / {row['groups_synthetic']})"
            + _zero_columns(row)
            + _median_columns(row)
            + _neighbour_columns(row)
        )
    for name, head in summary["detection"].items():
        for key, e in head.items():
            extra = (
                f", P {e['precision']:.2f} R {e['recall']:.2f}, FP/frame {e['fp_per_frame']}"
                if "precision" in e
                else ""
            )
            print(
                f"{name:9s} {key:18s} AP_all {e['ap_all']:5.1f}  AP_R40 {e['ap_r40']:5.1f} "
                f"(cap {e['r40_cap']:.1f}, {e['objects']} objects){extra}"
            )
    files = "report.html, summary.json, sim2real.json, PNGs"
    print_outputs("sim2real-report", args.out, f"{files}; {summary['seconds']:.0f} s")
    return 0


_PSEUDO_EXAMPLE = """\
perception3d sim2real-pseudo --checkpoint outputs/train/synth/latest.pt \\
    --real ../shared/kitti_real/unlabeled --out data/pseudo \\
    --synth data/synthkitti --mix-out data/synth_plus_pseudo --repeat 2
perception3d train configs/models/pointpillars_lite.yaml --data-root data/synth_plus_pseudo \\
    --set train.init_weights=outputs/train/synth/latest.pt ...
"""
PSEUDO_DESCRIPTION = """\
Turn each unlabelled real sweep into views (rotations about z), label them with a teacher
detector (confident detections: objects; uncertain ones: 3D DontCare regions) and optionally
link them with a synthetic root for training (docs/sim2real.md).
"""


def _cmd_pseudo(args: argparse.Namespace) -> int:
    from perception3d.experiments.sim2real.pseudo import PseudoConfig, make_pseudo_root, mix_roots

    cfg = PseudoConfig(
        positive_score={"Car": args.car_score, "Pedestrian": args.person_score,
                        "Cyclist": args.person_score},
        ignore_score=args.ignore_score,
    )  # fmt: skip
    if (args.checkpoint is None) == (args.camera_teacher is None):
        print(
            "perception3d sim2real-pseudo: give --checkpoint or --camera-teacher", file=sys.stderr
        )
        return 2
    if args.camera_teacher is not None:
        from perception3d.experiments.sim2real.camera_teacher import make_camera_pseudo_root

        summary = make_camera_pseudo_root(args.real, args.out, cfg, args.camera_teacher,
                                          args.model3d, tuple(args.heldout))  # fmt: skip
    else:
        summary = make_pseudo_root(args.checkpoint, args.real, args.out, cfg, tuple(args.heldout))
    print_outputs("sim2real-pseudo", args.out, f"{summary['views']} views, rows {summary['rows']}")
    if args.synth is not None:
        if args.mix_out is None:
            print("perception3d sim2real-pseudo: --synth needs --mix-out", file=sys.stderr)
            return 2
        mixed = mix_roots(args.synth, args.out, args.mix_out, args.repeat)
        views = f"{mixed['views']} views x {args.repeat}"
        frames = f"{mixed['train']} training frames: {mixed['synthetic']} synthetic, {views}"
        print_outputs("sim2real-pseudo", args.mix_out, frames)
    return 0


_ADAPT_EXAMPLE = """\
perception3d sim2real-adapt-bn \\
    --checkpoint perception3d/assets/weights/pointpillars_lite_synth.pt \\
    --real ../shared/kitti_real/unlabeled --out outputs/pp_lite_adabn.pt
perception3d infer configs/models/pointpillars_lite.yaml outputs/pp_lite_adabn.pt --data-root REAL
"""
ADAPT_DESCRIPTION = """\
Re-estimate a LiDAR detector's BatchNorm statistics on unlabelled real sweeps (AdaBN; the
weights are unchanged) and write the adapted weight file. Measured on the shipped detector and
6 real KITTI frames, it did not help (docs/sim2real.md, "AdaBN").
"""


def _cmd_adapt_bn(args: argparse.Namespace) -> int:
    from perception3d.experiments.sim2real.adapt_bn import AdaptBnConfig, adapt_detector_batchnorm
    from perception3d.runtime import torch_threads

    given = {"rotations_deg": args.rotations and tuple(args.rotations),
             "min_points": args.min_points}  # fmt: skip
    cfg = AdaptBnConfig(**{k: v for k, v in given.items() if v is not None})  # else its defaults
    with torch_threads(args.threads):
        summary = adapt_detector_batchnorm(args.checkpoint, args.real, args.out, cfg)
    layers, views = summary["batchnorm_layers"], summary["views"]
    print_outputs("sim2real-adapt-bn", args.out, f"{layers} BatchNorm layers, {views} views")
    return 0


def _add_real(p: argparse.ArgumentParser, help_text: str) -> None:
    """``--real ROOT`` (required, repeatable)."""
    p.add_argument("--real", type=Path, action="append", required=True, help=help_text)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's commands to the top-level subparsers."""
    p = add_command(
        sub, "sim2real-report",
        "compare real and synthetic sweeps statistic by statistic (HTML + PNG + JSON)",
        _EXAMPLE, description=SIM2REAL_REPORT_DESCRIPTION,
    )  # fmt: skip
    _add_real(p, "real KITTI-layout root (repeatable; pooled)")
    p.add_argument("--synth", type=Path, required=True, help="synthetic root (held-out frames)")
    add_options(p, "--out", required=("--out",))
    p.add_argument(
        "--synth-frames",
        type=int,
        default=100,
        help="synthetic frames used (first ids of ImageSets/val.txt; default 100)",
    )
    p.add_argument(
        "--min-points",
        type=int,
        default=5000,
        help="skip sweeps with fewer points (subsampled clouds; default 5000)",
    )
    p.add_argument(
        "--detector",
        nargs=2,
        metavar=("CONFIG", "CKPT"),
        default=None,
        help="run this detector on both sets",
    )
    p.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="run this checkpoint with its own config (instead of --detector)",
    )
    p.add_argument(
        "--pred-dir",
        type=Path,
        action="append",
        default=None,
        help="KITTI result files per --real root, same order (instead of a detector)",
    )
    p.add_argument(
        "--synth-pred-dir",
        type=Path,
        default=None,
        help="KITTI result files of the synthetic frames",
    )
    add_options(
        p, "--score-threshold", score_threshold={ "default": 0.3,
        "help": "precision / recall and false positives at this score (default 0.3)", },
    )  # fmt: skip
    p.set_defaults(func=_cmd_report)
    _register_pseudo(sub)
    _register_adapt_bn(sub)


def _register_pseudo(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "sim2real-pseudo",
        "pseudo-label unlabelled real sweeps with a detector and mix them into a synthetic "
        "training set (adaptation without labels)",
        _PSEUDO_EXAMPLE, description=PSEUDO_DESCRIPTION,
    )  # fmt: skip
    p.add_argument("--checkpoint", type=Path, default=None, help="the LiDAR teacher detector")
    p.add_argument(
        "--camera-teacher",
        type=Path,
        default=None,
        metavar="DET2D",
        help="camera teacher instead: this 2D detector (checkpoint or YAML) + the "
        "frustum stage, on each sweep's own image_2 and calib (no turned views)",
    )
    p.add_argument(
        "--model3d",
        type=Path,
        default=None,
        help="the camera teacher's frustum stage (default: the shipped one)",
    )
    p.add_argument(
        "--heldout",
        nargs="*",
        default=[],
        metavar="FRAME",
        help="camera teacher: frames labelled but kept out of train.txt; LiDAR teacher: "
        "sweeps left out (kept unseen for evaluation)",
    )
    _add_real(p, "unlabelled real KITTI-layout root (repeatable)")
    add_options(p, "--out", required=("--out",), out="pseudo-labelled root to write")
    p.add_argument("--car-score", type=float, default=0.6, help="Car label from this score")
    p.add_argument(
        "--person-score", type=float, default=0.5, help="Pedestrian / Cyclist label from this score"
    )
    p.add_argument(
        "--ignore-score",
        type=float,
        default=0.2,
        help="3D DontCare region from this score (default 0.2)",
    )
    p.add_argument("--synth", type=Path, default=None, help="synthetic root to mix with")
    p.add_argument("--mix-out", type=Path, default=None, help="mixed root to write (links)")
    p.add_argument("--repeat", type=int, default=1, help="times each view is listed in train")
    p.set_defaults(func=_cmd_pseudo)


def _register_adapt_bn(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "sim2real-adapt-bn",
        "re-estimate a LiDAR detector's BatchNorm statistics on unlabelled real sweeps (AdaBN)",
        _ADAPT_EXAMPLE, description=ADAPT_DESCRIPTION,
    )  # fmt: skip
    p.add_argument("--checkpoint", type=Path, required=True, help="the detector to adapt")
    _add_real(p, "unlabelled real KITTI-layout root (repeatable)")
    p.add_argument("--out", type=Path, required=True, help="adapted weight file to write")
    p.add_argument(
        "--rotations",
        type=csv_list(float),
        default=None,
        help="views per sweep: turns about z in degrees (default 0,45,...,315)",
    )
    p.add_argument(
        "--min-points", type=int, default=None, help="skip sweeps with fewer points (20000)"
    )
    add_options(p, "--threads")
    p.set_defaults(func=_cmd_adapt_bn)
