"""Numbers and outputs of the ISP-effect experiment: KITTI AP_R40 (moderate) per row with
paired percentile-bootstrap intervals over frames, the markdown table (one per fused detector),
the plot, the JSON and the HTML report.

A row is one (condition, detector, image source); ``detector`` is ``pointpainting``,
``frustum_pointnet`` or ``lidar_only`` (image source ``lidar_only``: the floor of every fused
detector in its condition)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_text
from perception3d.data.kitti import read_label_file
from perception3d.eval.kitti import evaluate_kitti, metric_keys, read_predictions
from perception3d.eval.kitti_evaluate import r40_cap

CLASSES = ("Car", "Pedestrian", "Cyclist")
MODERATE = 1
FLOOR = "lidar_only"
DETECTOR_TITLES = {
    "pointpainting": "PointPainting (segmentation -> painted PointPillars-lite)",
    "frustum_pointnet": "Frustum PointNet (2D detector -> LiDAR frustums -> PointNets)",
}


def headline(result: dict) -> dict[str, float]:
    """Moderate AP of the first (strict) overlap set, in percent: the official AP_R40
    (``3d_<class>``, ``bev_<class>``, class means ``map_3d``, ``map_bev``) and the uncapped
    all-point AP over the true recall (``3d_all_<class>``, ``bev_all_<class>``,
    ``bbox_all_<class>`` (2D boxes), class means ``map_all_3d``, ``map_all_bev``,
    ``map_all_bbox`` over the classes with at least one counted object when
    ``result["meta"]`` says how many), which a class with fewer than 40 objects needs: its
    AP_R40 cannot exceed (n - 1) / 40.

    Example:
        >>> r = {c: {"R40": {k: [0, 10.0 * i, 0] for i, (k, _, _) in enumerate(metric_keys(c))},
        ...          "all_point": {k: [0, 50.0, 0] for k, _, _ in metric_keys(c)}}
        ...      for c in CLASSES}
        >>> h = headline(r)
        >>> h["map_3d"], h["bev_Car"], h["map_all_3d"]
        (30.0, 20.0, 50.0)
    """
    counted = result.get("meta", {}).get("gt_counted")
    present = [c for c in CLASSES if counted is None or counted[c]["moderate"] > 0] or CLASSES
    out: dict[str, float] = {}
    for points, infix, metrics in (("R40", "", ("3d", "bev")),
                                   ("all_point", "all_", ("3d", "bev", "bbox"))):  # fmt: skip
        for metric in metrics:
            values = {}
            for cls in CLASSES:
                key = next(k for k, m, _ in metric_keys(cls) if m == metric)  # strict first
                values[cls] = float(result[cls][points][key][MODERATE])
                out[f"{metric}_{infix}{cls}"] = values[cls]
            mean_over = CLASSES if points == "R40" else present  # the official mAP: all three
            out[f"map_{infix}{metric}"] = float(np.mean([values[c] for c in mean_over]))
    return out


def at_score(result: dict) -> dict[str, dict]:
    """Per class: TP, FP, FN, precision and recall of the 3D detections at the evaluation's
    score threshold (moderate, strict overlap)."""
    out = {}
    for cls in CLASSES:
        key = next(k for k, m, _ in metric_keys(cls) if m == "3d")
        out[cls] = result[cls]["at_score"][key][MODERATE]
    return out


def _resampled(data: dict, ids: list[str], picks: np.ndarray) -> dict:
    """``data`` (frame id -> rows) over the resampled frames, duplicates under new keys."""
    return {f"{ids[k]}#{j}": data.get(ids[k], []) for j, k in enumerate(picks)}


def bootstrap_headlines(gt: dict, pred: dict, ids: list[str], picks: np.ndarray) -> np.ndarray:
    """(B, K) headline numbers (``headline`` key order) of each resample of frame indices."""
    out = []
    for row in picks:
        out.append(
            list(
                headline(
                    evaluate_kitti(_resampled(gt, ids, row), _resampled(pred, ids, row), CLASSES)
                ).values()
            )
        )
    return np.asarray(out, dtype=np.float64)


def percentile_interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    """Two-sided percentile interval of bootstrap samples.

    Example:
        >>> [round(v, 6) for v in percentile_interval(np.arange(101.0), 0.9)]
        [5.0, 95.0]
    """
    lo = (1.0 - confidence) / 2.0
    return float(np.quantile(samples, lo)), float(np.quantile(samples, 1.0 - lo))


def summarize(
    cfg, ids: list[str], rows: list[dict], quality: dict, gt_dir: Path, samples: bool = False
) -> dict:
    """Evaluate every row (``condition``, ``detector``, ``isp``, ``pred_dir``, ``lidar``), with
    bootstrap intervals and differences to the LiDAR-only floor of the same condition (paired:
    the same frame resamples for all rows); ``samples``: keep each row's bootstrap values of
    mAP 3D (``map_3d_samples``) for other paired differences."""
    gt = {fid: read_label_file(gt_dir / f"{fid}.txt", allow_score=False) for fid in ids}
    rng = np.random.default_rng(cfg.bootstrap_seed)
    picks = rng.integers(0, len(ids), size=(cfg.bootstrap, len(ids)))
    threshold = getattr(cfg, "score_threshold", None)
    evaluated, counted = [], {}
    for row in rows:
        pred = {fid: read_predictions(Path(row["pred_dir"]) / f"{fid}.txt") for fid in ids}
        result = evaluate_kitti(gt, pred, CLASSES, score_threshold=threshold)
        counted = {c: result["meta"]["gt_counted"][c]["moderate"] for c in CLASSES}
        full = headline(result)
        boot = bootstrap_headlines(gt, pred, ids, picks) if cfg.bootstrap else None
        row = {**row, "at_score": at_score(result)} if threshold is not None else row
        evaluated.append((row, full, boot))
    floors = {r["condition"].name: b for r, _, b in evaluated if r["detector"] == FLOOR}
    floor_full = {r["condition"].name: f for r, f, _ in evaluated if r["detector"] == FLOOR}
    out_rows = []
    for row, full, boot in evaluated:
        cond = row["condition"]
        entry = {"condition": cond.name, "kind": cond.kind, "level": cond.level,
                 "detector": row["detector"], "isp": row["isp"], "lidar": row["lidar"],
                 "metrics": full}  # fmt: skip
        if "at_score" in row:
            entry["at_score"] = row["at_score"]
        if boot is not None:
            entry["ci"] = {
                k: percentile_interval(boot[:, j], cfg.confidence) for j, k in enumerate(full)
            }
            if row["detector"] != FLOOR:
                fb = floors[cond.name]
                k3 = list(full).index("map_3d")
                entry["delta_map_3d_vs_lidar"] = full["map_3d"] - floor_full[cond.name]["map_3d"]
                entry["delta_map_3d_ci"] = percentile_interval(
                    boot[:, k3] - fb[:, k3], cfg.confidence
                )
            if samples:
                entry["map_3d_samples"] = boot[:, list(full).index("map_3d")].tolist()
        q = quality.get((cond.name, row["isp"]))
        if q:
            entry["psnr_db"] = float(np.mean([v["psnr_db"] for v in q.values()]))
            entry["ssim"] = float(np.mean([v["ssim"] for v in q.values()]))
        out_rows.append(entry)
    return {
        "frames": ids,
        "num_frames": len(ids),
        "bootstrap": cfg.bootstrap,
        "confidence": cfg.confidence,
        "metric": "KITTI AP_R40, moderate, strict overlaps (Car 0.7, Ped/Cyc 0.5)",
        "objects": counted,
        "r40_cap": {c: r40_cap(n) for c, n in counted.items()},
        "score_threshold": threshold,
        "rows": out_rows,
    }


def _fmt(v, ci=None) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.1f}" if ci is None else f"{v:.1f} [{ci[0]:.1f}, {ci[1]:.1f}]"


def fused_detectors(summary: dict) -> list[str]:
    """The fused detectors of a summary's rows, in row order (the floor excluded)."""
    return list(dict.fromkeys(r["detector"] for r in summary["rows"] if r["detector"] != FLOOR))


