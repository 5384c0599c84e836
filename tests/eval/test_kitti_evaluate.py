"""Hand-computed AP values for each rule of the KITTI protocol (``evaluate_kitti``).

Most cases use 80 ground truth objects: with N objects all found, the score thresholds are
min(N, 41) (one per true positive while N <= 41), so AP is exactly 100 from N = 41 on, and
false positives or misses then move the precision curve in ways simple to work out by hand.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from perception3d.data.kitti import KittiObject, read_label_file
from perception3d.eval.kitti import evaluate_kitti, metric_keys
from perception3d.geometry.iou import iou3d_cam, iou_2d

CAR_KEYS = ["bbox@0.7", "aos@0.7", "bev@0.7", "3d@0.7", "bev@0.5", "3d@0.5"]
PED_KEYS = ["bbox@0.5", "aos@0.5", "bev@0.5", "3d@0.5", "bev@0.25", "3d@0.25"]


def obj(type_="Car", bbox=(100.0, 100.0, 200.0, 200.0), x=0.0, z=20.0, lhw=(4.0, 1.5, 2.0),
        ry=0.0, alpha=0.0, occluded=0, truncated=0.0, score=None) -> KittiObject:  # fmt: skip
    """An object 100 px tall (counted at every difficulty) standing 20 m ahead."""
    l, h, w = lhw
    return KittiObject(type_, truncated, occluded, alpha, bbox, (h, w, l), (x, 1.6, z), ry, score)


def cars(num: int, **kwargs) -> dict[str, list[KittiObject]]:
    """``num`` frames of one car each (ids 000000, ...)."""
    return {f"{i:06d}": [obj(**kwargs)] for i in range(num)}


def detect(gt: dict, score0: float = 0.9, **changes) -> dict[str, list[KittiObject]]:
    """Each ground truth object as a detection, distinct falling scores, ``changes`` applied."""
    out, k = {}, 0
    for fid, objects in gt.items():
        out[fid] = []
        for o in objects:
            if not o.is_dontcare:
                out[fid].append(replace(o, score=score0 - 0.001 * k, **changes))
                k += 1
    return out


def far_fp(score: float, type_="Car", **kwargs) -> KittiObject:
    """A detection overlapping no ground truth (2D or 3D)."""
    return obj(type_, bbox=(900.0, 100.0, 1000.0, 200.0), x=30.0, score=score, **kwargs)


def table(result, class_name="Car", points="R40"):
    return result[class_name][points]


def assert_all(result, value, keys=CAR_KEYS, class_name="Car", points=("R40", "R11")):
    for pts in points:
        for key in keys:
            assert result[class_name][pts][key] == pytest.approx([value] * 3, abs=1e-9), (pts, key)


def test_result_has_the_issue_shape():
    gt = cars(3)
    result = evaluate_kitti(gt, detect(gt))
    assert list(result) == ["Car", "Pedestrian", "Cyclist", "meta"]
    assert list(result["Car"]) == ["R40", "R11", "all_point"]
    assert list(result["Car"]["all_point"]) == [k for k in CAR_KEYS if not k.startswith("aos")]
    assert list(result["Car"]["R40"]) == CAR_KEYS == [k for k, _, _ in metric_keys("Car")]
    assert list(result["Cyclist"]["R11"]) == PED_KEYS
    assert {"frames", "objects", "seconds"} <= set(result["meta"])
    assert result["meta"]["frames"] == 3 and result["meta"]["objects"] == 3


@pytest.mark.parametrize("num", [1, 2, 5, 40])
def test_all_point_ap_is_not_capped_and_the_cap_is_stated(num):
    gt = cars(num)
    result = evaluate_kitti(gt, detect(gt))
    assert table(result, points="all_point")["3d@0.7"] == pytest.approx([100.0] * 3)
    assert result["meta"]["r40_cap"]["Car"]["moderate"] == pytest.approx(100 * (num - 1) / 40)
    assert table(result)["3d@0.7"][1] == pytest.approx(result["meta"]["r40_cap"]["Car"]["moderate"])


def test_all_point_ap_of_a_hand_computed_curve():
    # 4 cars, one frame each; detections score 0.9 (hit), 0.8 (miss: a far FP), 0.7 (hit),
    # nothing on the last car: precision 1 at recall 1/4, 2/3 at recall 2/4
    gt = cars(4)
    pred = detect(gt)
    pred[next(iter(pred))][0] = replace(pred[next(iter(pred))][0], score=0.9)
    frames = list(pred)
    pred[frames[1]] = [far_fp(0.8)]
    pred[frames[2]] = [replace(pred[frames[2]][0], score=0.7)]
    pred[frames[3]] = []
    ap = table(evaluate_kitti(gt, pred), points="all_point")["3d@0.7"][1]
    assert ap == pytest.approx(100 * (0.25 * 1.0 + 0.25 * 2 / 3))


def test_counts_at_a_score_threshold():
    gt = cars(4)
    pred = detect(gt)
    frames = list(pred)
    pred[frames[3]] = [far_fp(0.95), far_fp(0.05)]  # one FP above 0.5, one below; car missed
    result = evaluate_kitti(gt, pred, score_threshold=0.5)
    cell = result["Car"]["at_score"]["3d@0.7"][1]
    assert (cell["tp"], cell["fp"], cell["fn"]) == (3, 1, 1)
    assert cell["precision"] == pytest.approx(0.75) and cell["recall"] == pytest.approx(0.75)


def test_all_found_gives_100_from_41_objects():
    gt = cars(80)
    assert_all(evaluate_kitti(gt, detect(gt)), 100.0)
    assert_all(evaluate_kitti(cars(41), detect(cars(41))), 100.0)


@pytest.mark.parametrize("num", [1, 2, 5, 40])
def test_few_objects_saturate(num):
    # N <= 40 objects all found: N thresholds, precision 1 at points 0 .. N - 1, 0 after
    gt = cars(num)
    result = evaluate_kitti(gt, detect(gt))
    r40 = (num - 1) / 40 * 100
    r11 = ((num - 1) // 4 + 1) / 11 * 100
    assert table(result)["3d@0.7"] == pytest.approx([r40] * 3)
    assert table(result, points="R11")["bbox@0.7"] == pytest.approx([r11] * 3)
    if num == 2:  # REFERENCE.md: 2 objects saturate at 9.09 (R11), 2.5 (R40)
        assert (r11, r40) == (pytest.approx(9.0909, abs=1e-4), 2.5)


@pytest.mark.parametrize(
    ("tp_score0", "fp_score0", "expected"),
    [
        # 20 FPs outscoring all 80 TPs: precision (i + 1) / (i + 21) at every threshold, which
        # the interpolation lifts to its last value 80 / 100
        pytest.param(0.5, 0.99, 80.0, id="above_every_true_positive"),
        pytest.param(0.9, 0.1, 100.0, id="below_every_true_positive_cost_nothing"),
    ],
)
def test_false_positives_against_80_true_positives(tp_score0, fp_score0, expected):
    gt = cars(80)
    pred = detect(gt, score0=tp_score0)
    for i in range(20):
        pred[f"{i:06d}"].append(far_fp(fp_score0 - 0.001 * i))
    assert_all(evaluate_kitti(gt, pred), expected)


def test_r11_and_r40_differ_when_half_is_missed():
    # 40 of 80 found: thresholds at TP indices 0, 1, 3, ..., 39 (21 of them, recall ~1/40
    # apart), precision 1 there: R40 = points 1..20 of 40 = 50, R11 = points 0, 4, ..., 20 of 11
    gt = cars(80)
    pred = detect({k: v for k, v in gt.items() if int(k) < 40})
    result = evaluate_kitti(gt, pred)
    assert table(result)["3d@0.7"] == pytest.approx([50.0] * 3)
    assert table(result, points="R11")["3d@0.7"] == pytest.approx([6 / 11 * 100] * 3)


def test_neighbour_class_match_is_neither_tp_nor_fp():
    gt = cars(80)
    gt["000000"].append(obj("Van", bbox=(500.0, 100.0, 600.0, 200.0), x=10.0))
    pred = detect(gt, score0=0.5)
    pred["000000"].append(obj("Car", bbox=(500.0, 100.0, 600.0, 200.0), x=10.0, score=0.99))
    assert_all(evaluate_kitti(gt, pred), 100.0)
    # with 20 false positives above: 80 / 100, the van's match adding neither TP nor FP
    for i in range(20):
        pred[f"{i + 1:06d}"].append(far_fp(0.98 - 0.001 * i))
    assert_all(evaluate_kitti(gt, pred), 80.0)
    # the same detection on a Truck (another class) is a false positive: 80 / 101
    gt["000000"][1] = replace(gt["000000"][1], type="Truck")
    assert_all(evaluate_kitti(gt, pred), 100 * 80 / 101)


def test_person_sitting_is_ignored_for_pedestrian():
    ped = {"lhw": (1.0, 1.75, 0.5)}
    gt = {f"{i:06d}": [obj("Pedestrian", **ped)] for i in range(80)}
    gt["000000"].append(obj("Person_sitting", bbox=(500.0, 100.0, 540.0, 200.0), x=10.0, **ped))
    pred = detect(gt, score0=0.5)
    sitting = replace(gt["000000"][1], type="Pedestrian", score=0.99)
    pred["000000"].append(sitting)
    assert_all(evaluate_kitti(gt, pred), 100.0, PED_KEYS, "Pedestrian")
    gt["000000"][1] = replace(gt["000000"][1], type="Cyclist")  # not a neighbour: FP
    assert_all(evaluate_kitti(gt, pred), 100 * 80 / 81, PED_KEYS, "Pedestrian")


def _dontcare(bbox) -> KittiObject:
    return KittiObject("DontCare", -1.0, -1, -10.0, bbox, (-1.0, -1.0, -1.0),
                       (-1000.0, -1000.0, -1000.0), -10.0)  # fmt: skip


@pytest.mark.parametrize(
    ("region", "absorbed"),
    [
        ((880.0, 90.0, 1010.0, 210.0), True),  # the FP's 2D box lies inside
        ((925.0, 90.0, 1010.0, 210.0), True),  # 75 % of its area inside: > 0.7
        ((930.0, 90.0, 1010.0, 210.0), False),  # exactly 70 %: not strictly above
    ],
)
def test_dontcare_absorbs_false_positives_in_2d_only(region, absorbed):
    gt = cars(80)
    gt["000000"].append(_dontcare(region))
    pred = detect(gt, score0=0.5)
    pred["000000"].append(far_fp(0.99))
    assert iou_2d([far_fp(0.9).bbox], [region], "a")[0, 0] in (1.0, 0.75, 0.7)
    result = evaluate_kitti(gt, pred)
    fp_cost = 100 * 80 / 81
    assert_all(result, 100.0 if absorbed else fp_cost, ["bbox@0.7", "aos@0.7"])
    assert_all(result, fp_cost, ["bev@0.7", "3d@0.7", "bev@0.5", "3d@0.5"])


def test_match_needs_overlap_strictly_above_the_threshold():
    # 2D: a box 70 px wide inside a 100 px one: IoU exactly 0.7 -> no match; 71 px -> match
    gt = cars(80)
    assert iou_2d([(100.0, 100.0, 170.0, 200.0)], [(100.0, 100.0, 200.0, 200.0)])[0, 0] == 0.7
    at = evaluate_kitti(gt, detect(gt, bbox=(100.0, 100.0, 170.0, 200.0)))
    above = evaluate_kitti(gt, detect(gt, bbox=(100.0, 100.0, 171.0, 200.0)))
    assert table(at)["bbox@0.7"] == [0.0] * 3 and table(above)["bbox@0.7"] == [100.0] * 3
    # 3D: half the length, same centre: bev and 3d IoU exactly 0.5
    gt = {f"{i:06d}": [obj("Pedestrian", lhw=(1.0, 1.75, 0.5))] for i in range(80)}
    half = detect(gt, dimensions=(1.75, 0.5, 0.5))  # (h, w, l)
    box_gt, box_half = gt["000000"][0].box_cam, half["000000"][0].box_cam
    assert iou3d_cam([box_half], [box_gt])[0, 0] == 0.5
    result = evaluate_kitti(gt, half)
    ped = table(result, "Pedestrian")
    assert ped["bev@0.5"] == ped["3d@0.5"] == [0.0] * 3
    assert ped["bev@0.25"] == ped["3d@0.25"] == ped["bbox@0.5"] == [100.0] * 3
    longer = table(evaluate_kitti(gt, detect(gt, dimensions=(1.75, 0.5, 0.55))), "Pedestrian")
    assert longer["bev@0.5"] == longer["3d@0.5"] == [100.0] * 3


def test_aos_is_the_mean_orientation_similarity_of_2d_matches():
    gt = cars(80)
    third = evaluate_kitti(gt, detect(gt, alpha=math.pi / 3))  # (1 + cos 60 deg) / 2 = 0.75
    assert_all(third, 75.0, ["aos@0.7"])
    assert_all(third, 100.0, ["bbox@0.7", "3d@0.7"])  # alpha does not change the matches
    assert_all(evaluate_kitti(gt, detect(gt, alpha=math.pi)), 0.0, ["aos@0.7"])
    # AOS counts false positives like precision does: 80 TPs at 0.75 and 20 FPs -> 60
    pred = detect(gt, score0=0.5, alpha=math.pi / 3)
    for i in range(20):
        pred[f"{i:06d}"].append(far_fp(0.99 - 0.001 * i))
    assert_all(evaluate_kitti(gt, pred), 60.0, ["aos@0.7"])


def test_aos_is_none_when_a_prediction_has_no_orientation():
    gt = cars(80)
    pred = detect(gt)
    pred["000003"][0] = replace(pred["000003"][0], alpha=-10.0)
    result = evaluate_kitti(gt, pred)
    assert result["Car"]["R40"]["aos@0.7"] is None and result["meta"]["aos"] is False
    assert result["Car"]["R40"]["bbox@0.7"] == [100.0] * 3


def test_difficulty_levels_split_the_objects():
    # 80 cars 35 px tall: ignored at easy (<= 40 px); their detections too (< 40 px)
    gt = cars(80, bbox=(100.0, 100.0, 200.0, 135.0))
    result = evaluate_kitti(gt, detect(gt))
    assert table(result)["3d@0.7"] == [0.0, 100.0, 100.0]
    assert result["meta"]["gt_counted"]["Car"] == {"easy": 0, "moderate": 80, "hard": 80}
    # occlusion 2: hard only
    gt = cars(80, occluded=2)
    assert table(evaluate_kitti(gt, detect(gt)))["bev@0.7"] == [0.0, 0.0, 100.0]


def test_small_detection_matched_to_counted_object_is_neither_tp_nor_fn():
    # moderate: every car is 100 px tall but detected by a 20 px box (ignored): no TP, no FN
    gt = cars(80)
    small = detect(gt, bbox=(100.0, 100.0, 200.0, 120.0))
    result = evaluate_kitti(gt, small)
    assert table(result)["3d@0.7"] == [0.0] * 3  # no true positive at all
    assert result["meta"]["gt_counted"]["Car"]["moderate"] == 80


def test_empty_frames_and_missing_predictions():
    gt = {**cars(80), **{f"{i:06d}": [] for i in range(80, 120)}}
    pred = detect(cars(80))
    result = evaluate_kitti(gt, pred)
    assert_all(result, 100.0)
    assert result["meta"]["frames"] == 120 and result["meta"]["frames_without_predictions"] == 40
    # nothing but empty frames: AP 0, no error
    empty = evaluate_kitti({"000000": []}, {"000000": [], "000001": [far_fp(0.5)]})
    assert_all(empty, 0.0)
    assert empty["meta"]["prediction_frames_not_in_gt"] == 1
    # predictions in empty frames are false positives
    pred["000100"] = [far_fp(0.99)]
    assert_all(evaluate_kitti(gt, pred), 100 * 80 / 81)


def test_ground_truth_as_predictions_scores_100_where_there_is_ground_truth(kitti_root):
    labels = {
        f"{copy:03d}{fid}": read_label_file(kitti_root / "training" / "label_2" / f"{fid}.txt")
        for copy in range(30)
        for fid in ("000000", "000008", "004139")
    }
    result = evaluate_kitti(labels, detect(labels))
    for class_name, keys in (("Car", CAR_KEYS), ("Pedestrian", PED_KEYS), ("Cyclist", PED_KEYS)):
        for level, diff in enumerate(("easy", "moderate", "hard")):
            num = result["meta"]["gt_counted"][class_name][diff]
            assert num > 0
            r40 = 100.0 if num >= 41 else (num - 1) / 40 * 100
            r11 = 100.0 if num >= 41 else ((num - 1) // 4 + 1) / 11 * 100
            for key in keys:
                assert result[class_name]["R40"][key][level] == pytest.approx(r40), key
                assert result[class_name]["R11"][key][level] == pytest.approx(r11), key


def test_bad_inputs_are_named():
    gt = cars(2)
    with pytest.raises(ValueError, match=r"frame '000001', item 0 \(Car\): has no score"):
        evaluate_kitti(gt, {"000001": gt["000001"]})
    inverted = obj(bbox=(200.0, 100.0, 100.0, 200.0), score=0.5)
    with pytest.raises(ValueError, match="bbox must have x2 >= x1"):
        evaluate_kitti(gt, {"000000": [inverted]})
    with pytest.raises(ValueError, match="class must be one of"):
        evaluate_kitti(gt, {}, classes=["Van"])
    with pytest.raises(ValueError, match="no frames"):
        evaluate_kitti({}, {})
    with pytest.raises(TypeError, match="expected a KittiObject"):
        evaluate_kitti({"0": [("Car",)]}, {})


def test_predictions_without_3d_box_still_get_a_2d_ap():
    # KITTI writes -1 for unknown sizes: such detections overlap nothing in bev / 3d
    gt = cars(80)
    result = evaluate_kitti(gt, detect(gt, dimensions=(-1.0, -1.0, -1.0)))
    assert_all(result, 100.0, ["bbox@0.7"])
    assert_all(result, 0.0, ["bev@0.7", "3d@0.5"])


def test_result_does_not_depend_on_frame_order(rng):
    from tests.eval.kitti_scenes import noisy_detections, random_scene, sample_calib

    calib = sample_calib()
    gt, pred = {}, {}
    for i in range(40):
        labels, hidden = random_scene(rng, calib, 6)
        gt[f"{i:06d}"], pred[f"{i:06d}"] = labels, noisy_detections(rng, calib, labels, hidden)
    result = evaluate_kitti(gt, pred)
    keys = list(gt)[::-1]
    again = evaluate_kitti({k: gt[k] for k in keys}, pred)
    for class_name in ("Car", "Pedestrian", "Cyclist"):
        for points in ("R40", "R11"):
            for key, values in result[class_name][points].items():
                assert again[class_name][points][key] == pytest.approx(values, abs=1e-9)
    assert 0.0 < result["Car"]["R40"]["bbox@0.7"][1] < 100.0
