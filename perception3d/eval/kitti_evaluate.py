"""``evaluate_kitti`` (AP of every class, difficulty, metric and overlap set) and
``match_frame`` (one frame's TP/FP/FN, for pictures); ``perception3d.eval.kitti`` re-exports
them.

Example:
    >>> from dataclasses import replace
    >>> from perception3d.data.kitti import read_label_file
    >>> labels = read_label_file("tests/data/kitti_samples/training/label_2/000008.txt")
    >>> pred = [replace(o, score=1.0) for o in labels if not o.is_dontcare]
    >>> frames = [f"{i:06d}" for i in range(50)]  # 50 copies: >= 41 cars at each difficulty
    >>> result = evaluate_kitti({f: labels for f in frames}, {f: pred for f in frames})
    >>> result["Car"]["R40"]["3d@0.7"], result["Car"]["R11"]["bbox@0.7"]
    ([100.0, 100.0, 100.0], [100.0, 100.0, 100.0])
    >>> result["meta"]["gt_counted"]["Car"]
    {'easy': 50, 'moderate': 200, 'hard': 200}
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from perception3d.data.kitti import KittiObject
from perception3d.eval.kitti_ap import (
    all_point_ap,
    all_point_counts,
    ap_r11,
    ap_r40,
    counts_at_score,
    curves_for,
)
from perception3d.eval.kitti_frames import (
    Objects,
    dontcare_overlap,
    flatten,
    frame_overlap,
    keeps_for_classes,
)
from perception3d.eval.kitti_matching import frame_counts
from perception3d.eval.kitti_protocol import (
    ALPHA_UNKNOWN,
    CLASSES,
    COUNTED,
    DIFFICULTIES,
    MIN_OVERLAPS,
    check_class,
    difficulty_index,
    gt_flags,
    min_overlap,
    pred_flags,
)


def metric_keys(class_name: str) -> list[tuple[str, str, float]]:
    """(JSON key, metric, min overlap) of a class, in the result's order.

    Example:
        >>> [key for key, _, _ in metric_keys("Car")]
        ['bbox@0.7', 'aos@0.7', 'bev@0.7', '3d@0.7', 'bev@0.5', '3d@0.5']
    """
    keys: dict[str, tuple[str, float]] = {}
    for bbox_thr, bev_thr, d3_thr in MIN_OVERLAPS[check_class(class_name)]:
        for metric, thr in (
            ("bbox", bbox_thr),
            ("aos", bbox_thr),
            ("bev", bev_thr),
            ("3d", d3_thr),
        ):
            keys.setdefault(f"{metric}@{thr:g}", (metric, thr))
    return [(key, metric, thr) for key, (metric, thr) in keys.items()]


def r40_cap(num_objects: int) -> float:
    """The highest AP_R40 (percent) that ``num_objects`` counted objects allow: the curve has
    one point per true positive, so N <= 40 objects all found give (N - 1) / 40.

    Example:
        >>> r40_cap(7), r40_cap(41)
        (15.0, 100.0)
    """
    if num_objects > 40:
        return 100.0
    return 100.0 * max(num_objects - 1, 0) / 40


def _check_objects(frame_id: str, objects: Sequence[KittiObject], what: str, need_score: bool):
    """Raise ``TypeError`` / ``ValueError`` naming the frame and item of a bad object."""
    for index, obj in enumerate(objects):
        where = f"{what} of frame {frame_id!r}, item {index}"
        if not isinstance(obj, KittiObject):
            raise TypeError(f"{where}: expected a KittiObject, got {type(obj).__name__}")
        if need_score and obj.score is None:
            raise ValueError(f"{where} ({obj.type}): has no score (a result row's 16th column)")
        x1, y1, x2, y2 = obj.bbox
        if x2 < x1 or y2 < y1:
            raise ValueError(
                f"{where} ({obj.type}): bbox must have x2 >= x1 and y2 >= y1, got {obj.bbox}"
            )


def evaluate_kitti(
    gt: Mapping[str, Sequence[KittiObject]],
    pred: Mapping[str, Sequence[KittiObject]],
    classes: Sequence[str] = CLASSES,
    score_threshold: float | None = None,
) -> dict:
    """Evaluate predictions against ground truth with the official KITTI protocol.

    Args:
        gt: frame id -> label rows (DontCare included); its ids are the evaluated frames.
        pred: frame id -> detections (``score`` set); a frame missing here has no detections,
            ids not in ``gt`` are left out.
        classes: any of "Car", "Pedestrian", "Cyclist".
        score_threshold: also count TP / FP / FN, precision and recall of the detections
            scoring at least this (``"at_score"``); None: not computed.

    Returns:
        ``{class: {"R40": {"bbox@0.7": [easy, moderate, hard], "aos@0.7": ..., ...},
        "R11": {...}, "all_point": {...}}, ..., "meta": {...}}``, AP in percent (see
        ``metric_keys`` for the keys). ``all_point`` (no aos keys) is the uncapped all-point AP
        over the true recall (``kitti_ap.all_point_ap``); with ``score_threshold``, a class also
        has ``"at_score": {key: [counts per difficulty]}`` (``kitti_ap.counts_at_score``).
        ``aos@...`` lists are ``None`` when a prediction has alpha = -10 (orientation not
        estimated; the devkit then skips AOS too). ``meta``: ``frames``, ``objects`` (ground
        truth objects, DontCare excluded), ``predictions``, ``seconds``, ``classes``,
        ``gt_counted`` (class -> difficulty -> objects counted), ``r40_cap`` (class ->
        difficulty -> the highest AP_R40 that n objects allow: 100 * (n - 1) / 40 up to 40
        objects, else 100), ``score_threshold``, ``aos``,
        ``frames_without_predictions``, ``prediction_frames_not_in_gt``.

    Raises:
        ValueError: no frames, an unknown class, a prediction without score, an inverted bbox.
    """
    start_time = time.perf_counter()
    classes = [check_class(c) for c in classes]
    frame_ids, gt_objects, dt_objects, flat = _flat_inputs(gt, pred, classes)
    with_aos = not bool(np.any(dt_objects.alpha == ALPHA_UNKNOWN))
    result: dict = {}
    gt_counted: dict = {}
    for class_name in classes:
        result[class_name], gt_counted[class_name] = _class_tables(
            class_name, gt_objects, dt_objects, flat, score_threshold, with_aos
        )
    result["meta"] = {
        "frames": len(frame_ids),
        "objects": sum(1 for key in gt for o in gt[key] if not o.is_dontcare),
        "predictions": len(dt_objects.types),
        "seconds": time.perf_counter() - start_time,
        "classes": classes,
        "gt_counted": gt_counted,
        "r40_cap": {
            c: {d: r40_cap(n) for d, n in per_diff.items()} for c, per_diff in gt_counted.items()
        },
        "score_threshold": score_threshold,
        "aos": with_aos,
        "frames_without_predictions": sum(1 for key in gt if key not in pred),
        "prediction_frames_not_in_gt": sum(1 for key in pred if key not in gt),
    }
    return result


def _flat_inputs(gt, pred, classes: list[str]):
    """Checked, flattened ground truth (kept for ``classes``), DontCare boxes and detections:
    ``(frame_ids, gt_objects, dt_objects, flat)``."""
    frame_ids = [str(k) for k in gt]
    if not frame_ids:
        raise ValueError("gt has no frames to evaluate")
    gt_lists, dc_lists, dt_lists = [], [], []
    for fid, key in zip(frame_ids, gt):
        objects = list(gt[key])
        _check_objects(fid, objects, "ground truth", need_score=False)
        keep = keeps_for_classes(objects, classes)
        gt_lists.append([o for o, k in zip(objects, keep) if k])
        dc_lists.append([o.bbox for o in objects if o.is_dontcare])
        detections = list(pred.get(key, ()))
        _check_objects(fid, detections, "predictions", need_score=True)
        dt_lists.append(detections)
    gt_objects, dt_objects = Objects.concat(gt_lists), Objects.concat(dt_lists)
    dc_start = np.zeros(len(frame_ids) + 1, dtype=np.int64)
    np.cumsum([len(d) for d in dc_lists], out=dc_start[1:])
    dc_bbox = np.array([b for d in dc_lists for b in d], dtype=np.float64).reshape(-1, 4)
    return frame_ids, gt_objects, dt_objects, flatten(gt_objects, dt_objects, dc_bbox, dc_start)


def _class_tables(class_name: str, gt_objects, dt_objects, flat, score_threshold, with_aos):
    """One class's AP tables (R40, R11, all_point, at_score) per metric key and difficulty,
    and its counted ground-truth objects per difficulty."""
    keys = metric_keys(class_name)
    per_point = {"R40": {key: [] for key, _, _ in keys}, "R11": {key: [] for key, _, _ in keys}}
    box_keys = [(key, metric, thr) for key, metric, thr in keys if metric != "aos"]
    per_point["all_point"] = {key: [] for key, _, _ in box_keys}
    if score_threshold is not None:
        per_point["at_score"] = {key: [] for key, _, _ in box_keys}
    counted = {}
    for difficulty, diff_name in enumerate(DIFFICULTIES):
        gt_flag = gt_flags(
            gt_objects.types,
            gt_objects.bbox,
            gt_objects.occluded,
            gt_objects.truncated,
            class_name,
            difficulty,
        )
        dt_flag = pred_flags(dt_objects.types, dt_objects.bbox, class_name, difficulty)
        counted[diff_name] = int(np.count_nonzero(gt_flag == COUNTED))
        curves: dict[tuple[str, float], tuple[np.ndarray, np.ndarray]] = {}
        for key, metric, thr in keys:
            base = "bbox" if metric == "aos" else metric
            if (base, thr) not in curves:
                curves[base, thr] = curves_for(flat[base], gt_flag, dt_flag, thr, base == "bbox")
            curve = curves[base, thr][1 if metric == "aos" else 0]
            per_point["R40"][key].append(ap_r40(curve))
            per_point["R11"][key].append(ap_r11(curve))
        for key, metric, thr in box_keys:
            args = (flat[metric], gt_flag, dt_flag, thr, metric == "bbox")
            per_point["all_point"][key].append(all_point_ap(all_point_counts(*args)))
            if score_threshold is not None:
                per_point["at_score"][key].append(counts_at_score(*args, score_threshold))
    if not with_aos:
        for table in per_point.values():
            for key in table:
                if key.startswith("aos@"):
                    table[key] = None
    return per_point, counted


@dataclass(frozen=True)
class FrameMatch:
    """How one frame's predictions and ground truth match under the protocol.

    Attributes:
        pred_status: (P,) str "tp" / "fp" / "ignored", aligned with the predictions given.
        gt_status: (G,) str "tp" / "fn" / "ignored", aligned with the ground truth given
            (other classes, DontCare, neighbour classes and objects outside the difficulty
            are "ignored").
        pred_to_gt: (P,) int64 index of the matched ground truth object, -1 for none.
        gt_to_pred: (G,) int64 index of the matched prediction, -1 for none.
        in_dontcare: (P,) bool, absorbed by a DontCare region (2D metric only).
        overlaps: (P, G) float64 the metric's overlaps (0 with DontCare rows).
        min_overlap: a match needs an overlap strictly above it.
    """

    pred_status: np.ndarray
    gt_status: np.ndarray
    pred_to_gt: np.ndarray
    gt_to_pred: np.ndarray
    in_dontcare: np.ndarray
    overlaps: np.ndarray
    min_overlap: float


def match_frame(
    gt_objects: Sequence[KittiObject],
    pred_objects: Sequence[KittiObject],
    class_name: str,
    metric: str = "3d",
    difficulty: str = "moderate",
    overlap: float | None = None,
) -> FrameMatch:
    """Match one frame's predictions to its ground truth for one class, as the protocol does
    with every given prediction counted (no score threshold).

    Args:
        gt_objects: the frame's label rows (DontCare included).
        pred_objects: its detections (``score`` may be None: scores do not change the match).
        class_name: "Car", "Pedestrian" or "Cyclist".
        metric: "bbox", "aos" (same matches as "bbox"), "bev" or "3d".
        difficulty: "easy", "moderate" or "hard".
        overlap: minimum overlap; default the class's benchmark value (overlap set 0).

    Example:
        >>> from perception3d.data.kitti import read_label_file
        >>> gt = read_label_file("tests/data/kitti_samples/training/label_2/000008.txt")
        >>> m = match_frame(gt, [gt[1]], "Car")  # gt[0] is 88 % truncated: ignored
        >>> m.pred_status.tolist(), m.gt_status.tolist()[:4]
        (['tp'], ['ignored', 'tp', 'ignored', 'fn'])
    """
    check_class(class_name)
    level = difficulty_index(difficulty)
    threshold = min_overlap(class_name, metric) if overlap is None else float(overlap)
    base = "bbox" if metric == "aos" else metric
    _check_objects("<match_frame>", gt_objects, "ground truth", need_score=False)
    _check_objects("<match_frame>", pred_objects, "predictions", need_score=False)
    gt_obj = Objects.concat([gt_objects])
    dt_obj = Objects.concat([pred_objects])
    cared = np.array([not o.is_dontcare for o in gt_objects], dtype=bool)
    overlaps = np.zeros((len(pred_objects), len(gt_objects)))
    overlaps[:, cared] = frame_overlap(
        base, dt_obj.bbox, dt_obj.boxes_cam, gt_obj.bbox[cared], gt_obj.boxes_cam[cared]
    )
    dc_overlap = dontcare_overlap(dt_obj.bbox, gt_obj.bbox[~cared])
    gt_flag = gt_flags(
        gt_obj.types, gt_obj.bbox, gt_obj.occluded, gt_obj.truncated, class_name, level
    )
    dt_flag = pred_flags(dt_obj.types, dt_obj.bbox, class_name, level)
    num_pred, num_gt = len(pred_objects), len(gt_objects)
    gt_to_pred = np.zeros(num_gt, dtype=np.int64)
    taken, in_dontcare = np.zeros(num_pred, dtype=bool), np.zeros(num_pred, dtype=bool)
    frame_counts(
        overlaps, dc_overlap, gt_flag, dt_flag, np.zeros(num_pred), gt_obj.alpha, dt_obj.alpha,
        base == "bbox", threshold, -np.inf, taken, gt_to_pred, in_dontcare,
    )  # fmt: skip
    pred_to_gt = np.full(num_pred, -1, dtype=np.int64)
    matched = np.flatnonzero(gt_to_pred >= 0)
    pred_to_gt[gt_to_pred[matched]] = matched
    true_pos = (gt_to_pred >= 0) & (gt_flag == COUNTED)
    true_pos[true_pos] &= dt_flag[gt_to_pred[true_pos]] == COUNTED
    gt_status = np.where(gt_flag == COUNTED, "fn", "ignored").astype("<U7")
    gt_status[(gt_flag == COUNTED) & (gt_to_pred >= 0)] = "ignored"  # taken by an ignored det
    gt_status[true_pos] = "tp"
    pred_status = np.where((dt_flag == COUNTED) & (pred_to_gt < 0), "fp", "ignored").astype("<U7")
    pred_status[in_dontcare] = "ignored"
    pred_status[gt_to_pred[true_pos]] = "tp"
    return FrameMatch(
        pred_status=pred_status,
        gt_status=gt_status,
        pred_to_gt=pred_to_gt,
        gt_to_pred=gt_to_pred,
        in_dontcare=in_dontcare,
        overlaps=overlaps,
        min_overlap=threshold,
    )