def markdown_table(summary: dict) -> str:
    """One table of (condition, image source) rows per fused detector, each with the LiDAR-only
    floor rows; a title line above each table when there are several detectors. With the
    summary's object counts (``objects``), the class columns' headers state them and a class
    with fewer than 40 objects shows its all-point AP beside the capped AP_R40. The summary's
    ``notes`` (markdown strings) follow."""
    detectors = fused_detectors(summary)
    objects = summary.get("objects")
    tables = []
    for detector in detectors:
        rows = [r for r in summary["rows"] if r["detector"] in (detector, FLOOR)]
        title = f"**{DETECTOR_TITLES.get(detector, detector)}**\n\n" if len(detectors) > 1 else ""
        tables.append(title + _table(rows, objects))
        if summary.get("score_threshold") is not None:
            tables.append(_score_table(rows, summary["score_threshold"]))
    note = (
        f"\n{summary['num_frames']} {summary.get('scene_source', 'synthetic')} frames; "
        f"{summary['metric']}; intervals: "
        f"{100 * summary['confidence']:g} % percentile bootstrap over frames, "
        f"B = {summary['bootstrap']}; PSNR/SSIM of the displayed image vs the clean image_2.\n"
    )
    if objects:
        counts = ", ".join(f"{c} {n}" for c, n in objects.items())
        capped = [c for c, n in objects.items() if n < 40]
        note += f"Objects counted (moderate): {counts}."
        if capped:
            caps = ", ".join(f"{c} {summary['r40_cap'][c]:.1f}" for c in capped)
            note += (
                f" AP_R40 of a class with fewer than 40 objects is capped at (n - 1) / 40 ({caps});"
                " its cells give the uncapped all-point AP beside it as `R40 (all X)`, and "
                "`mAP 3D all-point` averages the all-point APs of the classes with objects."
            )
        note += "\n"
    seen = summary.get("trained_on_evaluated_frames") or []
    warning = "".join(f"**Warning: {m}.**\n\n" for m in seen)
    return warning + "\n".join(tables) + note + "".join(summary.get("notes", []))


