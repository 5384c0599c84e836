"""Average precision of far objects (issue 21 §1: "2D AP for objects beyond 40 m").

KITTI's protocol cannot score them: every difficulty asks a 2D box at least 25 px tall
(``kitti_protocol``), and a car 43 m away is shorter than that, so it ignores most objects
beyond 40 m. Here the objects that count (*cared*) are chosen by range instead:

- cared: a label of the class whose 3D location is more than ``min_range_m`` from the camera
  (``hypot(x, z)`` of the bottom centre, rectified camera frame), occluded <= 2 and truncated
  <= 0.5 (KITTI's hard limits), with no height limit;
- ignored: the other labels of the class (near, or more occluded / truncated), the labels of
  the class's neighbour (Van for Car, Person_sitting for Pedestrian, as KITTI) and DontCare
  regions: a detection matching one of them at the overlap threshold, or lying for more than
  half of its 2D area inside the 2D box of one of them, counts neither as a true nor as a false
  positive (a detection of a near object is no false alarm of a far one, even when its box
  covers only part of the object, as on real cars: docs/frustum.md, "Narrow boxes");
- every other detection of the class is a false positive.

Matching is greedy by score over all frames (PASCAL VOC): a detection is a true positive when
its best overlap with a still unmatched cared label reaches the threshold. AP is the
all-point area under the interpolated precision / recall curve (VOC 2010 onwards), on the
2D box (``iou_2d``) or, for 3D rows, the bird's-eye-view box (``bev_iou_cam``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from perception3d.data.kitti_labels import KittiObject
from perception3d.geometry.iou import bev_iou_cam, iou_2d

NEIGHBOURS = {"Car": ("Van",), "Pedestrian": ("Person_sitting",)}


def range_m(obj: KittiObject) -> float:
    """Ground range (m) of a label's bottom centre from the camera: ``hypot(x, z)``."""
    return float(np.hypot(obj.location[0], obj.location[2]))


def split_labels(
    labels: Sequence[KittiObject], class_name: str, min_range_m: float
) -> tuple[list[KittiObject], list[KittiObject], np.ndarray]:
    """(cared, ignored, dontcare boxes (K, 4)) of one frame's labels for ``class_name``."""
    cared, ignored = [], []
    for o in labels:
        if o.type == class_name:
            far = range_m(o) > min_range_m and o.occluded <= 2 and o.truncated <= 0.5
            (cared if far else ignored).append(o)
        elif o.type in NEIGHBOURS.get(class_name, ()):
            ignored.append(o)
    dc = np.array([o.bbox for o in labels if o.is_dontcare], dtype=np.float64).reshape(-1, 4)
    return cared, ignored, dc


def _boxes(rows: list, attr: str, width: int) -> np.ndarray:
    return np.array([getattr(o, attr) for o in rows], dtype=np.float64).reshape(-1, width)


def _overlap(metric: str) -> Callable[[list, list], np.ndarray]:
    if metric == "bbox":
        return lambda a, b: iou_2d(_boxes(a, "bbox", 4), _boxes(b, "bbox", 4))
    if metric == "bev":
        return lambda a, b: bev_iou_cam(_boxes(a, "box_cam", 7), _boxes(b, "box_cam", 7))
    raise ValueError(f"metric must be bbox or bev, got {metric!r}")


def _mostly_inside(dets: list[KittiObject], regions: np.ndarray) -> np.ndarray:
    """Whether each detection lies for more than half of its 2D area inside a region (K, 4)."""
    if not dets or not len(regions):
        return np.zeros(len(dets), dtype=bool)
    return (iou_2d(_boxes(dets, "bbox", 4), regions, criterion="a") > 0.5).any(axis=1)


@dataclass(frozen=True)
class FarAP:
    """AP of one class and metric: ``ap`` in percent (nan without cared labels), ``num_gt``
    cared labels, ``tp`` / ``fp`` counted at scores >= ``score_threshold``."""

    ap: float
    num_gt: int
    tp: int
    fp: int
    score_threshold: float

    def as_dict(self) -> dict:
        return {"ap": self.ap, "num_gt": self.num_gt, "tp": self.tp, "fp": self.fp,
                "score_threshold": self.score_threshold}  # fmt: skip


def all_point_ap(tp: np.ndarray, num_gt: int) -> float:
    """All-point interpolated AP (percent) of detections sorted by falling score, ``tp`` a
    boolean per detection.

    Example:
        >>> all_point_ap(np.array([True, False, True]), 2)  # P = 1, 1/2, 2/3 at R = 1/2, 1/2, 1
        83.33333333333333
    """
    if num_gt == 0:
        return float("nan")
    tp = np.asarray(tp, dtype=bool)
    ctp = np.cumsum(tp)
    precision = ctp / np.arange(1, len(tp) + 1)
    recall = ctp / num_gt
    # precision envelope: the best precision at any recall at least as high
    env = np.maximum.accumulate(precision[::-1])[::-1] if len(tp) else precision
    prev = np.concatenate([[0.0], recall[:-1]])
    return float(100.0 * np.sum((recall - prev) * env))


