"""LiDAR-frame AP (``perception3d.eval.lidar``): equal to the KITTI evaluator on the same boxes
when every object counts, hand-checked curves, custom classes and IoU thresholds, the
folder reader and ``perception3d eval lidar``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from perception3d.cli import main
from perception3d.data.kitti import KittiObject
from perception3d.data.lidar_folder import LidarLabels, write_lidar_labels
from perception3d.eval.kitti import evaluate_kitti
from perception3d.eval.lidar import evaluate_lidar, format_lidar_table
from perception3d.eval.lidar_io import LidarEvalWarning, evaluate_lidar_dirs
from perception3d.geometry.calib import boxes_cam_to_lidar
from tests.toy_scenes import permuted_pinhole

# A rig whose camera axes are the LiDAR's, permuted (cam x = -y, cam y = -z, cam z = x): the
# KITTI evaluator's camera-frame IoUs then equal the LiDAR-frame ones.
PERMUTED = permuted_pinhole(700.0, 600.0, 180.0)


def _scene(seed: int, frames: int = 12):
    """KITTI rows (every object easy: tall 2D box, no occlusion or truncation) of cars and
    pedestrians, noisy detections with misses and false positives."""
    rng = np.random.default_rng(seed)
    gt, pred = {}, {}
    for f in range(frames):
        rows, dets = [], []
        for _ in range(rng.integers(2, 7)):
            kind = "Car" if rng.random() < 0.7 else "Pedestrian"
            h, w, l = (1.5, 1.6, 3.9) if kind == "Car" else (1.75, 0.6, 0.8)
            x, z, ry = rng.uniform(-15, 15), rng.uniform(5, 50), rng.uniform(-np.pi, np.pi)
            rows.append(_row(kind, (h, w, l), (x, 1.7, z), ry))
            if rng.random() < 0.85:  # found, with noise
                noise = rng.normal(0, [0.12, 0.05, 0.12, 0.05])
                size = tuple(np.array((h, w, l)) * rng.uniform(0.95, 1.05, 3))
                dets.append(_row(kind, size, (x + noise[0], 1.7 + noise[1], z + noise[2]),
                                 ry + noise[3], rng.uniform(0.3, 1.0)))  # fmt: skip
        for _ in range(rng.integers(0, 3)):  # false positives
            dets.append(_row("Car", (1.5, 1.6, 3.9), (rng.uniform(-15, 15), 1.7,
                             rng.uniform(5, 50)), 0.0, rng.uniform(0.0, 0.8)))  # fmt: skip
        gt[f"{f:06d}"], pred[f"{f:06d}"] = rows, dets
    return gt, pred


def _row(kind, hwl, xyz, ry, score=None) -> KittiObject:
    return KittiObject(kind, 0.0, 0, 0.0, (100.0, 100.0, 200.0, 250.0), tuple(hwl), tuple(xyz),
                       float(ry), score)  # fmt: skip


def _to_lidar(rows) -> LidarLabels:
    boxes = boxes_cam_to_lidar(np.array([r.box_cam for r in rows]).reshape(-1, 7), PERMUTED)
    scores = None if not rows or rows[0].score is None else np.array([r.score for r in rows])
    return LidarLabels(boxes, np.array([r.type for r in rows], dtype=object), scores)


@pytest.mark.parametrize("seed", [0, 1])
def test_equals_the_kitti_evaluator_when_every_object_counts(seed):
    gt, pred = _scene(seed)
    kitti = evaluate_kitti(gt, pred, classes=["Car", "Pedestrian"])
    lidar = evaluate_lidar(
        {k: _to_lidar(v) for k, v in gt.items()},
        {k: _to_lidar(v) for k, v in pred.items()},
        ["Car", "Pedestrian"],
        {"Car": 0.7, "Pedestrian": 0.5},
    )
    for name, iou in (("Car", "0.7"), ("Pedestrian", "0.5")):
        assert lidar[name]["num_gt"] == kitti["meta"]["gt_counted"][name]["easy"]
        for metric in ("bev", "3d"):
            for points in ("R40", "R11", "all_point"):
                expected = kitti[name][points][f"{metric}@{iou}"][0]  # easy: every object
                assert lidar[name][metric][points] == pytest.approx(expected, abs=1e-9)
    assert 20 < lidar["Car"]["3d"]["R40"] < 95  # a non-trivial curve


def _labels(boxes, names, scores=None) -> LidarLabels:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 7)
    scores = None if scores is None else np.asarray(scores, dtype=np.float64)
    return LidarLabels(boxes, np.array(names, dtype=object), scores)


BOX = [10.0, 2.0, -1.0, 4.0, 2.0, 1.5, 0.3]


def test_hand_computed_curve_and_threshold_counts():
    # 2 objects; detections by score: TP, FP (far away), TP -> precision 1, 1/2, 2/3
    gt = {"a": _labels([BOX, [20, -5, -1, 4, 2, 1.5, 0]], ["Crate", "Crate"])}
    dets = [BOX, [40, 10, -1, 4, 2, 1.5, 0], [20, -5, -1, 4, 2, 1.5, 0]]
    pred = {"a": _labels(dets, ["Crate"] * 3, [0.9, 0.8, 0.7])}
    result = evaluate_lidar(gt, pred, score_threshold=0.75)
    # all-point: recall 0.5 at precision 1, then recall 1 at precision 2/3
    assert result["Crate"]["3d"]["all_point"] == pytest.approx(100 * (0.5 + 0.5 * 2 / 3))
    assert result["Crate"]["bev"]["at_score"] == {
        "tp": 1, "fp": 1, "fn": 1, "precision": 0.5, "recall": 0.5
    }  # fmt: skip
    assert result["meta"]["r40_cap"] == {"Crate": 2.5}
    assert "Crate" in format_lidar_table(result)


def test_classes_are_kept_apart_and_iou_is_strict():
    gt = {"a": _labels([BOX], ["Crate"])}
    pred = {"a": _labels([BOX], ["Trailer"], [0.9])}
    result = evaluate_lidar(gt, pred, ["Crate", "Trailer"])
    assert result["Crate"]["3d"]["all_point"] == 0.0 and result["Trailer"]["num_gt"] == 0
    box = [10.0, 2.0, -1.0, 4.0, 2.0, 1.5, 0.0]
    gt = {"a": _labels([box], ["Crate"])}
    shifted = [11.0, *box[1:]]  # BEV IoU (3 x 2) / (4 x 2 + 4 x 2 - 3 x 2) = 0.6
    pred = {"a": _labels([shifted], ["Crate"], [0.9])}
    assert evaluate_lidar(gt, pred, iou_thresholds=0.59)["Crate"]["bev"]["all_point"] == 100.0
    assert evaluate_lidar(gt, pred, iou_thresholds=0.6)["Crate"]["bev"]["all_point"] == 0.0


def test_bad_arguments():
    gt = {"a": _labels([BOX], ["Crate"])}
    with pytest.raises(ValueError, match="no IoU threshold for classes"):
        evaluate_lidar(gt, {}, iou_thresholds={"Car": 0.7})
    with pytest.raises(ValueError, match="need scores"):
        evaluate_lidar(gt, {"a": _labels([BOX], ["Crate"])})
    with pytest.raises(ValueError, match="no frames"):
        evaluate_lidar({}, {})


def test_folders_and_cli(tmp_path, capsys):
    gt_dir, pred_dir = tmp_path / "labels", tmp_path / "pred"
    write_lidar_labels(gt_dir / "f1.txt", [BOX], ["Crate"])
    write_lidar_labels(gt_dir / "f2.txt", [BOX], ["Crate"])
    write_lidar_labels(pred_dir / "f1.txt", [BOX], ["Crate"], [0.8])
    with pytest.warns(LidarEvalWarning, match="no predictions for 1 of 2 frames"):
        result = evaluate_lidar_dirs(tmp_path, pred_dir)  # the root's labels/ is found
    assert result["Crate"]["num_gt"] == 2
    assert result["Crate"]["3d"]["all_point"] == pytest.approx(50.0)
    out = tmp_path / "m.json"
    rc = main(["eval", "lidar", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir),
               "--iou", "Crate=0.7", "--out", str(out)])  # fmt: skip
    assert rc == 0
    captured = capsys.readouterr()
    assert "no predictions for 1 of 2" in captured.err and "Crate" in captured.out
    assert json.loads(out.read_text())["Crate"]["iou"] == 0.7
    (pred_dir / "f2.txt").write_text("Crate 1 2 3 4\n")
    assert main(["eval", "lidar", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir)]) == 2
    assert "f2.txt, line 1: expected 8" in capsys.readouterr().err


def test_ignored_objects_and_detections_count_neither_way():
    car = np.array([10.0, 0, -1, 4, 1.7, 1.5, 0.0])
    far = np.array([45.0, 3, -1, 4, 1.7, 1.5, 0.0])
    names = np.array(["Car", "Car"], object)
    gt = {"a": LidarLabels(np.stack([car, far]), names)}
    # the near car found; the far car missed; a false positive at 46 m
    fp = far + np.array([0, 8, 0, 0, 0, 0, 0])
    pred = {"a": LidarLabels(np.stack([car, fp]), names, np.array([0.9, 0.8]))}
    full = evaluate_lidar(gt, pred, iou_thresholds=0.7)["Car"]["bev"]
    assert full["all_point"] == pytest.approx(50.0)  # recall 1/2 at precision 1
    # the far object and the far detection ignored (another distance bin): a perfect near bin
    near = evaluate_lidar(
        gt, pred, iou_thresholds=0.7, score_threshold=0.5,
        gt_ignored={"a": np.array([False, True])}, pred_ignored={"a": np.array([False, True])},
    )["Car"]  # fmt: skip
    assert near["num_gt"] == 1 and near["bev"]["all_point"] == pytest.approx(100.0)
    assert (near["bev"]["at_score"]["tp"], near["bev"]["at_score"]["fp"]) == (1, 0)
    # only the far object ignored: the far detection is still a false positive
    ap = evaluate_lidar(gt, pred, iou_thresholds=0.7, score_threshold=0.5,
                        gt_ignored={"a": np.array([False, True])})["Car"]  # fmt: skip
    assert (ap["bev"]["at_score"]["fp"], ap["bev"]["at_score"]["fn"]) == (1, 0)
    with pytest.raises(ValueError, match="gt_ignored has shape"):
        evaluate_lidar(gt, pred, gt_ignored={"a": np.array([True])})
