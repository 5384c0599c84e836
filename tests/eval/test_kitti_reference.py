"""Agreement with the python port of the KITTI devkit (OpenPCDet / mmdetection3d) on realistic
data: every AP of both fixture sets equals the port's output.

How the frozen numbers were produced (tests/data/kitti_eval/README.md has the driver): the
mmdet3d 1.4.0 wheel's ``kitti_utils/eval.py`` + ``rotate_iou.py``, unmodified, run with
``NUMBA_ENABLE_CUDASIM=1`` on ``tests/data/kitti_eval/<set>/{label_2,pred}``:
``do_eval(gt_annos, dt_annos, [0, 1, 2], min_overlaps, ["bbox", "bev", "3d", "aos"])``.
The full output is ``tests/data/kitti_eval/<set>/reference_port.json``; a few values are pasted
below so a change of the JSON cannot hide a change of behaviour.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path

import pytest

from perception3d.data.kitti import parse_label_line, read_label_file
from perception3d.eval.kitti import evaluate_kitti, evaluate_kitti_dirs, match_frame
from perception3d.geometry.iou import bev_iou_cam

FIXTURE = Path(__file__).parents[1] / "data" / "kitti_eval"

# (set, class, points, key) -> [easy, moderate, hard] printed by the port (rounded to 1e-6)
PASTED = {
    ("scenes", "Car", "R40", "bbox@0.7"): [82.742825, 64.802873, 63.620134],
    ("scenes", "Car", "R40", "aos@0.7"): [76.428897, 62.013112, 61.29948],
    ("scenes", "Car", "R40", "3d@0.7"): [19.579675, 13.941605, 15.618773],
    ("scenes", "Car", "R11", "bev@0.5"): [67.419042, 54.038967, 55.32511],
    ("scenes", "Pedestrian", "R40", "bev@0.5"): [29.107891, 13.670202, 13.024878],
    ("scenes", "Pedestrian", "R11", "3d@0.25"): [56.623377, 45.917825, 47.055668],
    ("scenes", "Cyclist", "R40", "3d@0.5"): [3.880952, 15.185897, 20.235637],
    ("scenes", "Cyclist", "R11", "aos@0.5"): [20.870114, 58.472556, 54.431719],
    ("samples", "Car", "R40", "bev@0.7"): [4.506632, 33.548581, 32.665106],
    ("samples", "Car", "R11", "3d@0.5"): [33.901515, 67.336859, 59.724199],
    ("samples", "Pedestrian", "R40", "aos@0.5"): [28.915748, 21.267774, 21.028898],
    ("samples", "Cyclist", "R11", "bev@0.25"): [17.942584, 18.093983, 18.093983],
}


@pytest.fixture(scope="module", params=["scenes", "samples"])
def evaluated(request):
    root = FIXTURE / request.param
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every frame has its prediction file: no warning
        ours = evaluate_kitti_dirs(root / "label_2", root / "pred")
    reference = json.loads((root / "reference_port.json").read_text())
    return request.param, ours, reference


def test_every_ap_equals_the_reference_port(evaluated):
    name, ours, reference = evaluated
    compared = 0
    for class_name in ("Car", "Pedestrian", "Cyclist"):
        for points in ("R40", "R11"):
            assert list(ours[class_name][points]) == list(reference[class_name][points])
            for key, values in reference[class_name][points].items():
                assert ours[class_name][points][key] == pytest.approx(values, abs=1e-9), (
                    name,
                    class_name,
                    points,
                    key,
                )
                compared += 3
    assert compared == 108


def test_pasted_reference_values(evaluated):
    name, ours, reference = evaluated
    for (set_name, class_name, points, key), values in PASTED.items():
        if set_name == name:
            assert ours[class_name][points][key] == pytest.approx(values, abs=1e-6)
            assert reference[class_name][points][key] == pytest.approx(values, abs=1e-6)


def test_ground_truth_as_predictions_where_the_port_fails():
    # The port's float32 rotated IoU of a box with itself is often far below 1 (OpenPCDet
    # #972: 3e-10 for one box; second.pytorch #90: bev AP 1.49 for labels scored as
    # predictions). On the scenes' labels scored as predictions it gave, at R40 moderate,
    # Car bev@0.7 0.1577 and Pedestrian bev@0.25 26.5438 (same driver, CUDA simulator). Ours
    # gives 100 wherever at least 41 objects count (fewer saturate, see test_kitti_evaluate).
    root = FIXTURE / "scenes" / "label_2"
    gt = {p.stem: read_label_file(p) for p in sorted(root.glob("*.txt"))}
    pred = {k: [replace(o, score=0.5) for o in v if not o.is_dontcare] for k, v in gt.items()}
    result = evaluate_kitti(gt, pred)
    assert result["meta"]["gt_counted"]["Car"]["moderate"] >= 41
    assert result["Car"]["R40"]["bev@0.7"][1] == 100.0
    assert result["Pedestrian"]["R40"]["bev@0.25"][1] == 100.0


def test_the_one_pair_where_the_port_rounds_across_the_threshold():
    # On a 3,769-frame set made like the benchmark's (kitti_scenes, 5 objects a frame, seed 7)
    # the port agreed on 104 of 108 AP values; Car bev@0.7 moderate and hard (R40: 0.0058,
    # 0.0026; R11: 0.0017, 0.0015) differed because of this pair (frame 002935): BEV IoU
    # 0.6999959199 in float64 (shapely: the same to 3e-15), 0.7000013 in the port's float32
    # kernel, which matches it at 0.7.
    gt = parse_label_line(
        "Car 0.00 0 0.43 291.13 174.06 369.55 200.82 1.52 1.73 3.97 -16.58 1.62 42.79 0.06"
    )
    det = parse_label_line(
        "Car -1.00 -1 0.48 293.33 172.90 374.51 199.77 1.60 1.70 4.16 -16.27 1.58 42.58 0.11 0.6507"
    )
    assert bev_iou_cam([det.box_cam], [gt.box_cam])[0, 0] == pytest.approx(0.69999592, abs=1e-8)
    assert match_frame([gt], [det], "Car", metric="bev").pred_status.tolist() == ["fp"]
