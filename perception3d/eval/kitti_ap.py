"""Average precision of one (class, difficulty, metric, overlap) from the flat frame arrays.

The steps of the devkit (``eval_class`` of the python port): collect the true positives'
scores, sample up to 41 score thresholds from them, count TP/FP/FN (and the orientation
similarity) at each, take precision = TP / (TP + FP) and AOS = similarity / (TP + FP),
make both non-increasing (each point the maximum over itself and all later points), pad to 41
points with zeros and average the R11 or R40 points.

Beside the official numbers, ``all_point_ap`` gives the area under the whole interpolated
precision-recall curve, with a threshold at every true positive's score (VOC 2010's all-point
AP, by the same matching rules): on a small set the official sampling caps AP_R40 at n / 40
(one sampled recall step per true positive), which this measure does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception3d.eval.kitti_matching import (
    counts_at_every_threshold,
    counts_at_thresholds,
    score_thresholds,
    true_positive_scores,
)
from perception3d.eval.kitti_protocol import COUNTED, NUM_SAMPLE_POINTS, R11_POINTS, R40_POINTS


@dataclass(frozen=True)
class FlatFrames:
    """Every frame's objects and overlaps of one metric, concatenated (see ``kitti_matching``).

    Attributes:
        overlap: (sum D_f * G_f,) float64 detection x ground truth overlaps, frame by frame.
        ov_start: (F,) int64 offset of each frame's block in ``overlap``.
        gt_start, dt_start, dc_start: (F + 1,) int64 row offsets of ground truth, detections
            and DontCare boxes.
        dc_overlap: (sum D_f * C_f,) float64 fraction of each detection's 2D box inside each
            DontCare box; dcov_start: (F,) offsets.
        dt_score: (D,) float64; gt_alpha: (G,), dt_alpha: (D,) observation angles, radians.
    """

    overlap: np.ndarray
    ov_start: np.ndarray
    gt_start: np.ndarray
    dt_start: np.ndarray
    dc_start: np.ndarray
    dc_overlap: np.ndarray
    dcov_start: np.ndarray
    dt_score: np.ndarray
    gt_alpha: np.ndarray
    dt_alpha: np.ndarray


def interpolated_curves(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision and orientation-similarity curves from per-threshold counts.

    Args:
        counts: (T, 4) [tp, fp, fn, similarity] at descending score thresholds, T <= 41.

    Returns:
        precision, aos: (41,) float64, each point the maximum over itself and all later points
        (interpolation), zero past T. A threshold with no TP and no FP gives 0 (the port would
        give NaN; it cannot happen at a threshold taken from a true positive's score unless an
        ignored object takes that detection away in the second pass).
    """
    precision = np.zeros(NUM_SAMPLE_POINTS)
    aos = np.zeros(NUM_SAMPLE_POINTS)
    num = counts.shape[0]
    if num:
        positives = counts[:, 0] + counts[:, 1]
        safe = np.where(positives > 0, positives, 1.0)
        precision[:num] = np.where(positives > 0, counts[:, 0] / safe, 0.0)
        aos[:num] = np.where(positives > 0, counts[:, 3] / safe, 0.0)
        # from the end: point i becomes max(point i, ..., point T - 1)
        precision[:num] = np.maximum.accumulate(precision[:num][::-1])[::-1]
        aos[:num] = np.maximum.accumulate(aos[:num][::-1])[::-1]
    return precision, aos


def ap_r11(curve: np.ndarray) -> float:
    """Percent: mean of the 41-point curve at points 0, 4, ..., 40 (11 recall points).

    Example:
        >>> ap_r11(np.ones(41)), ap_r11(np.r_[np.ones(4), np.zeros(37)])
        (100.0, 9.090909090909092)
    """
    return float(sum(curve[i] for i in R11_POINTS) / 11 * 100)


def ap_r40(curve: np.ndarray) -> float:
    """Percent: mean of the 41-point curve at points 1, ..., 40 (40 recall points).

    Example:
        >>> ap_r40(np.ones(41)), ap_r40(np.r_[np.ones(2), np.zeros(39)])
        (100.0, 2.5)
    """
    return float(sum(curve[i] for i in R40_POINTS) / 40 * 100)


