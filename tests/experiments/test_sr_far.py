"""SR of far-object crops (perception3d/experiments/sr_far.py, sr_far_ap.py): the far-object
AP against hand-computed values and one end-to-end run on a real sample frame (the windows and
the merge: tests/engine/test_horizon_tiles.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from perception3d.config import DataSection
from perception3d.data.kitti_labels import KittiObject
from perception3d.experiments.sr_far import SrFarConfig, SrFarWeights, run_sr_far
from perception3d.experiments.sr_far_ap import all_point_ap, far_ap, split_labels


def _obj(kind, bbox, z, score=None, occluded=0, x=0.0, box3d=(1.5, 1.6, 3.9, 0.0)):
    h, w, l, ry = box3d
    return KittiObject(kind, 0.0, occluded, 0.0, tuple(map(float, bbox)), (h, w, l),
                       (x, 1.6, float(z)), ry, score)  # fmt: skip


def test_far_ap_matches_a_hand_computed_example():
    a, b = (100, 100, 120, 112), (300, 100, 318, 111)
    labels = {
        "f0": [
            _obj("Car", a, 50.0),  # cared
            _obj("Car", b, 60.0),  # cared
            _obj("Car", (500, 150, 700, 300), 10.0),  # near: ignored
            _obj("Car", (800, 100, 820, 112), 55.0, occluded=3),  # too occluded: ignored
            _obj("Van", (900, 100, 930, 120), 45.0),  # neighbour class: ignored
            _obj("DontCare", (0, 0, 50, 50), -1000.0),
        ]
    }
    dets = {
        "f0": [
            _obj("Car", (10, 10, 30, 30), 0, score=0.95),  # inside DontCare: ignored
            _obj("Car", a, 0, score=0.9),  # TP
            _obj("Car", (1000, 200, 1020, 210), 0, score=0.8),  # FP
            _obj("Car", (500, 150, 700, 300), 0, score=0.75),  # on the near car: ignored
            _obj("Car", (520, 200, 600, 290), 0, score=0.74),  # on a part of it: ignored
            _obj("Car", (650, 250, 760, 310), 0, score=0.73),  # mostly beside it: FP
            _obj("Car", (800, 100, 820, 112), 0, score=0.72),  # on the occluded car: ignored
            _obj("Car", (900, 100, 930, 120), 0, score=0.71),  # on the van: ignored
            _obj("Car", b, 0, score=0.6),  # TP
            _obj("Car", a, 0, score=0.2),  # duplicate of a matched car: FP
            _obj("Pedestrian", b, 0, score=0.99),  # another class: not counted for Car
        ]
    }
    r = far_ap(labels, dets, "Car", min_range_m=40.0, min_overlap=0.7, score_threshold=0.3)
    # scored rows: TP, FP, FP, TP, FP -> precision 1, 1/2, 1/3, 1/2, 2/5 at recall
    # 1/2, 1/2, 1/2, 1, 1
    assert r.num_gt == 2 and (r.tp, r.fp) == (2, 2)
    assert r.ap == pytest.approx(100 * (0.5 * 1 + 0.5 * 1 / 2))


def test_range_decides_which_objects_count():
    rows = [_obj("Car", (0, 0, 10, 10), 39.0), _obj("Car", (0, 0, 10, 10), 30.0, x=30.0)]
    cared, ignored, _ = split_labels(rows, "Car", 40.0)
    assert len(cared) == 1 and cared[0].location[0] == 30.0  # hypot(30, 30) = 42.4 m
    assert len(ignored) == 1


def test_all_point_ap_edges():
    assert all_point_ap(np.array([True, True]), 2) == pytest.approx(100.0)
    assert all_point_ap(np.array([False, True]), 1) == pytest.approx(50.0)
    assert all_point_ap(np.zeros(0, dtype=bool), 3) == 0.0
    assert np.isnan(all_point_ap(np.array([False]), 0))


def test_bev_ap_scores_the_3d_box():
    gt = {"f": [_obj("Car", (0, 0, 10, 10), 50.0)]}
    same = {"f": [_obj("Car", (0, 0, 10, 10), 50.0, score=0.9)]}
    moved = {"f": [_obj("Car", (0, 0, 10, 10), 54.0, score=0.9)]}  # 4 m behind: no overlap
    assert far_ap(gt, same, "Car", metric="bev").ap == pytest.approx(100.0)
    assert far_ap(gt, moved, "Car", metric="bev").ap == 0.0
    with pytest.raises(ValueError, match="bbox or bev"):
        far_ap(gt, same, "Car", metric="3d")


def test_run_on_a_real_sample_frame(frame8_root, tmp_path):
    cfg = SrFarConfig(weights=SrFarWeights(frustum=None, srcnn=None), min_range_m=20.0,
                      data=DataSection(root=frame8_root))  # fmt: skip
    result = run_sr_far(cfg, tmp_path / "out", log=lambda s: None)
    assert set(result["bbox"]) == {"full", "tiles_bilinear", "tiles_bicubic", "tiles_espcn"}
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["frames"] == 1
    assert (tmp_path / "out" / "pred" / "tiles_espcn" / "bbox" / "000008.txt").is_file()
    # the same far objects are scored in every condition (000008 has cars beyond 20 m)
    counts = {r["Car@0.7"]["num_gt"] for r in result["bbox"].values()}
    assert len(counts) == 1 and counts.pop() >= 1


def test_paired_bootstrap_brackets_the_difference():
    from perception3d.experiments.sr_far_ap import paired_bootstrap

    labels, found, missed = {}, {}, {}
    for i in range(30):
        box = (100 + i, 100, 120 + i, 112)
        labels[f"{i}"] = [_obj("Car", box, 50.0)]
        found[f"{i}"] = [_obj("Car", box, 0, score=0.9)]
        missed[f"{i}"] = [_obj("Car", box, 0, score=0.9)] if i % 2 else []
    same = paired_bootstrap(labels, found, found, "Car", resamples=50)
    assert same == {"diff": 0.0, "lo": 0.0, "hi": 0.0, "resamples": 50}
    worse = paired_bootstrap(labels, found, missed, "Car", resamples=200)
    assert worse["diff"] == pytest.approx(-50.0)  # half the cars found, precision 1
    assert worse["lo"] < -50.0 < worse["hi"] < 0.0


def test_the_shipped_config_loads_and_rejects_unknown_conditions(tmp_path):
    from perception3d.config import load_config

    cfg = load_config("configs/isp/sr_far_detect.yaml", SrFarConfig)
    assert cfg.horizon.tile_hw == (96, 320) and cfg.weights.detector2d.is_file()
    bad = SrFarConfig(data=DataSection(root=tmp_path), conditions=("tiles_nearest",))
    with pytest.raises(ValueError, match="tiles_nearest"):
        run_sr_far(bad, tmp_path / "out", log=lambda s: None)
