"""The KITTI object benchmark's evaluation rules as data, and who counts at each difficulty.

Every number here is the one of the official devkit (``evaluate_object.cpp``, Geiger et al.,
CVPR 2012) as its widely used python port applies it (OpenPCDet / mmdetection3d
``kitti_object_eval_python/eval.py: clean_data``, ``get_official_eval_result``).

Ground truth and detections get a flag per (class, difficulty):

- ``COUNTED`` (0): takes part (a ground truth object to find; a detection that is TP or FP);
- ``IGNORED`` (1): may be matched, but the match is neither TP nor FP, and an unmatched one is
  neither FN nor FP (a Van for Car, a Person_sitting for Pedestrian, a ground truth object too
  small/occluded/truncated for the difficulty, a detection shorter than the difficulty's
  minimum height);
- ``OTHER`` (-1): not looked at (other classes' ground truth, DontCare, other classes'
  detections of sufficient height).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from perception3d.data.kitti_labels import (
    MAX_OCCLUSION,
    MAX_TRUNCATION,
    MIN_HEIGHT_PX,
)

ClassName = Literal["Car", "Pedestrian", "Cyclist"]
Difficulty = Literal["easy", "moderate", "hard"]
Metric = Literal["bbox", "bev", "3d"]

CLASSES: tuple[str, ...] = ("Car", "Pedestrian", "Cyclist")
DIFFICULTIES: tuple[str, ...] = ("easy", "moderate", "hard")
METRICS: tuple[str, ...] = ("bbox", "bev", "3d")  # aos rides on the bbox matches

# Ground truth of the neighbouring class is ignored rather than skipped, so detecting a van as
# a car is neither rewarded nor punished.
NEIGHBOUR_CLASS = {"car": "van", "pedestrian": "person_sitting"}

# Per difficulty (easy, moderate, hard), cumulative: ground truth is ignored when its 2D box
# height is <= MIN_HEIGHT_PX, its occlusion level > MAX_OCCLUSION or its truncation >
# MAX_TRUNCATION; a detection is ignored when its 2D height is < MIN_HEIGHT_PX (strict). The
# devkit's values, defined once beside the label rows (the ground-truth database uses them too).

# Minimum overlap per class: two overlap sets of (bbox, bev, 3d) thresholds; a match needs an
# overlap strictly greater than the threshold. Set 0 is the benchmark's, set 1 the looser one
# the field also reports (get_official_eval_result's overlap_0_7 / overlap_0_5).
MIN_OVERLAPS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "Car": ((0.7, 0.7, 0.7), (0.7, 0.5, 0.5)),
    "Pedestrian": ((0.5, 0.5, 0.5), (0.5, 0.25, 0.25)),
    "Cyclist": ((0.5, 0.5, 0.5), (0.5, 0.25, 0.25)),
}

# Recall sampling: 41 score thresholds; R11 averages the interpolated precision at points
# 0, 4, ..., 40 (recall 0, 0.1, ..., 1), R40 at points 1, ..., 40 (recall 1/40, ..., 1)
# (Simonelli et al., "Disentangling monocular 3D object detection", ICCV 2019).
NUM_SAMPLE_POINTS = 41
R11_POINTS = tuple(range(0, NUM_SAMPLE_POINTS, 4))
R40_POINTS = tuple(range(1, NUM_SAMPLE_POINTS))

COUNTED, IGNORED, OTHER = 0, 1, -1

# The KITTI label writes alpha = -10 for "orientation not estimated"; the devkit then skips AOS.
ALPHA_UNKNOWN = -10.0


def check_class(class_name: str) -> str:
    """Return ``class_name`` if the protocol evaluates it, else raise ``ValueError``."""
    if class_name not in CLASSES:
        raise ValueError(f"class must be one of {CLASSES}, got {class_name!r}")
    return class_name


def difficulty_index(difficulty: str) -> int:
    """``"easy"`` -> 0, ``"moderate"`` -> 1, ``"hard"`` -> 2; other names raise ``ValueError``."""
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {DIFFICULTIES}, got {difficulty!r}")
    return DIFFICULTIES.index(difficulty)


def min_overlap(class_name: str, metric: str, overlap_set: int = 0) -> float:
    """Minimum overlap of ``metric`` ("bbox", "aos", "bev", "3d") for a class in a set.

    Example:
        >>> min_overlap("Car", "3d"), min_overlap("Car", "3d", 1), min_overlap("Cyclist", "aos")
        (0.7, 0.5, 0.5)
    """
    check_class(class_name)
    if metric == "aos":
        metric = "bbox"
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {(*METRICS, 'aos')}, got {metric!r}")
    if overlap_set not in (0, 1):
        raise ValueError(f"overlap_set must be 0 or 1, got {overlap_set!r}")
    return MIN_OVERLAPS[class_name][overlap_set][METRICS.index(metric)]


def gt_flags(
    types: Sequence[str],
    bbox: np.ndarray,
    occluded: np.ndarray,
    truncated: np.ndarray,
    class_name: str,
    difficulty: int,
) -> np.ndarray:
    """COUNTED / IGNORED / OTHER flag of each ground truth object for a class and difficulty.

    Args:
        types: (G,) label types (case-insensitive, as the devkit compares them).
        bbox: (G, 4) ``[x1, y1, x2, y2]`` image_2 pixels.
        occluded: (G,) occlusion level 0..3; truncated: (G,) in [0, 1].
        class_name: one of ``CLASSES``; difficulty: 0 easy, 1 moderate, 2 hard.

    Returns:
        (G,) int8 flags.

    Example:
        >>> bbox = np.array([[0, 0, 10, 50], [0, 0, 10, 40], [0, 0, 10, 50], [0, 0, 10, 50]])
        >>> gt_flags(["Car", "Car", "Van", "Pedestrian"], bbox, np.zeros(4), np.zeros(4), "Car", 0)
        array([ 0,  1,  1, -1], dtype=int8)
    """
    wanted = class_name.lower()
    neighbour = NEIGHBOUR_CLASS.get(wanted)
    lower = np.array([t.lower() for t in types], dtype=object)
    same = lower == wanted
    near = (lower == neighbour) if neighbour is not None else np.zeros(len(lower), bool)
    bbox = np.asarray(bbox, dtype=np.float64).reshape(-1, 4)
    height = bbox[:, 3] - bbox[:, 1]
    too_hard = (
        (np.asarray(occluded) > MAX_OCCLUSION[difficulty])
        | (np.asarray(truncated) > MAX_TRUNCATION[difficulty])
        | (height <= MIN_HEIGHT_PX[difficulty])
    )
    flags = np.full(len(lower), OTHER, dtype=np.int8)
    flags[same & ~too_hard] = COUNTED
    flags[near | (same & too_hard)] = IGNORED
    return flags


def pred_flags(
    types: Sequence[str], bbox: np.ndarray, class_name: str, difficulty: int
) -> np.ndarray:
    """COUNTED / IGNORED / OTHER flag of each detection for a class and difficulty.

    A detection shorter than the difficulty's minimum height is IGNORED whatever its class (the
    devkit's rule, kept as is: such a detection of another class can absorb a ground truth
    object in the matching, which then counts neither as TP nor as FN).

    Args:
        types: (D,) detection types; bbox: (D, 4) ``[x1, y1, x2, y2]`` pixels.

    Returns:
        (D,) int8 flags.
    """
    wanted = class_name.lower()
    same = np.array([t.lower() == wanted for t in types], dtype=bool)
    bbox = np.asarray(bbox, dtype=np.float64).reshape(-1, 4)
    small = np.abs(bbox[:, 3] - bbox[:, 1]) < MIN_HEIGHT_PX[difficulty]
    flags = np.full(len(same), OTHER, dtype=np.int8)
    flags[same] = COUNTED
    flags[small] = IGNORED
    return flags
