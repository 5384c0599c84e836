"""The ISP-effect runner on a real KITTI root: one real frame (tests/data/kitti_samples 000008),
random-weight detectors. The scenes come from the unprocessed image_2 and the completed LiDAR
depth, the table states object counts and the uncapped all-point AP beside the capped AP_R40,
and the depth-completion check is reported."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from perception3d.config import DataSection
from perception3d.experiments.isp_effect import IspEffectConfig, run_isp_effect
from perception3d.experiments.isp_effect_capture import (
    Condition,
    ensure_radiance,
    is_real_root,
    load_scene,
)
from tests.experiments.test_isp_effect import random_weight_networks

pytest.importorskip("open3d")


def _real_root(kitti_root: Path, tmp_path: Path, ids=("000008",)) -> Path:
    """A KITTI root of symlinks to sample frames, with ImageSets/val.txt listing ``ids``."""
    root = tmp_path / "real"
    for folder, ext in (("image_2", "png"), ("velodyne", "bin"), ("calib", "txt"),
                        ("label_2", "txt")):  # fmt: skip
        (root / "training" / folder).mkdir(parents=True)
        for fid in ids:
            os.symlink(kitti_root / "training" / folder / f"{fid}.{ext}",
                       root / "training" / folder / f"{fid}.{ext}")  # fmt: skip
    (root / "ImageSets").mkdir()
    (root / "ImageSets" / "val.txt").write_text("".join(f"{i}\n" for i in ids))
    return root


def test_real_scenes_in_the_capture_cache(kitti_root, tmp_path):
    root = _real_root(kitti_root, tmp_path)
    assert is_real_root(root, ["000008"])
    assert not is_real_root(root, ["000008", "004139"])  # 004139 has no image_2
    cache = ensure_radiance(root, ["000008"], tmp_path / "cache")
    assert cache == tmp_path / "cache"
    rad, depth, exposure = load_scene(cache, root, "000008")
    assert rad.shape == (1, 3, 375, 1242) and depth.shape == (1, 1, 375, 1242)
    assert exposure == 1.0 and torch.isinf(depth).any() and (depth > 0).all()
    trust = json.loads((cache / "training" / "depth_trust" / "000008.json").read_text())
    assert set(trust) >= {"holdout", "top", "false_sky", "share"}


@pytest.mark.slow
def test_runner_on_a_real_frame(kitti_root, tmp_path):
    root = _real_root(kitti_root, tmp_path)
    seg, ckpts = random_weight_networks(tmp_path)
    conditions = (Condition("clean", "clean"), Condition("fog", "haze", 50.0))
    cfg = IspEffectConfig(
        data=DataSection(root),
        seg_weights=seg,
        painted_checkpoint=ckpts["pointpainting_lite"],
        lidar_checkpoint=ckpts["pointpillars_lite"],
        conditions=conditions,
        isps=("none", "learned", "reference"),
        bootstrap=4,
        threads=1,
        score_threshold=0.5,
    )
    summary = run_isp_effect(cfg, tmp_path / "out", progress=False)
    assert summary["scene_source"] == "real" and summary["frames"] == ["000008"]
    # 000008: 6 cars, of which 4 count at moderate (two are truncated by more than 0.3)
    assert summary["objects"] == {"Car": 4, "Pedestrian": 0, "Cyclist": 0}
    assert summary["r40_cap"]["Car"] == pytest.approx(7.5)
    trust = summary["depth_trust"]
    assert 0.85 < trust["holdout"]["within_10pct"] <= 1.0
    for row in summary["rows"]:
        for key, value in row["metrics"].items():
            assert np.isfinite(value) and 0 <= value <= 100, key
        assert set(row["at_score"]["Car"]) == {"tp", "fp", "fn", "precision", "recall"}
        assert row["at_score"]["Car"]["tp"] + row["at_score"]["Car"]["fn"] == 4
    clean_none = next(r for r in summary["rows"] if r["condition"] == "clean"
                      and r["isp"] == "none")  # fmt: skip
    assert 15.0 < clean_none["psnr_db"] < 35.0  # a real image re-captured: not identical
    table = (tmp_path / "out" / "isp_effect.md").read_text()
    assert "(n 4 / 0 / 0)" in table and "1 real frames" in table
    assert "(all " in table and "mAP 3D all-point" in table
    assert "Detections scoring >= 0.5" in table
    for name in ("isp_effect.json", "isp_effect.png", "report.html"):
        assert (tmp_path / "out" / name).stat().st_size > 0


CONFIGS = Path(__file__).parents[2] / "configs"


def test_nanodet_config_is_the_real_experiment_with_the_coco_2d_stage():
    """isp_effect_real_nanodet.yaml (docs/isp_effect.md, the NanoDet table) changes only
    Frustum PointNet's 2D stage (and the thread count) from isp_effect_real.yaml: same
    conditions, image sources, seeds, score threshold and every other network."""
    import dataclasses

    from perception3d.engine.frustum_infer import yaml_task
    from perception3d.experiments.isp_effect import load_isp_effect_config

    base = load_isp_effect_config(CONFIGS / "fusion" / "isp_effect_real.yaml")
    nano = load_isp_effect_config(CONFIGS / "fusion" / "isp_effect_real_nanodet.yaml")
    assert nano.frustum_2d_checkpoint == CONFIGS / "frustum" / "detector2d_nanodet.yaml"
    assert yaml_task(nano.frustum_2d_checkpoint) == "detector2d_nanodet"
    assert nano.detectors == ("pointpainting", "frustum_pointnet")
    same = dataclasses.replace(nano, frustum_2d_checkpoint=base.frustum_2d_checkpoint,
                               threads=base.threads)  # fmt: skip
    assert same == base


def _have_nanodet() -> bool:
    from perception3d.models.nanodet_coco import nanodet_model_json

    try:
        nanodet_model_json()
    except FileNotFoundError:
        return False
    return True


@pytest.mark.skipif(
    not _have_nanodet(), reason="NanoDet weights not installed (make pretrained-npm)"
)
def test_frustum_predictions_with_a_2d_detector_yaml(kitti_root, tmp_path):
    """The experiment's Frustum PointNet step takes the NanoDet YAML as its 2D stage (no
    horizon windows: the detector tiles the image itself): on real frame 000008 its Car rows'
    2D boxes match at least 4 of the 6 labelled cars (IoU >= 0.5 at score >= 0.3), and a
    second call with the same inputs is answered from the cache."""
    from perception3d.data.kitti_labels import read_label_file
    from perception3d.experiments.isp_effect_predict import predict_frustum_pointnet
    from perception3d.geometry.iou import iou_2d

    root = _real_root(kitti_root, tmp_path)
    images = root / "training" / "image_2"
    det2d = CONFIGS / "frustum" / "detector2d_nanodet.yaml"
    ckpt_3d = Path(__file__).parents[2] / "perception3d/assets/weights/frustum_pointnet_synth.pt"
    pred = predict_frustum_pointnet(det2d, ckpt_3d, root, images, tmp_path / "pred", ["000008"],
                                    threads=1)  # fmt: skip
    rows = read_label_file(pred / "000008.txt")
    labels = read_label_file(root / "training" / "label_2" / "000008.txt")
    cars = np.array([o.bbox for o in labels if o.type == "Car"])
    found = np.array([o.bbox for o in rows if o.type == "Car" and o.score >= 0.3])
    assert len(cars) == 6 and len(found) > 0
    assert (iou_2d(cars, found).max(1) >= 0.5).sum() >= 4
    done = json.loads((pred / "done.json").read_text())
    (pred / "000008.txt").write_text("")  # a recomputation would rewrite it
    predict_frustum_pointnet(det2d, ckpt_3d, root, images, tmp_path / "pred", ["000008"], 1)
    assert (pred / "000008.txt").read_text() == "" and done["frames"] == 1
