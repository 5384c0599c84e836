"""ObjectNet3D measures (AP, AP view, AVP, AVS) on hand-computed cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from perception3d.data.objectnet3d import ObjectNet3DObject, Viewpoint
from perception3d.errors import DataFormatError
from perception3d.eval.objectnet3d import (
    Detection,
    evaluate_objectnet3d,
    evaluate_objectnet3d_root,
    format_objectnet3d_table,
    read_predictions,
    voc_ap,
    write_predictions,
)
from tests.eval.objectnet3d_roots import write_root


def _vp(azimuth_deg: float, elevation_deg: float = 0.0, theta_deg: float = 0.0) -> Viewpoint:
    return Viewpoint(azimuth_deg, elevation_deg, theta_deg, 5.0, 1.0, 2000.0, 0.0, 0.0)


def _det(image, box, score, az_deg=0.0, el_deg=0.0, th_deg=0.0, cls="car") -> Detection:
    a, e, t = np.deg2rad([az_deg, el_deg, th_deg])
    return Detection(image, cls, tuple(map(float, box)), score, float(a), float(e), float(t))


A1, A2, B1 = (0, 0, 99, 99), (200, 0, 299, 99), (0, 0, 49, 49)
GT = {
    "a": [
        ObjectNet3DObject("car", A1, 1, _vp(0.0)),
        ObjectNet3DObject("chair", (400, 0, 450, 50), 1, _vp(10.0)),
        ObjectNet3DObject("car", A2, 1, _vp(90.0)),
    ],
    "b": [ObjectNet3DObject("car", B1, 1, None)],  # no viewpoint: ignored by the view measures
}


def test_hand_computed_case():
    dets = [
        _det("a", A1, 0.9, az_deg=20.0),  # TP, 20 deg error: counts for AVP
        _det("a", (2, 0, 101, 99), 0.8),  # duplicate of A1: FP
        _det("b", B1, 0.7),  # TP on an object without viewpoint: out of the view measures
        _det("a", A2, 0.6, az_deg=130.0),  # TP, 40 deg error: not for AVP
        _det("a", (600, 600, 650, 650), 0.5),  # FP
    ]
    r = evaluate_objectnet3d(GT, dets, ["car", "chair"])["classes"]["car"]
    assert (r["num_gt"], r["num_gt_view"], r["num_det"]) == (3, 2, 5)
    # detection: tp 1 0 1 1 0 -> recall 1/3 1/3 2/3 1 1, precision 1 .5 2/3 .75 .6;
    # envelope at recall steps 1/3, 2/3, 1: 1, .75, .75 -> AP = (1 + .75 + .75) / 3
    assert r["ap"] == pytest.approx(100 * 2.5 / 3)
    # view (d3 dropped): tp 1 0 1 0 -> recall .5 .5 1 1, precision 1 .5 2/3 .5
    assert r["ap_view"] == pytest.approx(100 * (0.5 * 1 + 0.5 * 2 / 3))
    # running viewpoint accuracy 1 1/2 1/3 1/4 -> .5 * 1 + .5 * 1/3
    assert r["avp"] == pytest.approx(100 * (0.5 + 0.5 / 3))
    s20, s40 = (1 + np.cos(np.deg2rad(20))) / 2, (1 + np.cos(np.deg2rad(40))) / 2
    assert r["avs"] == pytest.approx(100 * (0.5 * s20 + 0.5 * (s20 + s40) / 3))
    assert r["tp_median_error_deg"] == pytest.approx(30.0)
    assert r["tp_accuracy_pi6"] == pytest.approx(50.0)


def test_perfect_predictions_score_100_and_means():
    dets = []
    for img, objs in GT.items():
        for o in objs:
            vp = o.viewpoint or _vp(0.0)
            angles = (vp.azimuth_deg, vp.elevation_deg, vp.theta_deg)
            dets.append(_det(img, o.bbox, 1.0, *angles, cls=o.class_name))
    res = evaluate_objectnet3d(GT, dets, ["car", "chair", "sofa"])
    for name in ("car", "chair"):
        assert all(
            res["classes"][name][m] == pytest.approx(100.0) for m in ("ap", "ap_view", "avp", "avs")
        )
    assert res["classes"]["sofa"]["ap"] is None  # no ground truth: out of the mean
    assert res["mean"]["ap"] == pytest.approx(100.0) and res["mean"]["num_classes"] == 2


def test_voc_inclusive_pixel_overlap():
    # GT (0,0,9,9) is 10x10 pixels; (0,0,9,4) covers 10x5 of them: IoU exactly 0.5 -> TP.
    # With x2 - x1 widths it would be 36/81 < 0.5.
    gt = {"a": [ObjectNet3DObject("car", (0, 0, 9, 9), 1, _vp(0))]}
    r = evaluate_objectnet3d(gt, [_det("a", (0, 0, 9, 4), 1.0)], ["car"])["classes"]["car"]
    assert r["ap"] == pytest.approx(100.0)
    r = evaluate_objectnet3d(gt, [_det("a", (0, 0, 9, 3), 1.0)], ["car"])["classes"]["car"]
    assert r["ap"] == 0.0


def test_view_threshold_and_geodesic_error_includes_all_angles():
    gt = {"a": [ObjectNet3DObject("car", A1, 1, _vp(10.0, 5.0, 0.0))]}
    for change, counted in [((29.0, 0, 0), True), ((31.0, 0, 0), False), ((0, 0, 31.0), False),
                            ((0, 29.0, 0), True), ((0, 31.0, 0), False)]:  # fmt: skip
        det = _det("a", A1, 1.0, 10.0 + change[0], 5.0 + change[1], change[2])
        r = evaluate_objectnet3d(gt, [det], ["car"])["classes"]["car"]
        assert r["avp"] == pytest.approx(100.0 if counted else 0.0), change
        assert r["ap"] == pytest.approx(100.0)


def test_viewpoint_of_the_matched_object_of_the_class_is_used():
    # the toolbox would read objects(1) (a chair) for the car here; we use the car's own
    gt = {"a": [ObjectNet3DObject("chair", (400, 0, 450, 50), 1, _vp(100.0)),
                ObjectNet3DObject("car", A1, 1, _vp(0.0))]}  # fmt: skip
    r = evaluate_objectnet3d(gt, [_det("a", A1, 1.0, az_deg=0.0)], ["car", "chair"])
    assert r["classes"]["car"]["avp"] == pytest.approx(100.0)
    # the toolbox's unfixed lookup, reproduced on request: the chair's 100 degrees -> no AVP
    r = evaluate_objectnet3d(
        gt, [_det("a", A1, 1.0, az_deg=0.0)], ["car", "chair"], toolbox_indexing=True
    )
    assert r["classes"]["car"]["avp"] == 0.0 and r["classes"]["car"]["ap_view"] == 100.0
    assert r["meta"]["toolbox_indexing"] is True
    # ... and its view ground truth count comes from objects(1..n) too: the chair has a
    # viewpoint, the car (objects(2)) is never looked at
    gt["a"] = [gt["a"][0], ObjectNet3DObject("car", A1, 1, None)]
    fixed = evaluate_objectnet3d(gt, [_det("a", A1, 1.0)], ["car"])["classes"]["car"]
    unfixed = evaluate_objectnet3d(gt, [_det("a", A1, 1.0)], ["car"], toolbox_indexing=True)
    assert fixed["num_gt_view"] == 0 and fixed["avp"] is None
    assert unfixed["classes"]["car"]["num_gt_view"] == 1
    assert unfixed["classes"]["car"]["avp"] == 0.0  # 100 degrees off the chair's viewpoint


def test_degenerate_boxes_are_false_positives_as_in_the_toolbox():
    gt = {"a": [ObjectNet3DObject("car", A1, 1, _vp(0))]}
    for box in [(50, 0, 48, 99), (50, 0, 48.5, 99), (0, 60, 99, 0)]:  # x2 - x1 + 1 <= 0 ...
        dets = [_det("a", box, 1.0), _det("a", A1, 0.5)]
        r = evaluate_objectnet3d(gt, dets, ["car"])["classes"]["car"]
        assert r["ap"] == pytest.approx(50.0), box  # recall 1 at precision 1/2
    # a one-pixel-wide box (x2 == x1) has inclusive width 1: a real (tiny) box
    r = evaluate_objectnet3d(gt, [_det("a", (5, 5, 5, 5), 1.0)], ["car"])["classes"]["car"]
    assert r["ap"] == 0.0 and r["num_det"] == 1


def test_ties_keep_file_order_and_no_detections():
    gt = {"a": [ObjectNet3DObject("car", A1, 1, _vp(0))]}
    fp_first = [_det("a", (500, 500, 600, 600), 1.0), _det("a", A1, 1.0)]
    r = evaluate_objectnet3d(gt, fp_first, ["car"])["classes"]["car"]
    assert r["ap"] == pytest.approx(50.0)  # recall 1 reached at precision 1/2
    r = evaluate_objectnet3d(gt, fp_first[::-1], ["car"])["classes"]["car"]
    assert r["ap"] == pytest.approx(100.0)
    r = evaluate_objectnet3d(gt, [], ["car"])["classes"]["car"]
    assert r["ap"] == 0.0 and r["avp"] == 0.0


def test_unknown_image_or_class_is_an_error():
    with pytest.raises(ValueError, match="unknown image 'zz'"):
        evaluate_objectnet3d(GT, [_det("zz", A1, 1.0)], ["car"])
    with pytest.raises(ValueError, match="unknown class 'bus'"):
        evaluate_objectnet3d(GT, [_det("a", A1, 1.0, cls="bus")], ["car"])


def test_voc_ap_matches_devkit_hand_values():
    assert voc_ap(np.array([]), np.array([])) == 0.0
    assert voc_ap(np.array([1.0]), np.array([1.0])) == 1.0
    assert voc_ap(np.array([0.25, 0.5]), np.array([1.0, 0.5])) == pytest.approx(0.25 + 0.125)


def test_prediction_files(tmp_path: Path):
    dets = [_det("a", A1, 0.9, 20.0, -5.0, 3.0), _det("b", B1, 0.5, cls="chair")]
    path = write_predictions(tmp_path / "pred.txt", dets)
    back = read_predictions(path)
    assert [(d.image_id, d.class_name, d.bbox, d.score) for d in back] == [
        (d.image_id, d.class_name, d.bbox, d.score) for d in dets
    ]
    np.testing.assert_allclose(
        [d.azimuth_rad for d in back], [d.azimuth_rad for d in dets], atol=1e-6
    )
    # the toolbox's per-class files: detections_<class>.txt without the class column
    folder = tmp_path / "toolbox"
    folder.mkdir()
    (folder / "detections_car.txt").write_text("a 0 0 99 99 0.9 0.349 0 0\n")
    (folder / "detections_chair.txt").write_text("")
    (only,) = read_predictions(folder)
    assert only.class_name == "car" and only.azimuth_rad == pytest.approx(0.349)
    (tmp_path / "bad.txt").write_text("a car 0 0 99 99 0.9 0.1 0.2\n")
    with pytest.raises(DataFormatError, match=r"bad.txt, line 1: expected 10 columns"):
        read_predictions(tmp_path / "bad.txt")
    (tmp_path / "bad2.txt").write_text("# header\na car 0 0 99 x 0.9 0.1 0.2 0.3\n")
    with pytest.raises(DataFormatError, match=r"line 2: expected numbers"):
        read_predictions(tmp_path / "bad2.txt")
    # checked against the dataset's classes and images when they are given
    with pytest.raises(DataFormatError, match=r"pred.txt, line 2: class 'chair' is not in"):
        read_predictions(path, classes=["car"])
    with pytest.raises(DataFormatError, match=r"pred.txt, line 1: image 'a' is not in the split"):
        read_predictions(path, image_ids=["b"])
    with pytest.raises(DataFormatError, match=r"1 of 3 classes have no detection file "
                       r"\(detections_sofa.txt\)"):  # fmt: skip
        read_predictions(folder, classes=["car", "chair", "sofa"])
    (folder / "detections_Car.txt").write_text("")
    with pytest.raises(DataFormatError, match=r"detections_Car.txt: class 'Car' is not in"):
        read_predictions(folder, classes=["car", "chair"])
    (tmp_path / "binary.txt").write_bytes(b"a car \xff")
    with pytest.raises(DataFormatError, match=r"expected a UTF-8 prediction file"):
        read_predictions(tmp_path / "binary.txt")


def test_evaluate_root_and_table(tmp_path: Path):
    write_root(tmp_path, GT, (640, 480))
    write_predictions(tmp_path / "p.txt", [_det("a", A1, 0.9), _det("b", B1, 0.8)])
    res = evaluate_objectnet3d_root(tmp_path, tmp_path / "p.txt", split="val")
    assert res["classes"]["car"]["ap"] == pytest.approx(100 * 2 / 3)
    assert res["classes"]["chair"]["ap"] == 0.0
    json.dumps(res)  # JSON-shaped
    table = format_objectnet3d_table(res)
    assert table.splitlines()[0].split()[:3] == ["class", "AP", "AP"]
    assert table.splitlines()[-1].startswith("mean")
