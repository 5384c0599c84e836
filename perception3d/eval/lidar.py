"""Average precision of LiDAR-frame boxes with any classes: BEV and 3D IoU, KITTI-style
interpolation, no camera and no difficulty levels (for the LiDAR-only dataset of
``perception3d.data.lidar_folder``).

The matching and AP steps are the KITTI protocol's (``kitti_matching``, ``kitti_ap``): per frame,
each ground truth box takes the best free detection of its class whose overlap is strictly
above the class's IoU threshold; up to 41 score thresholds sampled from the true positives;
precision made non-increasing; AP_R40 (recall points 1/40..1), AP_R11 (0, 0.1..1) and the
uncapped all-point AP. Every object counts (no DontCare regions, no ignored neighbours, no
height/occlusion/truncation filter), overlaps are the exact rotated BEV IoU and its product
with the z overlap (``geometry.iou.bev_iou_lidar``, ``iou3d_lidar``).

Example:
    >>> box = np.array([[10.0, 0, -1, 4, 2, 1.5, 0.3]])
    >>> gt = {"a": LidarLabels(box, np.array(["Crate"], object))}
    >>> pred = {"a": LidarLabels(box + 0.05, np.array(["Crate"], object), np.array([0.9]))}
    >>> result = evaluate_lidar(gt, pred, iou_thresholds=0.5)
    >>> result["Crate"]["3d"]["all_point"], result["Crate"]["num_gt"]
    (100.0, 1)
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np

from perception3d.data.lidar_folder import LidarLabels
from perception3d.eval import kitti_ap
from perception3d.eval.kitti_ap import FlatFrames
from perception3d.eval.kitti_evaluate import r40_cap
from perception3d.eval.kitti_protocol import COUNTED, IGNORED, OTHER
from perception3d.geometry.iou import bev_iou_lidar, iou3d_lidar

__all__ = ["METRICS", "evaluate_lidar", "format_lidar_table"]

METRICS = ("bev", "3d")
_OVERLAP = {"bev": bev_iou_lidar, "3d": iou3d_lidar}


def _flat(metric: str, gt: Sequence[LidarLabels], dt: Sequence[LidarLabels]) -> FlatFrames:
    """The frames' overlaps of ``metric`` in the flat layout of ``kitti_matching``."""
    blocks = []
    for g, d in zip(gt, dt):
        if len(g) and len(d):
            blocks.append(_OVERLAP[metric](d.boxes_lidar, g.boxes_lidar).ravel())
        else:
            blocks.append(np.zeros(len(g) * len(d)))
    sizes = np.array([b.size for b in blocks], dtype=np.int64)
    gt_start = np.concatenate([[0], np.cumsum([len(g) for g in gt])]).astype(np.int64)
    dt_start = np.concatenate([[0], np.cumsum([len(d) for d in dt])]).astype(np.int64)
    scores = [d.scores for d in dt if len(d)]
    return FlatFrames(
        overlap=np.concatenate([*blocks, np.zeros(0)]),
        ov_start=np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
        gt_start=gt_start,
        dt_start=dt_start,
        dc_start=np.zeros(len(gt) + 1, dtype=np.int64),  # no DontCare regions
        dc_overlap=np.zeros(0),
        dcov_start=np.zeros(len(gt), dtype=np.int64),
        dt_score=np.concatenate([*scores, np.zeros(0)]).astype(np.float64),
        gt_alpha=np.zeros(int(gt_start[-1])),
        dt_alpha=np.zeros(int(dt_start[-1])),
    )


def _flags(
    labels: Sequence[LidarLabels], class_name: str, ignored: Sequence[np.ndarray] | None = None
) -> np.ndarray:
    names = np.concatenate([np.asarray(x.names, dtype=object) for x in labels] + [np.zeros(0)])
    flags = np.where(names == class_name, COUNTED, OTHER).astype(np.int8)
    if ignored is not None:
        mask = np.concatenate([np.asarray(m, dtype=bool) for m in ignored] + [np.zeros(0, bool)])
        flags[(flags == COUNTED) & mask] = IGNORED
    return flags


def _masks(masks, frame_ids, labels, what: str) -> list[np.ndarray] | None:
    """Per-frame boolean masks of ``masks`` (frame id -> (M,) bool; a missing frame: none)."""
    if masks is None:
        return None
    out = []
    for fid, lab in zip(frame_ids, labels):
        m = np.asarray(masks.get(fid, np.zeros(len(lab), bool)), dtype=bool)
        if m.shape != (len(lab),):
            raise ValueError(f"frame {fid}: {what} has shape {m.shape}, expected ({len(lab)},)")
        out.append(m)
    return out


def _thresholds(classes: Sequence[str], iou_thresholds) -> dict[str, float]:
    if isinstance(iou_thresholds, Mapping):
        missing = [c for c in classes if c not in iou_thresholds]
        if missing:
            raise ValueError(f"no IoU threshold for classes {missing}")
        out = {c: float(iou_thresholds[c]) for c in classes}
    else:
        out = dict.fromkeys(classes, float(iou_thresholds))
    bad = {c: t for c, t in out.items() if not 0.0 <= t < 1.0}
    if bad:
        raise ValueError(f"IoU thresholds must be in [0, 1), got {bad}")
    return out