def match_frame(
    frame_labels: Sequence[KittiObject],
    detections: Sequence[KittiObject],
    class_name: str,
    min_range_m: float = 40.0,
    min_overlap: float = 0.5,
    metric: str = "bbox",
) -> tuple[list[tuple[float, bool]], int]:
    """One frame's (score, true positive) pairs of its non-ignored detections of
    ``class_name``, and its number of cared labels (the matching is per frame, so frames can be
    resampled without matching again)."""
    cared, ignored, dc = split_labels(frame_labels, class_name, min_range_m)
    dets = sorted((d for d in detections if d.type == class_name), key=lambda d: -d.score)
    if not dets:
        return [], len(cared)
    overlap = _overlap(metric)
    ov_c = overlap(dets, cared) if cared else np.zeros((len(dets), 0))
    ov_i = overlap(dets, ignored) if ignored else np.zeros((len(dets), 0))
    in_dc = _mostly_inside(dets, np.concatenate([dc, _boxes(ignored, "bbox", 4)]))
    matched = np.zeros(len(cared), dtype=bool)
    scored = []
    for k, d in enumerate(dets):
        cand = np.where(matched, -1.0, ov_c[k])
        if len(cared) and cand.max() >= min_overlap:
            matched[int(cand.argmax())] = True
            scored.append((d.score, True))
        elif not ((ov_i.shape[1] and ov_i[k].max() >= min_overlap) or in_dc[k]):
            scored.append((d.score, False))
    return scored, len(cared)


def _ap_of(frames: Sequence[tuple[list, int]], score_threshold: float) -> FarAP:
    scored = sorted((s for rows, _ in frames for s in rows), key=lambda s: -s[0])
    tp = np.array([t for _, t in scored], dtype=bool)
    above = np.array([s >= score_threshold for s, _ in scored], dtype=bool)
    num_gt = sum(n for _, n in frames)
    return FarAP(all_point_ap(tp, num_gt), num_gt, int((tp & above).sum()),
                 int((~tp & above).sum()), score_threshold)  # fmt: skip


def _matched(
    labels: dict[str, Sequence[KittiObject]],
    detections: dict[str, Sequence[KittiObject]],
    class_name: str,
    min_range_m: float,
    min_overlap: float,
    metric: str,
) -> list[tuple[list[tuple[float, bool]], int]]:
    """:func:`match_frame` of every frame of ``labels``, in its order (frames missing from
    ``detections`` have none)."""
    return [match_frame(rows, detections.get(fid, ()), class_name, min_range_m, min_overlap,
                        metric) for fid, rows in labels.items()]  # fmt: skip


def far_ap(
    labels: dict[str, Sequence[KittiObject]],
    detections: dict[str, Sequence[KittiObject]],
    class_name: str,
    min_range_m: float = 40.0,
    min_overlap: float = 0.5,
    metric: str = "bbox",
    score_threshold: float = 0.3,
) -> FarAP:
    """AP of ``class_name`` objects beyond ``min_range_m`` over frames (frame id -> label rows
    / detection rows with scores; frames missing from ``detections`` have none)."""
    frames = _matched(labels, detections, class_name, min_range_m, min_overlap, metric)
    return _ap_of(frames, score_threshold)


def paired_bootstrap(
    labels: dict[str, Sequence[KittiObject]],
    dets_a: dict[str, Sequence[KittiObject]],
    dets_b: dict[str, Sequence[KittiObject]],
    class_name: str,
    min_range_m: float = 40.0,
    min_overlap: float = 0.5,
    metric: str = "bbox",
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """AP of ``dets_b`` minus AP of ``dets_a`` (points) and its 95 % percentile interval over
    ``resamples`` resamplings of the frames with replacement (the same frames for both)."""
    ids = list(labels)
    fa = _matched(labels, dets_a, class_name, min_range_m, min_overlap, metric)
    fb = _matched(labels, dets_b, class_name, min_range_m, min_overlap, metric)
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(resamples):
        pick = rng.integers(0, len(ids), len(ids))
        d = _ap_of([fb[i] for i in pick], 0.0).ap - _ap_of([fa[i] for i in pick], 0.0).ap
        if np.isfinite(d):
            diffs.append(d)
    point = _ap_of(fb, 0.0).ap - _ap_of(fa, 0.0).ap
    lo, hi = np.percentile(diffs, [2.5, 97.5]) if diffs else (float("nan"),) * 2
    return {"diff": float(point), "lo": float(lo), "hi": float(hi), "resamples": len(diffs)}