def _flat_args(frames: FlatFrames, gt_flag, dt_flag):
    """The arguments of the matching kernels (``kitti_matching``) from ``overlap`` to
    ``dc_start``; the first 7 are those of ``true_positive_scores``."""
    return (
        frames.overlap, frames.ov_start, frames.gt_start, frames.dt_start, gt_flag, dt_flag,
        frames.dt_score, frames.gt_alpha, frames.dt_alpha, frames.dc_overlap, frames.dcov_start,
        frames.dc_start,
    )  # fmt: skip


def all_point_ap(counts: np.ndarray) -> float:
    """Percent: area under the interpolated precision-recall curve (all-point AP).

    Args:
        counts: (T, 4) [tp, fp, fn, similarity] at every true positive's score, descending.
            Recall is tp / (tp + fn) as the protocol counts it; precision tp / (tp + fp),
            interpolated as the maximum at any higher recall.

    Example:
        >>> all_point_ap(np.array([[1, 0, 1, 0], [2, 2, 0, 0]], dtype=float))  # P 1 then 0.5
        75.0
    """
    if counts.shape[0] == 0:
        return 0.0
    tp, fp, fn = counts[:, 0], counts[:, 1], counts[:, 2]
    recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0.0)
    precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.diff(np.r_[0.0, np.maximum.accumulate(recall)])
    return float(np.sum(steps * precision) * 100)


def all_point_counts(
    frames: FlatFrames,
    gt_flag: np.ndarray,
    dt_flag: np.ndarray,
    min_overlap: float,
    use_dontcare: bool,
) -> np.ndarray:
    """(T, 4) [tp, fp, fn, similarity] at every distinct true-positive score (descending).

    Same arguments as ``curves_for``; an empty (0, 4) array without ground truth or matches.
    """
    num_gt = int(np.count_nonzero(gt_flag == COUNTED))
    scores = true_positive_scores(*_flat_args(frames, gt_flag, dt_flag)[:7], min_overlap)
    if num_gt == 0 or scores.size == 0:
        return np.zeros((0, 4))
    thresholds = np.unique(scores)[::-1].copy()
    return counts_at_every_threshold(
        *_flat_args(frames, gt_flag, dt_flag), use_dontcare, min_overlap, thresholds
    )


def counts_at_score(
    frames: FlatFrames,
    gt_flag: np.ndarray,
    dt_flag: np.ndarray,
    min_overlap: float,
    use_dontcare: bool,
    score_threshold: float,
) -> dict:
    """TP, FP, FN, precision and recall with the detections scoring >= ``score_threshold``.

    Returns:
        ``{"tp", "fp", "fn"}`` ints and ``{"precision", "recall"}`` floats in [0, 1] (0 when
        undefined).
    """
    counts = counts_at_thresholds(
        *_flat_args(frames, gt_flag, dt_flag), use_dontcare, min_overlap,
        np.array([float(score_threshold)]),
    )[0]  # fmt: skip
    tp, fp, fn = (round(float(v)) for v in counts[:3])
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
    }


def curves_for(
    frames: FlatFrames,
    gt_flag: np.ndarray,
    dt_flag: np.ndarray,
    min_overlap: float,
    use_dontcare: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Interpolated precision and AOS curves (41,) of one class, difficulty, metric, overlap.

    Args:
        frames: the metric's flat overlaps and the frames' objects.
        gt_flag: (G,) int8, dt_flag: (D,) int8 protocol flags for the class and difficulty.
        min_overlap: a match needs an overlap strictly above it.
        use_dontcare: True for the 2D metric (DontCare regions absorb free detections).
    """
    num_gt = int(np.count_nonzero(gt_flag == COUNTED))
    scores = true_positive_scores(*_flat_args(frames, gt_flag, dt_flag)[:7], min_overlap)
    if num_gt == 0 or scores.size == 0:
        return np.zeros(NUM_SAMPLE_POINTS), np.zeros(NUM_SAMPLE_POINTS)
    thresholds = score_thresholds(scores, num_gt)
    counts = counts_at_thresholds(
        *_flat_args(frames, gt_flag, dt_flag), use_dontcare, min_overlap, thresholds
    )
    return interpolated_curves(counts)
