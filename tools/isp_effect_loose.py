"""The loose-overlap APs of an ``isp-effect`` run (docs/isp_effect.md): the experiment scores
KITTI's strict overlaps (Car 0.7); this adds the evaluator's second overlap set (Car 0.5,
Pedestrian / Cyclist 0.25), all-point AP at moderate difficulty, BEV and 3D, for every row,
with the run's own bootstrap (the same frame resamples: ``bootstrap``, ``bootstrap_seed`` and
``confidence`` of its config), from the run's cached result files (``work/pred/...``).

    python tools/isp_effect_loose.py OUT_DIR [--detector frustum_pointnet] \
        [--diff lowlight_3e-3:learned:classical ...]

OUT_DIR: the run's ``--out`` (its ``isp_effect.json`` names the frames and the KITTI root).
``--diff CONDITION:A:B`` also prints AP(A) - AP(B) of ``--detector``'s rows of that condition
(``lidar_only`` names the floor) with a paired interval (the same resamples for both).
Writes ``OUT_DIR/loose_overlap.json`` and prints a markdown table. Each row's result files are
checked against the run: their strict Car BEV all-point AP must equal the JSON's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_text
from perception3d.data.kitti_labels import read_label_file
from perception3d.eval.kitti import evaluate_kitti, read_predictions
from perception3d.experiments.isp_effect_stats import _resampled, percentile_interval

CLASSES = ("Car", "Pedestrian", "Cyclist")
LOOSE = {"Car": 0.5, "Pedestrian": 0.25, "Cyclist": 0.25}


def pred_dir(work: Path, row: dict) -> Path:
    """Where :func:`perception3d.experiments.isp_effect.run_isp_effect` cached a row's results."""
    if row["detector"] == "lidar_only":
        return work / "pred" / "lidar_only" / row["lidar"]
    key = f"reference_{row['lidar']}" if row["isp"] == "reference" else (
        f"{row['condition']}_{row['isp']}")  # fmt: skip
    sub = ("frustum_pointnet",) if row["detector"] == "frustum_pointnet" else ()
    return work.joinpath("pred", *sub, key)


def loose_aps(gt: dict, pred: dict) -> dict[str, float]:
    """All-point AP (moderate) at the loose overlap, BEV and 3D, per class."""
    res = evaluate_kitti(gt, pred, CLASSES)
    return {f"{m}_{c}": float(res[c]["all_point"][f"{m}@{LOOSE[c]}"][1])
            for c in CLASSES for m in ("bev", "3d")}  # fmt: skip


def paired_difference(samples: dict, spec: str, confidence: float) -> dict:
    """``CONDITION:A:B``: AP(A) - AP(B) per key with the percentile interval of the paired
    bootstrap differences; printed, and returned for the JSON."""
    cond, a, b = spec.split(":")
    (fa, ba), (fb, bb) = samples[cond, a], samples[cond, b]
    out = {"diff": spec}
    for j, k in enumerate(fa):
        lo, hi = percentile_interval(ba[:, j] - bb[:, j], confidence)
        out[k] = [fa[k] - fb[k], lo, hi]
    shown = [f"{k} {v[0]:+.1f} [{v[1]:+.1f}, {v[2]:+.1f}]" for k, v in out.items() if k != "diff"]
    print(f"{spec}: " + ", ".join(shown))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--detector", default=None, help="only this detector's rows (and the floor)")
    ap.add_argument("--diff", nargs="*", default=[], help="CONDITION:A:B paired differences")
    args = ap.parse_args()
    summary = json.loads((args.out_dir / "isp_effect.json").read_text())
    cfg, ids = summary["config"], summary["frames"]
    root = Path(cfg["data"]["root"])
    gt = {i: read_label_file(root / "training/label_2" / f"{i}.txt", allow_score=False)
          for i in ids}  # fmt: skip
    rng = np.random.default_rng(cfg["bootstrap_seed"])  # the experiment's resamples
    picks = rng.integers(0, len(ids), size=(cfg["bootstrap"], len(ids)))
    out, samples = [], {}
    for row in summary["rows"]:
        if args.detector and row["detector"] not in (args.detector, "lidar_only"):
            continue
        folder = pred_dir(args.out_dir / "work", row)
        pred = {i: read_predictions(folder / f"{i}.txt") for i in ids}
        full = loose_aps(gt, pred)
        strict = evaluate_kitti(gt, pred, CLASSES)["Car"]["all_point"]["bev@0.7"][1]
        if abs(strict - row["metrics"]["bev_all_Car"]) > 1e-6:  # not the row's result files
            raise SystemExit(f"{folder}: Car BEV@0.7 {strict:.3f} here, "
                             f"{row['metrics']['bev_all_Car']:.3f} in isp_effect.json")  # fmt: skip
        boot = np.array([list(loose_aps(_resampled(gt, ids, p), _resampled(pred, ids, p)).values())
                         for p in picks])  # fmt: skip
        ci = {k: percentile_interval(boot[:, j], cfg["confidence"]) for j, k in enumerate(full)}
        out.append({k: row[k] for k in ("condition", "detector", "isp")} | {"ap": full, "ci": ci})
        samples[row["condition"], row["isp"]] = (full, boot)
        cells = " | ".join(f"{full[k]:.1f} [{ci[k][0]:.1f}, {ci[k][1]:.1f}]"
                           for k in ("bev_Car", "3d_Car", "bev_Pedestrian"))  # fmt: skip
        print(f"| {row['condition']} | {row['detector']} | {row['isp']} | {cells} |")
    diffs = [paired_difference(samples, spec, cfg["confidence"]) for spec in args.diff]
    doc = {"overlaps": LOOSE, "metric": "all-point AP, moderate", "frames": ids, "rows": out,
           "diffs": diffs}  # fmt: skip
    atomic_write_text(args.out_dir / "loose_overlap.json", json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
