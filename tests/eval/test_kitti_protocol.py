"""Who counts, who is ignored: the difficulty cuts and class rules of the KITTI protocol."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.eval.kitti_protocol import (
    COUNTED,
    IGNORED,
    OTHER,
    difficulty_index,
    gt_flags,
    min_overlap,
    pred_flags,
)


def _gt(types, heights=None, occluded=None, truncated=None, class_name="Car", difficulty=0):
    n = len(types)
    heights = np.full(n, 100.0) if heights is None else np.asarray(heights, dtype=float)
    bbox = np.zeros((n, 4))
    bbox[:, 1], bbox[:, 3] = 100.0, 100.0 + heights
    occ = np.zeros(n) if occluded is None else np.asarray(occluded)
    trunc = np.zeros(n) if truncated is None else np.asarray(truncated)
    return gt_flags(types, bbox, occ, trunc, class_name, difficulty).tolist()


@pytest.mark.parametrize(
    ("difficulty", "limit_px"), [(0, 40.0), (1, 25.0), (2, 25.0)], ids=["easy", "mod", "hard"]
)
def test_gt_height_cut_is_at_or_below_the_limit(difficulty, limit_px):
    heights = [limit_px - 0.01, limit_px, limit_px + 0.01]
    assert _gt(["Car"] * 3, heights, difficulty=difficulty) == [IGNORED, IGNORED, COUNTED]


@pytest.mark.parametrize(("difficulty", "max_occlusion"), [(0, 0), (1, 1), (2, 2)])
def test_gt_occlusion_cut_is_above_the_level(difficulty, max_occlusion):
    levels = [0, 1, 2, 3]
    expected = [COUNTED if level <= max_occlusion else IGNORED for level in levels]
    assert _gt(["Car"] * 4, occluded=levels, difficulty=difficulty) == expected


@pytest.mark.parametrize(("difficulty", "max_truncation"), [(0, 0.15), (1, 0.3), (2, 0.5)])
def test_gt_truncation_cut_is_above_the_fraction(difficulty, max_truncation):
    fractions = [max_truncation - 0.01, max_truncation, max_truncation + 0.01]
    assert _gt(["Car"] * 3, truncated=fractions, difficulty=difficulty) == [
        COUNTED,
        COUNTED,
        IGNORED,
    ]


def test_difficulties_are_cumulative():
    # occlusion 1, truncation 0.2, height 30 px: hard and moderate, not easy
    for difficulty, expected in ((0, IGNORED), (1, COUNTED), (2, COUNTED)):
        assert _gt(["Car"], [30.0], [1], [0.2], difficulty=difficulty) == [expected]
    # occlusion 2: hard only
    assert [_gt(["Car"], occluded=[2], difficulty=d)[0] for d in range(3)] == [1, 1, 0]


def test_neighbour_classes_are_ignored_others_skipped():
    types = ["Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "DontCare"]
    assert _gt(types, class_name="Car") == [0, 1, -1, -1, -1, -1, -1]
    assert _gt(types, class_name="Pedestrian") == [-1, -1, -1, 0, 1, -1, -1]
    # no neighbour for Cyclist (a Pedestrian is just another class)
    assert _gt(types, class_name="Cyclist") == [-1, -1, -1, -1, -1, 0, -1]
    # an ignored neighbour stays ignored, a hard object of the class becomes ignored
    assert _gt(["Van", "Car"], [10.0, 10.0]) == [IGNORED, IGNORED]


def test_class_names_compare_case_insensitively():
    assert _gt(["car", "CAR", "van"]) == [COUNTED, COUNTED, IGNORED]
    bbox = np.array([[0.0, 0.0, 10.0, 50.0]] * 2)
    assert pred_flags(["car", "Car"], bbox, "Car", 0).tolist() == [COUNTED, COUNTED]


def test_detection_height_cut_is_strictly_below_the_limit():
    heights = np.array([24.99, 25.0, 39.99, 40.0])
    bbox = np.zeros((4, 4))
    bbox[:, 3] = heights
    assert pred_flags(["Car"] * 4, bbox, "Car", 0).tolist() == [1, 1, 1, 0]
    assert pred_flags(["Car"] * 4, bbox, "Car", 1).tolist() == [1, 0, 0, 0]
    # the height is |y2 - y1|
    assert pred_flags(["Car"], np.array([[0.0, 50.0, 10.0, 0.0]]), "Car", 0).tolist() == [0]


def test_small_detections_of_other_classes_are_ignored_not_skipped():
    # the devkit's rule: the height test comes before the class test
    bbox = np.array([[0.0, 0.0, 10.0, 20.0], [0.0, 0.0, 10.0, 50.0]])
    assert pred_flags(["Pedestrian", "Pedestrian"], bbox, "Car", 1).tolist() == [IGNORED, OTHER]


def test_overlap_sets_and_names():
    assert min_overlap("Car", "bbox") == 0.7 and min_overlap("Car", "bev", 1) == 0.5
    assert min_overlap("Pedestrian", "3d", 1) == 0.25 and min_overlap("Cyclist", "aos", 1) == 0.5
    assert difficulty_index("hard") == 2
    with pytest.raises(ValueError, match="class must be one of"):
        min_overlap("Van", "3d")
    with pytest.raises(ValueError, match="metric must be one of"):
        min_overlap("Car", "iou")
    with pytest.raises(ValueError, match="overlap_set must be 0 or 1"):
        min_overlap("Car", "3d", 2)
    with pytest.raises(ValueError, match="difficulty must be one of"):
        difficulty_index("Moderate")
