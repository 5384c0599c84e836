"""``perception3d sim2real-report``: real and synthetic sweeps side by side, every statistic with
its Jensen-Shannon distance, and what a detector does on both.

Outputs in the ``out`` folder: ``sim2real.json`` (everything), ``summary.json`` (the table of
distances and the detection headline), the PNGs of `figures.py` and ``report.html`` (summary,
detection tables and pictures in one page, `perception3d.viz.report`). See docs/sim2real.md.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_text
from perception3d.data.training_frames import held_out_check
from perception3d.experiments.sim2real import compare, detection, raydrop
from perception3d.experiments.sim2real.neighbours import NEIGHBOUR_RADIUS_M, PAIR_WITHIN_M
from perception3d.experiments.sim2real.objects import OVERHEAD_BAND_M
from perception3d.experiments.sim2real.stats import EDGES, OBJECT_CLASSES, sweep_statistics
from perception3d.experiments.sim2real.sweeps import RANGE_IMAGE_WIDTH, Sweep, load_sweeps
from perception3d.lidar.scanner import ScannerModel

__all__ = ["ReportOptions", "headline", "sim2real_report"]

_HIST_KEYS = (
    "range",
    "height_above_ground",
    "ground_cell_height",
    "range_noise",
    "intensity/ground",
    "intensity/standing",
    "intensity/background",
)
# summary-row values beside the distance: intensity's exact-0 bin beside the 0.05 bins;
# clearance's share of objects closer than compare.CLOSE_CLEARANCE_M; clearance and clutter
# medians (m; returns at 30 m); neighbours: objects counted and mean neighbours; car pairs:
# cars counted and the share side by side; overhead: objects counted and the share with at
# least compare.OVERHEAD_MIN_RETURNS returns over them
_EXTRA_KEYS = (
    "count_real",
    "count_synthetic",
    "mean_real",
    "mean_synthetic",
    "side_by_side_share_real",
    "side_by_side_share_synthetic",
    "overhead_share_real",
    "overhead_share_synthetic",
    "js_distance_005",
    "real_floor_005",
    "zero_share_real",
    "zero_share_synthetic",
    "close_share_real",
    "close_share_synthetic",
    "median_real",
    "median_synthetic",
)
# (class, metric key) of the detection headline
_HEADLINE = (
    ("Car", "bev@0.5"),
    ("Car", "3d@0.7"),
    ("Car", "bev@0.7"),
    ("Pedestrian", "bev@0.5"),
    ("Pedestrian", "3d@0.5"),
    ("Cyclist", "bev@0.5"),
    ("Cyclist", "3d@0.5"),
)


@dataclass(frozen=True)
class ReportOptions:
    """What to compare.

    Attributes:
        real_roots: KITTI-layout roots pooled into the real set (labelled frames feed the
            object and detection statistics, every frame the sensor statistics).
        synth_root: the synthetic root (use frames the detector did not train on).
        out: output folder.
        synth_frames: how many synthetic frames (the first ids of ``ImageSets/val.txt`` if it
            exists, else of ``training/velodyne``).
        min_points: sweeps with fewer points are skipped (subsampled clouds).
        config, checkpoint: a detector to run on both sets (config optional: the
            checkpoint's own is used).
        real_pred_dirs: instead of a detector, result files per real root (same order).
        synth_pred_dir: result files of the synthetic frames.
        score_threshold: for precision / recall and the false positives.
    """

    real_roots: tuple[Path, ...]
    synth_root: Path
    out: Path
    synth_frames: int = 100
    min_points: int = 5000
    config: Path | None = None
    checkpoint: Path | None = None
    real_pred_dirs: tuple[Path, ...] = field(default_factory=tuple)
    synth_pred_dir: Path | None = None
    score_threshold: float = 0.3

    def __post_init__(self) -> None:
        if not self.real_roots:
            raise ValueError("at least one real root is needed")
        if self.real_pred_dirs and len(self.real_pred_dirs) != len(self.real_roots):
            raise ValueError(
                f"give one prediction folder per real root: {len(self.real_roots)} roots, "
                f"{len(self.real_pred_dirs)} folders"
            )
        if self.checkpoint is not None and self.real_pred_dirs:
            raise ValueError("give a detector checkpoint or prediction folders, not both")


def _synth_ids(root: Path, frames: int) -> list[str] | None:
    split = root / "ImageSets" / "val.txt"
    if split.is_file():
        return [s.strip() for s in split.read_text().split() if s.strip()][:frames]
    return None


def _records(sweeps: list[Sweep]) -> list[dict]:
    scanner = ScannerModel.kitti_hdl64e(RANGE_IMAGE_WIDTH)
    cache: dict[bytes, np.ndarray] = {}
    out = []
    for s in sweeps:
        key = (
            s.calib.lidar_to_rect_matrix.tobytes()
            + s.calib.P2.tobytes()
            + np.array(s.image_hw).tobytes()
        )
        if key not in cache:
            cache[key] = raydrop.counted_cells(scanner, s.calib, s.image_hw)
        out.append(sweep_statistics(s, cache[key]))
    return out


def _summary_rows(stats: dict) -> list[dict]:
    rows = []

    def num(v: float) -> float | None:  # NaN (no data on a side) becomes null
        return round(v, 4) if np.isfinite(v) else None

    def add(name: str, entry: dict) -> None:
        row = {
            "statistic": name,
            "js_distance": num(entry["js_distance"]),
            "real_floor": num(entry["real_floor"]),
            "groups_real": entry["groups"][0],
            "groups_synthetic": entry["groups"][1],
        }
        for key in _EXTRA_KEYS:  # intensity: zero shares; clearance: close shares, medians
            if key in entry:
                row[key] = num(entry[key])
        rows.append(row)

    for cls, e in stats["objects"]["points_per_object"].items():
        add(f"points per object ({cls}, at 10 m)", e)
    for cls, e in stats["objects"]["reflectivity"].items():
        add(f"reflectivity ({cls} points)", e)
    for cls, e in stats["objects"]["height_in_box"].items():
        add(f"height in the box ({cls} points, objects >= {compare.FAR_OBJECT_M:g} m)", e)
    for cls, e in stats["objects"]["clearance"].items():
        add(f"clearance ({cls}, to standing returns)", e)
    for cls, e in stats["objects"]["clutter"].items():
        add(f"clutter within 2 m ({cls}, returns at 30 m)", e)
    low, high = OVERHEAD_BAND_M
    for cls, e in stats["objects"]["overhead"].items():
        add(f"returns overhead ({cls}, {low:g}-{high:g} m above the box)", e)
    for cls, e in stats["objects"]["neighbours"].items():
        add(f"neighbours within {NEIGHBOUR_RADIUS_M[cls]:g} m ({cls}, same class)", e)
    if "car_pairs" in stats["objects"]:
        add(f"nearest car within {PAIR_WITHIN_M:g} m: side by side", stats["objects"]["car_pairs"])
    for key in _HIST_KEYS:
        add(key.replace("intensity/", "reflectivity: ").replace("_", " "), stats["histograms"][key])
    rd = stats["ray_drop"]
    add("empty cells over beams", rd["empty_per_beam"])
    add("holes vs range", rd["holes_vs_range"])
    add("holes vs incidence", rd["holes_vs_incidence"])
    return rows


def headline(result: dict, frames: int) -> dict:
    """Per headline metric (moderate): all-point AP, AP_R40 with its cap and the object
    count, and TP / FP / FN, precision, recall and false positives per frame at the score
    threshold."""
    out = {}
    for cls, key in _HEADLINE:
        if cls not in result:
            continue
        r = result[cls]
        entry = {
            "ap_all": round(r["all_point"][key][1], 2),
            "ap_r40": round(r["R40"][key][1], 2),
            "r40_cap": result["meta"]["r40_cap"][cls]["moderate"],
            "objects": result["meta"]["gt_counted"][cls]["moderate"],
        }
        if "at_score" in r:
            at = r["at_score"][key][1]
            entry.update({k: at[k] for k in ("tp", "fp", "fn")})
            entry["precision"] = round(at["precision"], 3)
            entry["recall"] = round(at["recall"], 3)
            entry["fp_per_frame"] = round(at["fp"] / max(frames, 1), 2)
        out[f"{cls} {key}"] = entry
    return out


def _detection(opts: ReportOptions, real: list[Sweep], synth: list[Sweep], records: dict) -> dict:
    """Predictions (detector or result files) on the labelled sweeps, their evaluation and the
    false positives' kinds; ``records``: set -> [(sweep, its statistics)]."""
    sets = {"real": [s for s in real if s.labelled], "synthetic": [s for s in synth if s.labelled]}
    preds: dict[str, dict] = {}
    if opts.checkpoint is not None:
        preds = {
            k: detection.predict_sweeps(v, opts.config, opts.checkpoint) for k, v in sets.items()
        }
    elif opts.real_pred_dirs:
        preds["real"] = detection.read_prediction_dirs(
            real, dict(zip(opts.real_roots, opts.real_pred_dirs))
        )
        if opts.synth_pred_dir is not None:
            preds["synthetic"] = detection.read_prediction_dirs(
                synth, {opts.synth_root: opts.synth_pred_dir}
            )
    if not preds:
        return {}
    synth_ids = [s.frame_id for s in sets["synthetic"]]
    out: dict = {
        "trained_on_evaluated_frames": held_out_check(
            [opts.checkpoint], opts.synth_root, synth_ids
        ),
        "score_threshold": opts.score_threshold,
        "results": {},
        "headline": {},
        "false_positives": {},
    }
    for name, p in preds.items():
        result = detection.detection_summary(sets[name], p, OBJECT_CLASSES, opts.score_threshold)
        if not result:
            continue
        frames = result["meta"]["frames"]
        out["results"][name] = result
        out["headline"][name] = headline(result, frames)
        ground = {detection.sweep_key(s): r["ground_coeffs"] for s, r in records[name]}
        out["false_positives"][name] = detection.false_positive_kinds(
            sets[name], p, ground, OBJECT_CLASSES, opts.score_threshold
        )
    return out


def _load_sets(opts: ReportOptions) -> tuple[list[Sweep], list[Sweep], list[str]]:
    """The real sweeps (every root pooled), the synthetic ones and the skipped
    ``root/frame`` names (too few points)."""
    real, skipped = [], []
    for root in opts.real_roots:
        got, sk = load_sweeps(root, "real", min_points=opts.min_points)
        real += got
        skipped += [f"{root}/{s}" for s in sk]
    synth, sk = load_sweeps(
        opts.synth_root,
        "synthetic",
        _synth_ids(opts.synth_root, opts.synth_frames),
        opts.min_points,
        opts.synth_frames,
    )
    skipped += [f"{opts.synth_root}/{s}" for s in sk]
    if not real or not synth:
        raise FileNotFoundError(f"no sweeps to compare ({len(real)} real, {len(synth)} synthetic)")
    return real, synth, skipped


def _statistics(opts: ReportOptions, real: list[Sweep], synth: list[Sweep], skipped) -> dict:
    """Every statistic of both sets, their distances, the detection and the summary rows
    (the content of ``sim2real.json``)."""
    pairs = {
        "real": list(zip(real, _records(real))),
        "synthetic": list(zip(synth, _records(synth))),
    }
    records = {k: [r for _, r in v] for k, v in pairs.items()}
    labelled = {k: [r for r in v if r["labelled"]] for k, v in records.items()}
    stats = {
        "sets": {
            "real": {
                "roots": [str(r) for r in opts.real_roots],
                "frames": len(real),
                "labelled": len(labelled["real"]),
                "ids": [s.frame_id for s in real],
            },
            "synthetic": {
                "root": str(opts.synth_root),
                "frames": len(synth),
                "labelled": len(labelled["synthetic"]),
            },
            "skipped": skipped,
        },
        "edges": {k: np.asarray(v).tolist() for k, v in EDGES.items()},
        "histograms": compare.compare_histograms(records["real"], records["synthetic"], _HIST_KEYS),
        "objects": compare.compare_objects(labelled["real"], labelled["synthetic"], OBJECT_CLASSES),
        "ray_drop": compare.compare_ray_drop(records["real"], records["synthetic"]),
        "ground": {k: compare.ground_summary(v) for k, v in records.items()},
    }
    stats["detection"] = _detection(opts, real, synth, pairs)
    stats["summary"] = _summary_rows(stats)
    return stats


def _ground_headline(ground: dict) -> dict:
    """Means of the ground fit's figures over a set's frames; for the curve ahead, whose mean
    is near 0 on any set, its root mean square (``curve_rms_per_m``)."""
    out = {m: round(v["mean"], 3) for m, v in ground.items() if m != "curve_per_m"}
    out["curve_rms_per_m"] = round(ground["curve_per_m"]["rms"], 7)
    return out


def _summary(stats: dict, seconds: float) -> dict:
    """The headline of ``stats`` (``summary.json``): sets, distances, ground, empty cells,
    detection and false positives per frame."""
    return {
        "sets": {k: v for k, v in stats["sets"].items() if k != "skipped"},
        "distances": stats["summary"],
        "ground": {k: _ground_headline(v) for k, v in stats["ground"].items()},
        "empty_share": {
            k: round(stats["ray_drop"][f"empty_share_{k}"], 4) for k in ("real", "synthetic")
        },
        "detection": stats["detection"].get("headline", {}),
        "trained_on_evaluated_frames": stats["detection"].get("trained_on_evaluated_frames", []),
        "false_positives_per_frame": {
            name: {
                cls: {
                    kind: round(n / max(e["frames"], 1), 2) for kind, n in e["counts"].items() if n
                }
                for cls, e in per.items()
            }
            for name, per in stats["detection"].get("false_positives", {}).items()
        },
        "seconds": round(seconds, 1),
    }


def sim2real_report(opts: ReportOptions, progress: bool = True) -> dict:
    """Compute every statistic, write ``sim2real.json``, ``summary.json``, the PNGs and
    ``report.html`` to ``opts.out``; return the summary."""
    from perception3d.experiments.sim2real.figures import write_figures
    from perception3d.viz.report import build_report

    t0 = time.perf_counter()
    real, synth, skipped = _load_sets(opts)
    if progress:
        print(f"sim2real-report: {len(real)} real and {len(synth)} synthetic sweeps")
    stats = _statistics(opts, real, synth, skipped)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "sim2real.json", json.dumps(stats, indent=1, default=float) + "\n")
    summary = _summary(stats, time.perf_counter() - t0)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    figures = write_figures(stats, out)
    build_report(
        [out / "summary.json", *figures], out / "report.html", "perception3d sim-to-real report"
    )
    return summary
