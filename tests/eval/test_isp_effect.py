"""The ISP-effect runner on a tiny configuration: two tiny synthetic frames, random-weight
networks; the table must be well formed (every condition x image source, finite numbers,
intervals around the values) and a second run must reuse everything and give the same table."""

from __future__ import annotations

import json
import math

import pytest
import torch

from perception3d.engine.checkpoint import save_checkpoint
from perception3d.engine.config import ExperimentConfig, load_experiment
from perception3d.eval.isp_effect import IspEffectConfig, run_isp_effect
from perception3d.eval.isp_effect_capture import Condition, describe
from perception3d.models.detector import build_detector
from perception3d.models.segnet import SegNet, save_segnet

pytest.importorskip("open3d")


@pytest.mark.slow
def test_runner_on_a_tiny_configuration(tmp_path):
    from perception3d.data.synth.config import load_synth_config
    from perception3d.data.synth.writer import generate_dataset
    from tests.data.synth.conftest import TINY

    root = tmp_path / "synth"
    generate_dataset(root, load_synth_config(None, [*TINY, "frames=2", "seed=5"]), progress=False)
    (root / "ImageSets" / "all.txt").write_text("000000\n000001\n")
    torch.manual_seed(0)
    seg = save_segnet(SegNet(width=4), tmp_path / "seg.pt")
    ckpts = {}
    for name in ("pointpillars_lite", "pointpainting_lite"):
        exp: ExperimentConfig = load_experiment(f"configs/models/{name}.yaml")
        ckpts[name] = save_checkpoint(
            tmp_path / f"{name}.pt", build_detector(exp.model), None, 0, exp
        )
    conditions = (
        Condition("clean", "clean"),
        Condition("dark", "lowlight", 0.01),
        Condition("hdr", "hdr", 0.1),
        Condition("fog", "haze", 50.0),
    )
    cfg = IspEffectConfig(
        data_root=root,
        seg_weights=seg,
        painted_checkpoint=ckpts["pointpainting_lite"],
        lidar_checkpoint=ckpts["pointpillars_lite"],
        conditions=conditions,
        split="all",
        bootstrap=4,
        threads=1,
    )
    summary = run_isp_effect(cfg, tmp_path / "out", progress=False)
    rows = summary["rows"]
    sources = ("none", "classical", "learned", "reference", "lidar_only")
    assert sorted((r["condition"], r["isp"]) for r in rows) == sorted(
        (c.name, s) for c in conditions for s in sources
    )
    for r in rows:
        for key, value in r["metrics"].items():
            lo, hi = r["ci"][key]
            assert math.isfinite(value) and 0 <= value <= 100
            assert lo <= value + 1e-9 and value <= hi + 1e-9, (r["condition"], r["isp"], key)
        if r["isp"] in ("none", "classical", "learned"):
            assert math.isfinite(r["psnr_db"]) and -1 <= r["ssim"] <= 1
        if r["isp"] != "lidar_only":
            lo, hi = r["delta_map_3d_ci"]
            assert lo <= hi
    table = (tmp_path / "out" / "isp_effect.md").read_text()
    assert table.count("\n| ") == len(rows)  # one table line per row after the header
    for name in ("isp_effect.json", "isp_effect.png", "report.html"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert describe(conditions[3]).startswith("haze/fog, MOR 50 m")
    # resumable and deterministic: a second run reuses every step and gives the same table
    again = run_isp_effect(cfg, tmp_path / "out", progress=False)
    assert json.dumps(again["rows"], default=str) == json.dumps(rows, default=str)