def _class_cells(m: dict, metric: str, objects: dict | None) -> str:
    cells = []
    for c in CLASSES:
        cell = f"{m[f'{metric}_{c}']:.1f}"
        if objects is not None and objects[c] < 40 and f"{metric}_all_{c}" in m:
            cell += f" (all {m[f'{metric}_all_{c}']:.1f})"
        cells.append(cell)
    return " / ".join(cells)


def _table(rows: list[dict], objects: dict | None = None) -> str:
    n = "" if objects is None else " (n " + " / ".join(str(objects[c]) for c in CLASSES) + ")"
    with_all = objects is not None and any(v < 40 for v in objects.values())
    head = (
        "| condition | image source | PSNR dB | SSIM | mAP 3D [CI] | "
        + ("mAP 3D all-point [CI] | " if with_all else "")
        + f"mAP BEV [CI] | 3D Car / Ped / Cyc{n} | BEV Car / Ped / Cyc{n} | "
        "mAP 3D - LiDAR-only [CI] |\n" + "|---" * (10 if with_all else 9) + "|\n"
    )
    lines = []
    for r in rows:
        m, ci = r["metrics"], r.get("ci", {})
        delta = r.get("delta_map_3d_vs_lidar")
        ssim = r.get("ssim")
        all_cell = f"{_fmt(m.get('map_all_3d'), ci.get('map_all_3d'))} | " if with_all else ""
        lines.append(
            f"| {r['condition']} | {r['isp']} | {_fmt(r.get('psnr_db'))} | "
            f"{'-' if ssim is None else f'{ssim:.3f}'} | {_fmt(m['map_3d'], ci.get('map_3d'))} | "
            f"{all_cell}{_fmt(m['map_bev'], ci.get('map_bev'))} | "
            f"{_class_cells(m, '3d', objects)} | {_class_cells(m, 'bev', objects)} | "
            f"{_fmt(delta, r.get('delta_map_3d_ci')) if delta is not None else '-'} |"
        )
    return head + "\n".join(lines) + "\n"


