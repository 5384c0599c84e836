"""Matching detections to ground truth, frame by frame, as the KITTI protocol does (numba).

All frames are held flat: objects of frame ``f`` are rows ``gt_start[f]:gt_start[f + 1]`` (and
``dt_start`` for detections); the (D_f, G_f) overlap matrix of frame ``f`` (detections x ground
truth) is ``overlap[ov_start[f]:ov_start[f] + D_f * G_f]`` in row-major order, and the (D_f, C_f)
detection-over-DontCare overlaps ``dc_overlap[dcov_start[f]:...]`` likewise. Each frame is then
matched on its own (``frame_counts``, which ``match_frame`` also calls). Flags are the
``kitti_protocol`` COUNTED (0) / IGNORED (1) / OTHER (-1) codes.

The greedy assignment follows ``compute_statistics_jit`` of the python port of the devkit
(OpenPCDet / mmdetection3d ``kitti_object_eval_python/eval.py``) rule for rule:

- ground truth objects are visited in label order, each takes the best free detection whose
  overlap is strictly above the threshold: the highest score when collecting the true
  positives' scores (first pass), the highest overlap among COUNTED detections, else the first
  IGNORED one, when counting at a score threshold (second pass);
- a match involving an IGNORED object on either side is neither TP nor FP; an unmatched
  COUNTED ground truth object is a FN; a free COUNTED detection above the score threshold is a
  FP unless (2D metric only) it lies in a DontCare region: intersection over its own area
  strictly above the threshold.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from perception3d.eval.kitti_protocol import COUNTED, IGNORED, NUM_SAMPLE_POINTS, OTHER

# The port's "no detection yet" score: a detection scoring at or below it never matches.
_NO_DETECTION_SCORE = -10000000.0


@numba.njit(cache=True)
def _assign_frame(
    overlap, gt_flag, dt_flag, dt_score, min_overlap, thresh, by_score, dt_taken, gt_to_dt
):
    """Greedy assignment in one frame.

    overlap: (D, G); fills dt_taken (>= D,) bool and gt_to_dt (>= G,) int (-1: no match).
    """
    num_dt, num_gt = overlap.shape
    dt_taken[:num_dt] = False
    for i in range(num_gt):
        gt_to_dt[i] = -1
        if gt_flag[i] == OTHER:
            continue
        best = -1
        best_score = _NO_DETECTION_SCORE
        best_overlap = 0.0
        best_is_ignored = False
        for j in range(num_dt):
            if dt_flag[j] == OTHER or dt_taken[j] or dt_score[j] < thresh:
                continue
            if not overlap[j, i] > min_overlap:  # strictly greater
                continue
            if by_score:
                if dt_score[j] > best_score:
                    best, best_score = j, dt_score[j]
            elif dt_flag[j] == COUNTED and (overlap[j, i] > best_overlap or best_is_ignored):
                best, best_overlap, best_is_ignored = j, overlap[j, i], False
            elif best < 0 and dt_flag[j] == IGNORED:
                best, best_is_ignored = j, True
        if best >= 0:
            dt_taken[best] = True
            gt_to_dt[i] = best


@numba.njit(cache=True)
def frame_counts(
    overlap, dc_overlap, gt_flag, dt_flag, dt_score, gt_alpha, dt_alpha, use_dontcare,
    min_overlap, thresh, dt_taken, gt_to_dt, dt_in_dontcare,
):  # fmt: skip
    """(tp, fp, fn, orientation similarity sum) of one frame at score threshold ``thresh``.

    Args:
        overlap: (D, G) detection x ground truth; dc_overlap: (D, C) fraction of each
            detection's 2D box inside each DontCare box (used if ``use_dontcare``).
        gt_flag: (G,), dt_flag: (D,) protocol flags; dt_score: (D,); gt_alpha (G,), dt_alpha
            (D,) radians.
        dt_taken, dt_in_dontcare: (>= D,) bool, gt_to_dt: (>= G,) int64 work arrays, filled:
            matched or absorbed, absorbed by DontCare, matched detection (-1 none).
    """
    _assign_frame(
        overlap, gt_flag, dt_flag, dt_score, min_overlap, thresh, False, dt_taken, gt_to_dt
    )
    num_dt, num_gt = overlap.shape
    tp, fp, fn = 0, 0, 0
    similarity = 0.0
    for i in range(num_gt):
        j = gt_to_dt[i]
        if gt_flag[i] != COUNTED:
            continue
        if j < 0:
            fn += 1
        elif dt_flag[j] == COUNTED:
            tp += 1
            similarity += (1.0 + math.cos(gt_alpha[i] - dt_alpha[j])) / 2.0
    for j in range(num_dt):
        dt_in_dontcare[j] = False
        if not dt_taken[j] and dt_flag[j] == COUNTED and dt_score[j] >= thresh:
            fp += 1
    if use_dontcare:
        for c in range(dc_overlap.shape[1]):
            for j in range(num_dt):
                if dt_taken[j] or dt_flag[j] != COUNTED or dt_score[j] < thresh:
                    continue
                if dc_overlap[j, c] > min_overlap:
                    dt_taken[j] = True
                    dt_in_dontcare[j] = True
                    fp -= 1
    return tp, fp, fn, similarity


@numba.njit(cache=True)
def _max_count(start):
    most = 0
    for f in range(start.shape[0] - 1):
        most = max(most, start[f + 1] - start[f])
    return most


@numba.njit(cache=True)
def _block(flat, block_start, f, rows, cols):
    """The (rows, cols) matrix of frame ``f`` in a flat array of row-major blocks."""
    return flat[block_start[f] : block_start[f] + rows * cols].reshape((rows, cols))


@numba.njit(cache=True)
def true_positive_scores(
    overlap, ov_start, gt_start, dt_start, gt_flag, dt_flag, dt_score, min_overlap
):
    """First pass: the score of each true positive, each COUNTED ground truth object matched to
    the highest-scoring free detection above the overlap threshold (all detections count).

    Returns:
        (K,) float64 scores, K <= number of COUNTED ground truth objects.
    """
    out = np.empty(gt_flag.shape[0])
    num_tp = 0
    dt_taken = np.zeros(_max_count(dt_start), dtype=np.bool_)
    gt_to_dt = np.zeros(_max_count(gt_start), dtype=np.int64)
    for f in range(gt_start.shape[0] - 1):
        g0, g1, d0, d1 = gt_start[f], gt_start[f + 1], dt_start[f], dt_start[f + 1]
        frame_overlap = _block(overlap, ov_start, f, d1 - d0, g1 - g0)
        _assign_frame(
            frame_overlap, gt_flag[g0:g1], dt_flag[d0:d1], dt_score[d0:d1], min_overlap,
            -np.inf, True, dt_taken, gt_to_dt,
        )  # fmt: skip
        for i in range(g1 - g0):
            j = gt_to_dt[i]
            if j >= 0 and gt_flag[g0 + i] == COUNTED and dt_flag[d0 + j] == COUNTED:
                out[num_tp] = dt_score[d0 + j]
                num_tp += 1
    return out[:num_tp]


@numba.njit(cache=True)
def score_thresholds(tp_scores, num_gt):
    """Up to 41 score thresholds about 1/40 apart in recall (the devkit's getThresholds).

    Walking the true positives' scores from the highest, a score is kept when the recall it
    gives, (i + 1) / num_gt, is closer to the next 1/40 step than the recall of the next score.

    Returns:
        (T,) float64 thresholds, descending.
    """
    scores = np.sort(tp_scores)[::-1]
    out = np.empty(scores.shape[0])
    num = 0
    current_recall = 0.0
    for i in range(scores.shape[0]):
        left_recall = (i + 1) / num_gt
        last = i == scores.shape[0] - 1
        right_recall = left_recall if last else (i + 2) / num_gt
        if (right_recall - current_recall) < (current_recall - left_recall) and not last:
            continue
        out[num] = scores[i]
        num += 1
        current_recall += 1.0 / (NUM_SAMPLE_POINTS - 1.0)
    return out[:num]


@numba.njit(cache=True)
def _scratch(gt_start, dt_start):
    """The per-frame work arrays of :func:`frame_counts`, sized for the largest frame:
    ``dt_taken`` and ``dt_in_dontcare`` (bool), ``gt_to_dt`` (int64)."""
    dt_taken = np.zeros(_max_count(dt_start), dtype=np.bool_)
    dt_in_dontcare = np.zeros(_max_count(dt_start), dtype=np.bool_)
    return dt_taken, np.zeros(_max_count(gt_start), dtype=np.int64), dt_in_dontcare


@numba.njit(cache=True)
def _frame_blocks(f, overlap, ov_start, gt_start, dt_start, dc_overlap, dcov_start, dc_start):
    """Frame ``f``'s object ranges ``g0, g1, d0, d1`` and its (D, G) overlap and (D, DC)
    DontCare overlap blocks."""
    g0, g1, d0, d1 = gt_start[f], gt_start[f + 1], dt_start[f], dt_start[f + 1]
    frame_overlap = _block(overlap, ov_start, f, d1 - d0, g1 - g0)
    frame_dc = _block(dc_overlap, dcov_start, f, d1 - d0, dc_start[f + 1] - dc_start[f])
    return g0, g1, d0, d1, frame_overlap, frame_dc


@numba.njit(cache=True)
def counts_at_thresholds(
    overlap, ov_start, gt_start, dt_start, gt_flag, dt_flag, dt_score, gt_alpha, dt_alpha,
    dc_overlap, dcov_start, dc_start, use_dontcare, min_overlap, thresholds,
):  # fmt: skip
    """Second pass: (T, 4) [tp, fp, fn, orientation similarity] summed over frames at each
    score threshold (detections scoring below it are left out)."""
    counts = np.zeros((thresholds.shape[0], 4))
    dt_taken, gt_to_dt, dt_in_dontcare = _scratch(gt_start, dt_start)
    for f in range(gt_start.shape[0] - 1):
        g0, g1, d0, d1, frame_overlap, frame_dc = _frame_blocks(
            f, overlap, ov_start, gt_start, dt_start, dc_overlap, dcov_start, dc_start
        )
        # the frame's result depends only on the set of detections scoring >= threshold: the
        # same count means the same set, so it is computed once per distinct set
        last_kept = -1
        tp, fp, fn, similarity = 0, 0, 0, 0.0
        for t in range(thresholds.shape[0]):
            kept = 0
            for j in range(d0, d1):
                if dt_score[j] >= thresholds[t]:
                    kept += 1
            if kept != last_kept:
                tp, fp, fn, similarity = frame_counts(
                    frame_overlap, frame_dc, gt_flag[g0:g1], dt_flag[d0:d1], dt_score[d0:d1],
                    gt_alpha[g0:g1], dt_alpha[d0:d1], use_dontcare, min_overlap, thresholds[t],
                    dt_taken, gt_to_dt, dt_in_dontcare,
                )  # fmt: skip
                last_kept = kept
            counts[t, 0] += tp
            counts[t, 1] += fp
            counts[t, 2] += fn
            counts[t, 3] += similarity
    return counts


@numba.njit(cache=True)
def counts_at_every_threshold(
    overlap, ov_start, gt_start, dt_start, gt_flag, dt_flag, dt_score, gt_alpha, dt_alpha,
    dc_overlap, dcov_start, dc_start, use_dontcare, min_overlap, thresholds,
):  # fmt: skip
    """``counts_at_thresholds`` for many thresholds at once (every true positive's score, for
    the all-point AP): a frame is re-matched only where its set of kept detections changes,
    and its counts are added over that run of thresholds with a difference array, so the cost
    grows with frames + thresholds + detections, not frames x thresholds.

    Args:
        thresholds: (T,) float64, descending.

    Returns:
        (T, 4) [tp, fp, fn, orientation similarity], as ``counts_at_thresholds``.
    """
    num_t = thresholds.shape[0]
    delta = np.zeros((num_t + 1, 4))
    dt_taken, gt_to_dt, dt_in_dontcare = _scratch(gt_start, dt_start)
    for f in range(gt_start.shape[0] - 1):
        g0, g1, d0, d1, frame_overlap, frame_dc = _frame_blocks(
            f, overlap, ov_start, gt_start, dt_start, dc_overlap, dcov_start, dc_start
        )
        scores = np.sort(dt_score[d0:d1])[::-1]
        kept = 0
        t = 0
        while t < num_t:
            while kept < scores.shape[0] and scores[kept] >= thresholds[t]:
                kept += 1
            # the run of thresholds keeping the same detections: up to the next score
            t_end = t + 1
            next_score = scores[kept] if kept < scores.shape[0] else -np.inf
            while t_end < num_t and thresholds[t_end] > next_score:
                t_end += 1
            tp, fp, fn, similarity = frame_counts(
                frame_overlap, frame_dc, gt_flag[g0:g1], dt_flag[d0:d1], dt_score[d0:d1],
                gt_alpha[g0:g1], dt_alpha[d0:d1], use_dontcare, min_overlap, thresholds[t],
                dt_taken, gt_to_dt, dt_in_dontcare,
            )  # fmt: skip
            delta[t, 0] += tp
            delta[t, 1] += fp
            delta[t, 2] += fn
            delta[t, 3] += similarity
            delta[t_end, 0] -= tp
            delta[t_end, 1] -= fp
            delta[t_end, 2] -= fn
            delta[t_end, 3] -= similarity
            t = t_end
    out = np.empty((num_t, 4))
    running = np.zeros(4)
    for t in range(num_t):
        running += delta[t]
        out[t] = running
    return out
