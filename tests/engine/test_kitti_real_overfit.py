"""The real-KITTI path end to end on the real sample frames: the recipe's config
(configs/kitti/pointpillars.yaml, OpenPCDet's network and data rules, at a tiny size) trains
on 000000, 000008 and 004139 until it has learnt them, ``perception3d infer`` writes KITTI
result files, and ``perception3d eval kitti`` finds those frames' Cars, Pedestrians and
Cyclist again.

DontCare rows are handled as OpenPCDet and mmdetection3d handle them: never a training target
(checked below), and in the evaluation only the protocol's use (they absorb detections for the
2D metric). Two pedestrians cannot be found and bound the Pedestrian AP: the one of 000000
(its cloud is an 800-point subsample without a point on it) and one of a pair 0.7 m apart in
004139, whose boxes touch: the recipe's NMS (OpenPCDet's BEV IoU 0.01) keeps only one of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perception3d.cli import main
from perception3d.engine.config import load_experiment
from perception3d.engine.tasks.detector import build_datasets
from perception3d.engine.train import train
from tests.models.conftest import NO_GLOBAL_AUG, TINY_OVERRIDES

CONFIG = Path(__file__).parents[2] / "configs" / "kitti" / "pointpillars.yaml"
TINY = (
    # the tiny overrides of tests/models (a 16/32-channel backbone) with 0.32 m pillars over
    # 51.2 x 51.2 m (every moderate object of the frames is inside), no augmentation (no
    # database here; the frames are to be learnt)
    *TINY_OVERRIDES,
    "model.voxel.point_range_m=[0.0, -25.6, -3.0, 51.2, 25.6, 1.0]",
    "model.voxel.voxel_size_m=[0.32, 0.32, 4.0]",
    "augmentation.physical=null",
    *NO_GLOBAL_AUG,
    "data.train_split=training",
    "data.val_split=training",
    # the three frames in one batch: batch-norm statistics of the 800-point 000000 and of the
    # full sweeps are then the same in training and at inference
    "train.batch_size=3",
    "train.epochs=150",
    "train.lr_max=0.01",
    "train.final_div_factor=100.0",
    "train.validate_every=0",
)


def test_training_targets_leave_dontcare_out(kitti_root):
    cfg = load_experiment(CONFIG, [*TINY, f"data.root={kitti_root}"])
    train_ds, _ = build_datasets(cfg)
    names = [n for i in range(len(train_ds)) for n in train_ds[i]["gt_names"]]
    assert "DontCare" not in names
    assert sorted(set(names)) == ["Car", "Cyclist", "Pedestrian"]  # every class of the frames


@pytest.mark.slow
def test_pointpillars_learns_the_real_sample_frames(kitti_root, tmp_path, capsys):
    overrides = [*TINY, f"data.root={kitti_root}"]
    train(load_experiment(CONFIG, overrides), tmp_path / "run", progress=False)
    sets = [a for o in overrides for a in ("--set", o)]
    pred = tmp_path / "pred"
    rc = main(["infer", str(CONFIG), str(tmp_path / "run" / "latest.pt"), "--data-root",
               str(kitti_root), "--split", "training", "--out", str(pred), "--device", "cpu",
               *sets])  # fmt: skip
    assert rc == 0
    metrics = tmp_path / "metrics.json"
    rc = main(["eval", "kitti", "--gt-dir", str(kitti_root), "--pred-dir", str(pred),
               "--score-threshold", "0.5", "--out", str(metrics)])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    result = json.loads(metrics.read_text())
    moderate = 1
    counted = result["meta"]["gt_counted"]
    assert [counted[c]["moderate"] for c in ("Car", "Pedestrian", "Cyclist")] == [7, 13, 1]
    car, ped, cyc = (result[c]["all_point"] for c in ("Car", "Pedestrian", "Cyclist"))
    assert car["3d@0.7"][moderate] > 95 and car["bev@0.7"][moderate] > 95
    assert cyc["3d@0.5"][moderate] == 100.0
    # 11 of 13: the two pedestrians of the module docstring are out of reach
    assert ped["3d@0.5"][moderate] > 80
    for name, key in (("Car", "3d@0.7"), ("Pedestrian", "3d@0.5"), ("Cyclist", "3d@0.5")):
        assert result[name]["at_score"][key][moderate]["precision"] == 1.0, name