def evaluate_lidar(
    gt: Mapping[str, LidarLabels],
    pred: Mapping[str, LidarLabels],
    classes: Sequence[str] | None = None,
    iou_thresholds: float | Mapping[str, float] = 0.5,
    score_threshold: float | None = None,
    gt_ignored: Mapping[str, np.ndarray] | None = None,
    pred_ignored: Mapping[str, np.ndarray] | None = None,
) -> dict:
    """BEV and 3D AP per class of LiDAR-frame predictions.

    Args:
        gt: frame id -> ground truth boxes (``scores`` None); its ids are the evaluated frames.
        pred: frame id -> predictions (``scores`` set); a frame missing here has none.
        classes: classes to evaluate (default: every class of ``gt``, sorted).
        iou_thresholds: one IoU for all classes, or class -> IoU; a match needs more.
        score_threshold: also count TP / FP / FN, precision and recall at this score.
        gt_ignored, pred_ignored: frame id -> (M,) bool: objects (detections) that may be
            matched but count neither as TP, FN nor FP (KITTI's "ignored": another distance
            bin, another occlusion level, a neighbour class); a missing frame: none.

    Returns:
        ``{class: {"num_gt", "num_pred", "iou", "bev": {"R40", "R11", "all_point"[,
        "at_score"]}, "3d": {...}}, "meta": {"frames", "objects", "predictions", "classes",
        "r40_cap", "seconds", "score_threshold", "frames_without_predictions"}}``, AP in
        percent; ``r40_cap`` is the highest AP_R40 n objects allow (``kitti_evaluate.r40_cap``).

    Raises:
        ValueError: no frames, predictions without scores, a missing or invalid IoU threshold.
    """
    start = time.perf_counter()
    frame_ids = list(gt)
    if not frame_ids:
        raise ValueError("gt has no frames to evaluate")
    empty = LidarLabels(np.zeros((0, 7)), np.zeros(0, object), np.zeros(0))
    gt_list = [gt[f] for f in frame_ids]
    dt_list = [pred.get(f, empty) for f in frame_ids]
    for fid, d in zip(frame_ids, dt_list):
        if len(d) and d.scores is None:
            raise ValueError(f"frame {fid}: predictions need scores")
    if classes is None:
        classes = sorted({str(n) for g in gt_list for n in g.names})
    thresholds = _thresholds(classes, iou_thresholds)
    flat = {metric: _flat(metric, gt_list, dt_list) for metric in METRICS}
    result: dict = {}
    gt_masks = _masks(gt_ignored, frame_ids, gt_list, "gt_ignored")
    dt_masks = _masks(pred_ignored, frame_ids, dt_list, "pred_ignored")
    for name in classes:
        gt_flag, dt_flag = _flags(gt_list, name, gt_masks), _flags(dt_list, name, dt_masks)
        num_gt = int(np.count_nonzero(gt_flag == COUNTED))
        entry = {"num_gt": num_gt, "num_pred": int(np.count_nonzero(dt_flag == COUNTED))}
        entry["iou"] = thresholds[name]
        for metric in METRICS:
            args = (flat[metric], gt_flag, dt_flag, thresholds[name], False)
            precision, _ = kitti_ap.curves_for(*args)
            entry[metric] = {
                "R40": kitti_ap.ap_r40(precision),
                "R11": kitti_ap.ap_r11(precision),
                "all_point": kitti_ap.all_point_ap(kitti_ap.all_point_counts(*args)),
            }
            if score_threshold is not None:
                entry[metric]["at_score"] = kitti_ap.counts_at_score(*args, score_threshold)
        result[name] = entry
    result["meta"] = {
        "frames": len(frame_ids),
        "objects": sum(len(g) for g in gt_list),
        "predictions": sum(len(d) for d in dt_list),
        "classes": list(classes),
        "r40_cap": {c: r40_cap(result[c]["num_gt"]) for c in classes},
        "seconds": time.perf_counter() - start,
        "score_threshold": score_threshold,
        "frames_without_predictions": sum(1 for f in frame_ids if f not in pred),
    }
    return result


def format_lidar_table(result: dict) -> str:
    """A plain-text table: one row per class and metric, AP R40 / R11 / all-point."""
    lines = [f"{'class':<14} {'metric':<6} {'IoU':>5} {'R40':>7} {'R11':>7} {'all-pt':>7}  objects"]
    for name in result["meta"]["classes"]:
        entry = result[name]
        for metric in METRICS:
            ap = entry[metric]
            cap = result["meta"]["r40_cap"][name]
            lines.append(
                f"{name:<14} {metric:<6} {entry['iou']:>5.2f} {ap['R40']:>7.2f} {ap['R11']:>7.2f} "
                f"{ap['all_point']:>7.2f}  {entry['num_gt']} (R40 cap {cap:.1f}), "
                f"{entry['num_pred']} predicted"
            )
            if "at_score" in ap:
                c = ap["at_score"]
                lines.append(
                    f"{'':<14} {'':<6} at score >= {result['meta']['score_threshold']}: TP "
                    f"{c['tp']} FP {c['fp']} FN {c['fn']}, precision {c['precision']:.3f} "
                    f"recall {c['recall']:.3f}"
                )
    return "\n".join(lines)
