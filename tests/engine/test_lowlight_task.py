"""The low-light enhancer's task (perception3d/engine/tasks/lowlight.py) through the one
training loop, its config loader, and the held-out comparison and CLI on tiny inputs."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from perception3d.cli import main
from perception3d.config import load_config
from perception3d.engine.config import load_task_config
from perception3d.engine.lowlight_config import LowLightData, LowLightExperiment
from perception3d.engine.train import train
from perception3d.errors import ConfigError
from perception3d.experiments.lowlight_enhance import LowLightEvalConfig, evaluate_lowlight
from perception3d.isp.enhance.illumination import EnhanceModelConfig, load_enhancer
from perception3d.isp.evaluate import save_png
from tests.engine.conftest import weights_of_two_runs, write_procedural_root


@pytest.fixture(scope="module")
def radiance_root(tmp_path_factory):
    """A synthetic-layout root of 3 procedural daylight frames (2 train, 1 val), 64 x 96."""
    return write_procedural_root(tmp_path_factory.mktemp("lowlight_root"), 64, 96, night=False)


def _config(root, steps: int) -> LowLightExperiment:
    base = LowLightExperiment(model=EnhanceModelConfig(width=8, denoise_width=8, denoise_depth=3))
    data = LowLightData(root=root, crop=32, val_root=root, max_val_frames=1, val_crop_hw=(32, 64))
    train_cfg = dataclasses.replace(base.train, epochs=2, steps_per_epoch=steps, batch_size=4,
                                    lr_max=0.003, num_threads=1)  # fmt: skip
    return dataclasses.replace(base, data=data, train=train_cfg)


@pytest.fixture(scope="module")
def trained(radiance_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("lowlight_run")
    return train(_config(radiance_root, 12), out, progress=False), out


def test_a_tiny_run_lowers_the_loss_and_validates(trained):
    result, out = trained
    epochs = result.history["epochs"]
    assert epochs[1]["loss"] < epochs[0]["loss"]
    val = epochs[-1]["val"]
    assert val["frames"] == 1 and val["gamma_psnr"] > val["input_psnr"]
    model = load_enhancer(out / "model.pt")
    assert model(torch.rand(1, 3, 16, 16))[0].shape == (1, 3, 16, 16)


def test_the_same_config_gives_the_same_weights(radiance_root, tmp_path):
    a, b = weights_of_two_runs(_config(radiance_root, 2), tmp_path)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_shipped_configs_load_and_reject_unknown_keys():
    cfg = load_task_config("configs/isp/train_lowlight.yaml")
    assert isinstance(cfg, LowLightExperiment) and cfg.kind == "isp_lowlight"
    with pytest.raises(ConfigError, match="denoise_widht"):
        load_task_config("configs/isp/train_lowlight.yaml", ["model.denoise_widht=8"])
    with pytest.raises(ConfigError, match="gama"):
        load_config("configs/isp/eval_lowlight.yaml", LowLightEvalConfig, ["data.gama=1"])
    with pytest.raises(ValueError, match="even"):
        LowLightData(crop=33)


def test_held_out_comparison_and_cli(trained, radiance_root, tmp_path):
    _, out = trained
    save_png(tmp_path / "in" / "a.png", torch.rand(3, 20, 30) * 0.2)
    cfg = LowLightEvalConfig(weights=out / "model.pt", seed=5)
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(
        cfg.data, root=radiance_root, val_split="val", fit_root=radiance_root,
        real_images=(tmp_path / "in",)))  # fmt: skip
    result = evaluate_lowlight(cfg, tmp_path / "eval", log=lambda _: None)
    assert result["real"]["frames"] == ["real/a"] and "enhancer" in result["real"]["mean"]
    assert set(result["mean"]) == {"input", "gamma", "gamma_bilateral", "clahe", "enhancer"}
    assert result["mean"]["gamma"]["psnr"] > result["mean"]["input"]["psnr"]
    assert result["frames"] == ["000002"] and (tmp_path / "eval" / "grid.png").is_file()
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["best_baseline"] in (
        "gamma", "gamma_bilateral", "clahe")  # fmt: skip
    assert main(["isp", "lowlight-enhance", str(tmp_path / "in"), "--weights",
                 str(out / "model.pt"), "--out", str(tmp_path / "enh")]) == 0  # fmt: skip
    assert (tmp_path / "enh" / "a.png").is_file()
