"""`perception3d isp run|train|eval` and the YAML-configured pipeline, end to end on small
inputs (the sample KITTI frames, unprocessed; a tiny synthetic radiance root)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from perception3d.cli import main
from perception3d.config import load_config
from perception3d.isp.pipeline import IspPipeline, PipelineConfig, Stages, Weights
from perception3d.isp.run import load_raw, save_raw
from perception3d.isp.sensor import SensorParams, capture
from tests.isp.conftest import train_tiny_stage

CONFIGS = ["none", "classical", "learned", "classical_haze", "learned_haze", "learned_hdr"]


@pytest.mark.parametrize("name", CONFIGS)
def test_shipped_configs_load_and_run(name):
    from pathlib import Path

    cfg = load_config(Path("configs/isp") / f"{name}.yaml", PipelineConfig)
    pipe = IspPipeline(cfg)
    raw, meta = capture(torch.rand(1, 3, 37, 50) * 0.3, SensorParams(), torch.Generator())
    out = pipe(raw, meta)
    assert out.shape == (1, 3, 37, 50) and out.min() >= 0 and out.max() <= 1


def test_training_configs_load():
    """Every shipped training config is a valid experiment whose model builds."""
    import dataclasses
    from pathlib import Path

    from perception3d.engine.config import load_task_config
    from perception3d.isp.enhance.illumination import IlluminationNet
    from perception3d.isp.sr import build_sr_model
    from perception3d.isp.temporal import build_temporal_model
    from perception3d.isp.weights import build_isp_model

    paths = sorted(Path("configs/isp").glob("train_*.yaml")) + sorted(
        Path("configs/isp").glob("finetune_*.yaml")
    )
    assert len(paths) >= 5
    for path in paths:
        cfg = load_task_config(path)
        if cfg.task == "sr":  # the super-resolution networks (docs/sr.md)
            assert build_sr_model(cfg.model) is not None
            continue
        if cfg.task == "lowlight":  # the sRGB low-light enhancer (docs/isp.md)
            assert IlluminationNet(cfg.model) is not None
            continue
        build = build_temporal_model if cfg.task == "temporal_isp" else build_isp_model
        assert build(dataclasses.replace(cfg.model, width=4)) is not None


def test_missing_weights_is_a_clear_error(tmp_path):
    cfg = PipelineConfig(stages=Stages(raw="learned"), weights=Weights(raw=tmp_path / "no.pt"))
    with pytest.raises(FileNotFoundError, match="learned raw stage"):
        IspPipeline(cfg)


def test_raw_file_round_trip(tmp_path):
    raw, meta = capture(torch.rand(1, 3, 8, 10), SensorParams(), torch.Generator().manual_seed(0))
    save_raw(tmp_path / "000001.npz", raw, meta)
    raw2, meta2 = load_raw(tmp_path / "000001.npz")
    assert torch.equal(raw, raw2) and torch.allclose(meta.wb_gains, meta2.wb_gains)


def test_isp_run_on_real_kitti_images(kitti_root, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(
            [
                "isp",
                "run",
                "configs/isp/classical.yaml",
                "--data-root",
                str(kitti_root),
                "--out",
                str(out),
                "--set",
                "classical.denoise=none",
            ]
        )
        == 0
    )
    from perception3d.data.kitti import image_size_hw

    for fid in ("000000", "000008"):
        size = image_size_hw(kitti_root / "training" / "image_2" / f"{fid}.png")
        assert image_size_hw(out / "image_2" / f"{fid}.png") == size
    summary = json.loads((out / "isp_run.json").read_text())
    assert summary["sources"] == {"image_2": 2}


def test_isp_run_on_synthetic_radiance_is_deterministic(tmp_path):
    root = tmp_path / "synth" / "training"
    (root / "radiance_2").mkdir(parents=True)
    (root / "depth_2").mkdir()
    rng = np.random.default_rng(0)
    np.save(root / "radiance_2" / "000000.npy", rng.uniform(0, 2, (3, 30, 40)).astype(np.float16))
    np.save(root / "depth_2" / "000000.npy", np.full((30, 40), np.inf, np.float16))
    pngs = []
    for k in range(2):
        out = tmp_path / f"out{k}"
        assert (
            main(
                [
                    "isp",
                    "run",
                    "configs/isp/learned_haze.yaml",
                    "--data-root",
                    str(tmp_path / "synth"),
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        pngs.append((out / "image_2" / "000000.png").read_bytes())
    assert pngs[0] == pngs[1]


def test_isp_run_without_frames_is_an_error_message(tmp_path, capsys):
    (tmp_path / "training").mkdir()
    assert (
        main(
            [
                "isp",
                "run",
                "configs/isp/none.yaml",
                "--data-root",
                str(tmp_path),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "no raw_2, radiance_2 or image_2" in capsys.readouterr().err


@pytest.mark.slow
def test_isp_train_and_eval_commands(tmp_path, capsys):
    weights = {}
    for stage in ("raw", "hdr", "dehaze"):
        weights[stage] = train_tiny_stage(stage, tmp_path / stage, crop=64)
    sets = ["train.epochs=1", "train.steps_per_epoch=1", "train.batch_size=1", "model.width=4",
            "data.procedural=1", "data.real_images=[]"]  # fmt: skip
    out = tmp_path / "cli_raw"
    args = ["isp", "train", "configs/isp/train_raw.yaml", "--out", str(out), "--no-progress"]
    assert main(args + [a for s in sets for a in ("--set", s)]) == 0
    assert (out / "model.pt").is_file() and (out / "history.json").is_file()
    sets = [f"weights.{k}={v}" for k, v in weights.items()]
    args = [
        "isp",
        "eval",
        "configs/isp/eval_procedural.yaml",
        "--out",
        str(tmp_path / "ev"),
        "--set",
        "data.procedural=1",
        "--set",
        "denoise=bilateral",
    ]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0
    result = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert set(result["conditions"]) == {"lowlight", "hdr", "haze"}
    for block in result["conditions"].values():
        assert set(block["mean"]) == {"none", "classical", "learned"}
    assert (tmp_path / "ev" / "grid.png").is_file()
    assert "| lowlight |" in capsys.readouterr().out
