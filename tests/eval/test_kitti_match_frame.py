"""``match_frame``: the per-object outcome of one frame, as pictures show it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from perception3d.data.kitti import KittiObject, read_label_file
from perception3d.eval.kitti import FrameMatch, match_frame
from tests.eval.test_kitti_evaluate import _dontcare, far_fp, obj


def _scene():
    gt = [
        obj(x=0.0, bbox=(100.0, 100.0, 200.0, 200.0)),  # 0 found
        obj(x=5.0, bbox=(300.0, 100.0, 400.0, 200.0)),  # 1 missed
        obj("Van", x=10.0, bbox=(500.0, 100.0, 600.0, 200.0)),  # 2 neighbour class
        obj(x=-5.0, bbox=(700.0, 100.0, 800.0, 200.0), occluded=3),  # 3 too occluded
        obj("Pedestrian", x=-10.0, bbox=(50.0, 100.0, 90.0, 200.0), lhw=(0.8, 1.7, 0.6)),  # 4
        _dontcare((880.0, 90.0, 1010.0, 210.0)),  # 5
    ]
    pred = [
        replace(gt[0], score=0.9),  # 0 tp
        replace(gt[2], type="Car", score=0.8),  # 1 on the van: ignored
        far_fp(0.7),  # 2 inside the DontCare region: ignored in 2D, FP in 3D
        obj(x=20.0, bbox=(1100.0, 100.0, 1200.0, 200.0), score=0.6),  # 3 fp
        obj(x=-5.0, bbox=(700.0, 100.0, 800.0, 120.0), score=0.5),  # 4 20 px tall: ignored
        replace(gt[4], score=0.4),  # 5 a pedestrian: ignored for Car
    ]
    return gt, pred


def test_statuses_follow_the_protocol_in_3d():
    gt, pred = _scene()
    m = match_frame(gt, pred, "Car", metric="3d", difficulty="moderate")
    assert isinstance(m, FrameMatch) and m.min_overlap == 0.7
    assert m.pred_status.tolist() == ["tp", "ignored", "fp", "fp", "ignored", "ignored"]
    assert m.gt_status.tolist() == ["tp", "fn", "ignored", "ignored", "ignored", "ignored"]
    assert m.pred_to_gt.tolist() == [0, 2, -1, -1, 3, -1]
    assert m.gt_to_pred.tolist() == [0, -1, 1, 4, -1, -1]
    assert m.overlaps.shape == (6, 6) and m.overlaps[0, 0] == 1.0 and not m.overlaps[:, 5].any()


def test_dontcare_absorbs_only_in_2d():
    gt, pred = _scene()
    m = match_frame(gt, pred, "Car", metric="bbox")
    assert m.pred_status.tolist() == ["tp", "ignored", "ignored", "fp", "ignored", "ignored"]
    assert m.in_dontcare.tolist() == [False, False, True, False, False, False]
    assert match_frame(gt, pred, "Car", metric="aos").pred_status.tolist() == (
        m.pred_status.tolist()
    )


def test_other_class_and_difficulty_views():
    gt, pred = _scene()
    ped = match_frame(gt, pred, "Pedestrian", metric="bev")
    assert ped.gt_status.tolist() == ["ignored"] * 4 + ["tp", "ignored"]
    assert ped.pred_status.tolist() == ["ignored"] * 5 + ["tp"]
    hard = match_frame(gt, pred, "Car", difficulty="hard")  # occlusion 3 is beyond hard too
    assert hard.gt_status.tolist()[3] == "ignored"
    easy = match_frame(gt, pred, "Car", difficulty="easy")
    assert easy.pred_status.tolist()[4] == "ignored"


def test_overlap_argument_and_strictness():
    gt = [obj("Pedestrian", lhw=(1.0, 1.75, 0.5))]
    half = [replace(gt[0], dimensions=(1.75, 0.5, 0.5), score=1.0)]  # 3d IoU exactly 0.5
    assert match_frame(gt, half, "Pedestrian").pred_status.tolist() == ["fp"]
    loose = match_frame(gt, half, "Pedestrian", overlap=0.25)
    assert loose.pred_status.tolist() == ["tp"] and loose.min_overlap == 0.25


def test_counted_detection_beats_ignored_one_and_first_ignored_wins():
    gt = [obj(x=0.0), obj(x=1.2, bbox=(110.0, 100.0, 210.0, 200.0))]
    small_a = obj(x=-0.2, bbox=(100.0, 100.0, 200.0, 115.0), score=0.9)  # 15 px: ignored
    small_b = obj(x=0.6, bbox=(105.0, 100.0, 205.0, 115.0), score=0.9)
    counted = obj(x=0.1, score=0.1)
    # ground truth 0 prefers the counted detection whatever the scores
    m = match_frame(gt[:1], [small_a, counted], "Car", metric="bev")
    assert m.pred_status.tolist() == ["ignored", "tp"] and m.gt_to_pred.tolist() == [1]
    # with only ignored detections, an object takes the first one above the threshold: object
    # 0 takes small_a, and object 1 small_b, the only one it overlaps enough (BEV IoU along
    # the 4 m length: a-0 3.8/4.2, b-0 3.4/4.6, b-1 3.4/4.6, a-1 2.6/5.4)
    m = match_frame(gt, [small_a, small_b], "Car", metric="bev")
    assert (m.overlaps > 0.7).tolist() == [[True, False], [True, True]]
    assert m.gt_to_pred.tolist() == [0, 1] and m.gt_status.tolist() == ["ignored", "ignored"]
    assert m.pred_status.tolist() == ["ignored", "ignored"]


def test_ground_truth_matches_itself(kitti_root):
    gt = read_label_file(kitti_root / "training" / "label_2" / "004139.txt")
    pred = [replace(o, score=1.0) for o in gt if not o.is_dontcare]
    for metric in ("bbox", "bev", "3d"):
        for class_name in ("Car", "Pedestrian", "Cyclist"):
            m = match_frame(gt, pred, class_name, metric=metric, difficulty="hard")
            assert "fn" not in m.gt_status.tolist() and "fp" not in m.pred_status.tolist()
            kept = np.flatnonzero(m.gt_status == "tp")
            assert (m.gt_to_pred[kept] == kept).all() and (m.overlaps[kept, kept] == 1.0).all()


def test_empty_and_bad_inputs():
    m = match_frame([], [], "Car")
    assert m.pred_status.shape == (0,) and m.gt_status.shape == (0,)
    m = match_frame([obj()], [], "Car")
    assert m.gt_status.tolist() == ["fn"]
    with pytest.raises(ValueError, match="metric must be one of"):
        match_frame([obj()], [], "Car", metric="2d")
    with pytest.raises(ValueError, match="class must be one of"):
        match_frame([obj()], [], "Truck")
    with pytest.raises(TypeError, match="expected a KittiObject"):
        match_frame([obj()], ["Car 0 0 ..."], "Car")
    assert isinstance(obj(), KittiObject)
