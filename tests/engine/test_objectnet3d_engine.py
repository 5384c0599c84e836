"""ObjectNet3D training commands end to end on a tiny synthetic set; crop geometry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from perception3d.checkpoint import read_checkpoint
from perception3d.cli import main
from perception3d.engine.config import defaults_with
from perception3d.engine.objectnet3d_config import RecognitionExperiment, ViewpointData
from perception3d.engine.objectnet3d_viewpoint import make_batch
from perception3d.engine.train import train
from perception3d.sim.objectnet3d.generate import (
    SynthObjectNet3DConfig,
    generate_synthetic_objectnet3d,
)

TINY = SynthObjectNet3DConfig(num_images=12, cads_per_class=2, seed=1,
                              classes=("car", "chair", "bed"))  # fmt: skip


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("on3d_tiny")
    generate_synthetic_objectnet3d(root, TINY, progress=False)
    return root


def test_recognition_trains_writes_and_is_deterministic(root: Path, tmp_path: Path):
    cfg = defaults_with(RecognitionExperiment, [
        "train.epochs=1", "data.clouds_per_mesh=4", "data.test_clouds_per_mesh=3",
        "data.num_points=64", "model.widths=[16, 32]", "train.batch_size=4",
        "train.validate_every=1"], data={"root": root})  # fmt: skip
    a = train(cfg, tmp_path / "a", progress=False).history["epochs"][-1]["val"]
    b = train(cfg, tmp_path / "b", progress=False).history["epochs"][-1]["val"]
    assert (a["num_train_meshes"], a["num_test_meshes"], a["num_test_clouds"]) == (3, 3, 9)
    assert a["aligned"] == b["aligned"] and a["rotated"] == b["rotated"]
    state = read_checkpoint(tmp_path / "a" / "model.pt", "recognition")
    assert list(state["config"]["model"]["classes"]) == ["car", "chair", "bed"]
    assert json.loads((tmp_path / "a" / "metrics.json").read_text())["aligned"] == a["aligned"]


def test_viewpoint_train_predict_eval_commands(root: Path, tmp_path: Path, capsys):
    sets = ["train.epochs=1", "train.batch_size=8", "model.widths=[8, 8, 16, 16]",
            "train.num_threads=1"]  # fmt: skip
    args = ["objectnet3d", "train-viewpoint", "--data-root", str(root), "--out", str(tmp_path)]
    assert main(args + [a for s in sets for a in ("--set", s)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["val_gt_boxes"]["mean"]["ap"] == pytest.approx(100.0)  # GT boxes
    pred = tmp_path / "again.txt"
    assert main(["objectnet3d", "predict-viewpoint", "--data-root", str(root),
                 "--ckpt", str(tmp_path / "model.pt"), "--out", str(pred)]) == 0  # fmt: skip
    assert pred.read_bytes() == (tmp_path / "val_gt_boxes_pred.txt").read_bytes()
    capsys.readouterr()
    out_json = tmp_path / "eval.json"
    assert main(["eval", "objectnet3d", "--data-root", str(root), "--pred", str(pred),
                 "--out", str(out_json)]) == 0  # fmt: skip
    assert capsys.readouterr().out.splitlines()[-1].startswith("mean")
    result = json.loads(out_json.read_text())
    assert result["mean"]["avp"] == pytest.approx(metrics["val_gt_boxes"]["mean"]["avp"])


def test_crop_window_and_flip():
    cfg = ViewpointData(shift_jitter=0.0, scale_jitter=0.0, context=1.0, precrop_context=1.25,
                        precrop_size=80, crop_size=64)  # fmt: skip
    pixels = np.zeros((16, 3, 80, 80), np.uint8)
    pixels[:, :, 8:72, 8:72] = 255  # the object box fills 1 / 1.25 of the pre-crop
    pixels[:, 0, 8:72, 8:20] = 0  # asymmetric: its left strip is not red
    plain, _ = make_batch(pixels, cfg, None)
    assert plain.shape == (16, 3, 64, 64)
    assert plain[0, 1].mean() > 0.97  # context 1.0: the box fills the crop
    out, flip = make_batch(pixels, cfg, np.random.default_rng(0))
    assert flip.any() and (~flip).any()
    torch.testing.assert_close(out[~flip], plain[~flip])
    torch.testing.assert_close(out[flip], plain[flip].flip(-1), atol=1e-5, rtol=0)