def _score_table(rows: list[dict], threshold: float) -> str:
    """TP / FP / FN (precision, recall) per class of the 3D detections scoring >=
    ``threshold``, moderate, strict overlap."""
    head = (
        f"\nDetections scoring >= {threshold:g} (3D, moderate, strict overlap): "
        "TP / FP / FN per class\n\n"
        "| condition | image source | Car | Pedestrian | Cyclist |\n|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        if "at_score" not in r:
            continue
        cells = ["{tp} / {fp} / {fn}".format(**r["at_score"][c]) for c in CLASSES]
        lines.append(f"| {r['condition']} | {r['isp']} | " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


def _bars(ax, rows: list[dict], conds: list[str], sources: list[str], title: str) -> None:
    """Grouped bars of mAP 3D (with intervals) per condition, one colour per image source."""
    width = 0.8 / len(sources)
    for s, src in enumerate(sources):
        xs, ys, errs = [], [], [[], []]
        for c, cond in enumerate(conds):
            r = next((r for r in rows if r["condition"] == cond and r["isp"] == src), None)
            if r is None:
                continue
            v = r["metrics"]["map_3d"]
            lo, hi = r.get("ci", {}).get("map_3d", (v, v))
            xs.append(c + (s - (len(sources) - 1) / 2) * width)
            ys.append(v)
            errs[0].append(max(v - lo, 0.0))
            errs[1].append(max(hi - v, 0.0))
        ax.bar(xs, ys, width, yerr=errs, capsize=2, label=src, color=f"C{s}")
    ax.set_xticks(range(len(conds)), conds, rotation=20)
    ax.set_ylabel("mAP 3D AP_R40 moderate (%)")
    ax.legend(fontsize=8, ncol=len(sources))
    ax.set_title(title)


def plot(summary: dict, path: Path) -> Path:
    """Per fused detector, mAP 3D per condition and image source (with intervals, LiDAR-only
    floor beside); and mAP vs PSNR (colour: image source; marker: detector, filled for the
    first, hollow for the others)."""
    from perception3d.viz.figure import pyplot, save_figure

    plt = pyplot()

    rows = summary["rows"]
    detectors = fused_detectors(summary)
    conds = list(dict.fromkeys(r["condition"] for r in rows))
    sources = list(dict.fromkeys(r["isp"] for r in rows))
    fig, axes = plt.subplot_mosaic(
        [[d, "psnr"] for d in detectors],
        figsize=(13, 4.2 * len(detectors)),
        gridspec_kw={"width_ratios": [2, 1]},
    )
    for detector in detectors:
        name = DETECTOR_TITLES.get(detector, detector).split(" (")[0]
        _bars(axes[detector], [r for r in rows if r["detector"] in (detector, FLOOR)], conds,
              sources, f"{name} by image source; LiDAR-only floor")  # fmt: skip
    ax2 = axes["psnr"]
    markers = dict(zip(detectors, "o^sD"))
    for s, src in enumerate(sources):
        for detector in detectors:
            pts = [
                (r["psnr_db"], r["metrics"]["map_3d"])
                for r in rows
                if r["isp"] == src and r["detector"] == detector and "psnr_db" in r
            ]
            if pts:
                label = src if len(detectors) == 1 else f"{src}, {detector}"
                hollow = detector != detectors[0]  # visible over a coinciding filled marker
                ax2.scatter(
                    *zip(*pts), s=60 if hollow else 36, marker=markers[detector], label=label,
                    edgecolors=f"C{s}", facecolors="none" if hollow else f"C{s}",
                )  # fmt: skip
    ax2.set_xlabel("PSNR vs clean image_2 (dB)")
    ax2.set_ylabel("mAP 3D (%)")
    ax2.legend(fontsize=8)
    ax2.set_title("image quality vs detection")
    return save_figure(fig, path, dpi=110)


def write_outputs(summary: dict, out: Path) -> None:
    """``isp_effect.json``, ``isp_effect.md``, ``isp_effect.png`` and ``report.html``."""
    from perception3d.viz.report import build_report

    atomic_write_text(out / "isp_effect.json", json.dumps(summary, indent=1, default=str) + "\n")
    atomic_write_text(out / "isp_effect.md", markdown_table(summary))
    plot(summary, out / "isp_effect.png")
    names = [DETECTOR_TITLES.get(d, d).split(" (")[0] for d in fused_detectors(summary)]
    sources = [out / "isp_effect.md", out / "isp_effect.json", out / "isp_effect.png"]
    build_report(sources, out / "report.html",
                 f"perception3d ISP effect on {' and '.join(names)}")  # fmt: skip
