"""The SR task (perception3d/engine/tasks/sr.py) through the one training loop: a tiny run
lowers the loss, the same config gives the same weights, the config checks its sizes."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from perception3d.engine.config import load_task_config
from perception3d.engine.sr_config import SrData, SrExperiment
from perception3d.engine.train import train
from perception3d.isp.sr import SrModelConfig, load_sr_model
from tests.engine.conftest import weights_of_two_runs, write_procedural_root


@pytest.fixture(scope="module")
def radiance_root(tmp_path_factory):
    """A synthetic-layout root of 3 procedural frames (2 train, 1 val), 64 x 128."""
    return write_procedural_root(tmp_path_factory.mktemp("sr_root"), 64, 128)


def _config(root, steps: int, lr: float = 0.003) -> SrExperiment:
    base = SrExperiment(model=SrModelConfig("espcn", 2, (16, 8)))
    data = SrData(root=root, crop=32, val_root=root, max_val_frames=1, val_crop_hw=(32, 64))
    train_cfg = dataclasses.replace(base.train, epochs=2, steps_per_epoch=steps, batch_size=4,
                                    lr_max=lr)  # fmt: skip
    return dataclasses.replace(base, data=data, train=train_cfg)


def test_a_tiny_run_lowers_the_loss_and_validates(radiance_root, tmp_path):
    result = train(_config(radiance_root, 15), tmp_path / "run", progress=False)
    epochs = result.history["epochs"]
    assert epochs[1]["loss"] < epochs[0]["loss"]
    val = epochs[-1]["val"]
    assert val["frames"] == 1 and val["bicubic_psnr"] > 10.0
    assert val["gain_db"] == pytest.approx(val["psnr"] - val["bicubic_psnr"])
    model = load_sr_model(tmp_path / "run" / "model.pt")
    assert model(torch.rand(1, 3, 8, 8)).shape == (1, 3, 16, 16)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["frames"] == 1


def test_the_same_config_gives_the_same_weights(radiance_root, tmp_path):
    a, b = weights_of_two_runs(_config(radiance_root, 2), tmp_path)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_crops_must_hold_whole_mosaic_cells():
    with pytest.raises(ValueError, match="multiples of 2 x scale = 8"):
        SrExperiment(model=SrModelConfig("espcn", 4), data=SrData(crop=36))


@pytest.mark.parametrize(
    "name",
    ["espcn_x2", "srcnn_x2", "espcn_x4", "espcn_x2_ft", "srcnn_x2_ft", "espcn_x4_ft"],
)
def test_the_shipped_training_configs_load(name):
    cfg = load_task_config(f"configs/isp/train_sr_{name}.yaml")
    assert isinstance(cfg, SrExperiment) and cfg.kind == "isp_sr"
    # a second stage starts from its first stage's weights, same architecture and scale
    if name.endswith("_ft"):
        first = load_task_config(f"configs/isp/train_sr_{name[:-3]}.yaml")
        assert cfg.train.init_weights is not None and cfg.model == first.model
