"""The ISP-effect runner on a tiny configuration: two tiny synthetic frames, random-weight
networks; the table must be well formed (every condition x detector x image source, finite
numbers, intervals around the values) and a second run must reuse everything (no detector runs
again) and give the same table."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from perception3d.config import ConfigError, DataSection
from perception3d.engine.checkpoint import save_checkpoint
from perception3d.engine.config import ExperimentConfig, load_experiment
from perception3d.experiments.isp_effect import (
    IspEffectConfig,
    load_isp_effect_config,
    run_isp_effect,
)
from perception3d.experiments.isp_effect_capture import Condition, describe
from perception3d.experiments.isp_effect_stats import markdown_table
from perception3d.models.detector import build_detector
from perception3d.models.segnet import SegNet, save_segnet

pytest.importorskip("open3d")

ROOT = Path(__file__).parents[2]


def random_weight_networks(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    """Seeded random-weight segmentation net and LiDAR / PointPainting detectors, saved in
    ``tmp_path``: (segnet weights, {config name: checkpoint})."""
    torch.manual_seed(0)
    seg = save_segnet(SegNet(width=4), tmp_path / "seg.pt")
    ckpts = {}
    for name in ("pointpillars_lite", "pointpainting_lite"):
        exp: ExperimentConfig = load_experiment(f"configs/models/{name}.yaml")
        ckpts[name] = save_checkpoint(
            tmp_path / f"{name}.pt", build_detector(exp.model), None, 0, exp
        )
    return seg, ckpts


def _tiny_frustum_checkpoints(tmp_path: Path) -> tuple[Path, Path]:
    """Random-weight Frustum PointNet checkpoints: a small 2D detector whose heatmap depends
    on the image (random output layer) and whose boxes are 12 x 12 output cells, about a
    third of the tiny image's height, keeping its top 5 peaks at any score (so frustums hold
    points), and a narrow 3D stage."""
    from perception3d.config import from_dict
    from perception3d.engine.frustum_config import Detector2DExperiment, FrustumExperiment
    from perception3d.engine.frustum_infer import build_detector2d, build_frustum_model

    data = {"root": str(tmp_path)}
    cfg_2d = from_dict(Detector2DExperiment, {"data": data, "model": {
        "input_hw": [64, 208], "channels": [8, 8, 16, 16], "neck_channels": 8,
        "head_channels": 8, "score_threshold": 0.0, "max_detections": 5}})  # fmt: skip
    cfg_3d = from_dict(FrustumExperiment, {"data": data, "model": {
        "num_points": 64, "num_object_points": 32, "seg_local_channels": [8, 16],
        "seg_global_channels": [16, 32], "seg_head_channels": [16], "center_channels": [16, 32],
        "center_head_channels": [32], "box_channels": [16, 32], "box_head_channels": [32],
        "min_frustum_points": 1}})  # fmt: skip
    torch.manual_seed(0)
    model_2d = build_detector2d(cfg_2d)
    with torch.no_grad():  # the trained-from-zero output layer would give a flat heatmap
        torch.nn.init.normal_(model_2d.out.weight, std=0.5)
        model_2d.out.bias[3:5] = math.log(12.0)  # log box (w, h) in output cells
    return (
        save_checkpoint(tmp_path / "f2d.pt", model_2d, None, 0, cfg_2d),
        save_checkpoint(tmp_path / "f3d.pt", build_frustum_model(cfg_3d), None, 0, cfg_3d),
    )  # fmt: skip


def test_frustum_checkpoints_come_in_pairs(tmp_path):
    with pytest.raises(ValueError, match="frustum_2d_checkpoint is set but frustum_3d"):
        IspEffectConfig(
            data=DataSection(tmp_path), seg_weights=tmp_path, painted_checkpoint=tmp_path,
            lidar_checkpoint=tmp_path, conditions=(Condition("clean", "clean"),),
            frustum_2d_checkpoint=tmp_path / "f2d.pt",
        )  # fmt: skip
    config = ROOT / "configs" / "fusion" / "isp_effect_quick.yaml"
    with pytest.raises(ConfigError, match="frustum_3d_checkpoint is set but frustum_2d"):
        load_isp_effect_config(config, ["frustum_2d_checkpoint=null"])
    both = load_isp_effect_config(config)  # the shipped configs measure both detectors
    assert both.detectors == ("pointpainting", "frustum_pointnet")
    assert both.frustum_2d_checkpoint.is_file() and both.frustum_3d_checkpoint.is_file()
    neither = ["frustum_2d_checkpoint=null", "frustum_3d_checkpoint=null"]
    assert load_isp_effect_config(config, neither).detectors == ("pointpainting",)


def _row(cond: str, detector: str, isp: str, map_3d: float) -> dict:
    metrics = {"map_3d": map_3d, "map_bev": map_3d}
    metrics.update({f"{m}_{c}": map_3d for m in ("3d", "bev") for c in ("Car", "Pedestrian",
                                                                           "Cyclist")})  # fmt: skip
    return {"condition": cond, "detector": detector, "isp": isp, "metrics": metrics}


def test_one_table_per_fused_detector_each_with_the_floor():
    meta = {"num_frames": 2, "metric": "m", "confidence": 0.9, "bootstrap": 0}
    pp = {**meta, "rows": [_row("clean", "pointpainting", "none", 1.0),
                           _row("clean", "lidar_only", "lidar_only", 2.0)]}  # fmt: skip
    one = markdown_table(pp)
    assert one.count("| condition |") == 1 and "**" not in one  # PointPainting only: as before
    assert one.splitlines()[2] == (
        "| clean | none | - | - | 1.0 | 1.0 | 1.0 / 1.0 / 1.0 | 1.0 / 1.0 / 1.0 | - |"
    )
    both = {**pp, "rows": [*pp["rows"][:1], _row("clean", "frustum_pointnet", "none", 3.0),
                           pp["rows"][1]]}  # fmt: skip
    text = markdown_table(both)
    first, second = text.split("**Frustum PointNet")
    assert first.count("| condition |") == 1 and second.count("| condition |") == 1
    assert "| clean | none | - | - | 1.0 |" in first and "| 3.0 |" not in first
    assert "| clean | none | - | - | 3.0 |" in second and "| 1.0 |" not in second
    for part in (first, second):  # the LiDAR-only floor is in both tables
        assert "| clean | lidar_only | - | - | 2.0 |" in part


@pytest.mark.slow
def test_runner_on_a_tiny_configuration(tmp_path, monkeypatch):
    from perception3d.sim.config import load_synth_config
    from perception3d.sim.writer import generate_dataset
    from tests.sim.conftest import TINY

    root = tmp_path / "synth"
    generate_dataset(root, load_synth_config(None, [*TINY, "frames=2", "seed=5"]), progress=False)
    (root / "ImageSets" / "all.txt").write_text("000000\n000001\n")
    seg, ckpts = random_weight_networks(tmp_path)
    conditions = (
        Condition("clean", "clean"),
        Condition("dark", "lowlight", 0.01),
        Condition("hdr", "hdr", 0.1),
        Condition("fog", "haze", 50.0),
    )
    frustum_2d, frustum_3d = _tiny_frustum_checkpoints(tmp_path)
    cfg = IspEffectConfig(
        data=DataSection(root, val_split="all"),
        seg_weights=seg,
        painted_checkpoint=ckpts["pointpainting_lite"],
        lidar_checkpoint=ckpts["pointpillars_lite"],
        conditions=conditions,
        bootstrap=4,
        threads=1,
        frustum_2d_checkpoint=frustum_2d,
        frustum_3d_checkpoint=frustum_3d,
    )
    summary = run_isp_effect(cfg, tmp_path / "out", progress=False)
    rows = summary["rows"]
    sources = ("none", "classical", "learned", "reference")
    expected = [
        (c.name, d, s)
        for c in conditions
        for d in ("pointpainting", "frustum_pointnet")
        for s in sources
    ] + [(c.name, "lidar_only", "lidar_only") for c in conditions]
    assert sorted((r["condition"], r["detector"], r["isp"]) for r in rows) == sorted(expected)
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
            floor = next(f for f in rows if f["condition"] == r["condition"]
                         and f["detector"] == "lidar_only")  # fmt: skip
            delta = r["metrics"]["map_3d"] - floor["metrics"]["map_3d"]
            assert r["delta_map_3d_vs_lidar"] == pytest.approx(delta)
    # the random 2D detector keeps 5 boxes per image: Frustum PointNet wrote result rows from
    # each source's images
    for cond in conditions:
        for key in (f"{cond.name}_none", f"{cond.name}_learned"):
            pred = tmp_path / "out" / "work" / "pred" / "frustum_pointnet" / key
            assert sum(len(p.read_text().splitlines()) for p in pred.glob("0*.txt")) > 0
    table = (tmp_path / "out" / "isp_effect.md").read_text()
    # one table per fused detector, each with the floor rows: a line per row after the header
    lines = [x for x in table.splitlines() if x.startswith("| ") and "| condition |" not in x]
    assert len(lines) == len(rows) + len(conditions)
    assert table.count("| condition |") == 2 and "**Frustum PointNet" in table
    for name in ("isp_effect.json", "isp_effect.png", "report.html"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert describe(conditions[3]).startswith("haze/fog, MOR 50 m")

    # resumable and deterministic: a second run reuses every step (no detector runs again)
    # and gives the same table
    def fail(*args, **kwargs):
        raise AssertionError("a cached prediction was recomputed")

    monkeypatch.setattr("perception3d.engine.infer.infer", fail)
    monkeypatch.setattr("perception3d.engine.frustum_infer.infer_frustum", fail)
    again = run_isp_effect(cfg, tmp_path / "out", progress=False)
    assert json.dumps(again["rows"], default=str) == json.dumps(rows, default=str)

    # new learned-ISP weights (here: a changed key): exactly the learned images and the
    # predictions made from them are redone, nothing else is answered from the cache
    import perception3d.experiments.isp_effect as runner

    key_of = runner._source_key
    monkeypatch.setattr(
        runner,
        "_source_key",
        lambda c, cond, isp: key_of(c, cond, isp) | ({"new": True} if isp == "learned" else {}),
    )
    painted_before = {p.name for p in (tmp_path / "out" / "work" / "painted").iterdir()}
    redone = []
    monkeypatch.setattr(
        "perception3d.engine.infer.infer", lambda *a, **k: redone.append(a[2]) or {}
    )
    monkeypatch.setattr(
        "perception3d.engine.frustum_infer.infer_frustum",
        lambda *a, **k: redone.append(a[4]) or {},
    )
    run_isp_effect(cfg, tmp_path / "out", progress=False)
    assert sorted(Path(p).name for p in redone) == sorted(
        f"{c.name}_learned" for c in conditions for _ in range(2)
    )
    # the new images are painted into new folders: no point painted from the old images is
    # reused (paint_split keeps what it finds in a folder)
    painted_now = {p.name for p in (tmp_path / "out" / "work" / "painted").iterdir()}
    new = sorted(name.rsplit("_", 1)[0] for name in painted_now - painted_before)
    assert new == sorted(f"{c.name}_learned" for c in conditions)
    quality = json.loads(
        (tmp_path / "out" / "work" / "images" / "dark" / "learned" / "quality.json").read_text()
    )
    assert quality["_source"]["new"] is True


def test_the_experiments_frames_are_held_out_from_every_network_it_runs(tmp_path):
    """configs/fusion/isp_effect_frames.txt (and the README's 4 of them) are frames of seed 1000
    that none of the configs' weights was trained on, per the weights' records; the first val
    frames of the default split of that seed (what the README ran before) are not."""
    from perception3d.data.training_frames import SeenFrameWarning, held_out_check
    from perception3d.experiments.isp_effect import evaluated_weights
    from perception3d.sim.frame import frame_split
    from perception3d.sim.subset import parse_frame_ids, read_frame_ids_file

    ids = [f"{i:06d}" for i in read_frame_ids_file(ROOT / "configs/fusion/isp_effect_frames.txt")]
    assert len(ids) == 100 and ids[0] == "000016"  # docs/isp_effect.md's table: frames 16...
    root = tmp_path / "seed1000"
    root.mkdir()
    (root / "synth_config.yaml").write_text("seed: 1000\nframes: 2400\n")
    readme = (ROOT / "README.md").read_text()
    command = next(x for x in readme.splitlines() if "--frame-ids" in x and "isp_effect" in x)
    quick_ids = [f"{i:06d}" for i in parse_frame_ids(command.split("--frame-ids")[1])]
    assert quick_ids == ids[:4]
    for name in ("isp_effect.yaml", "isp_effect_quick.yaml"):
        cfg = load_isp_effect_config(ROOT / "configs" / "fusion" / name)
        assert (
            cfg.data.root.name == "isp_effect_heldout"
            and f"--out data/{cfg.data.root.name}" in readme
        )
        weights = evaluated_weights(cfg)
        assert {w.name for w in weights} >= {"segnet_synth.pt", "isp_raw.pt", "isp_hdr.pt"}
        assert held_out_check(weights, root, ids) == []
    default_val = [f"{i:06d}" for i in range(2400) if frame_split(1000, i, 0.5) == "val"][:4]
    with pytest.warns(SeenFrameWarning):
        messages = held_out_check(weights, root, default_val)
    assert len(messages) == 5  # the 5 detector files
    assert any(m.startswith("segnet_synth.pt was trained on 4 of the 4") for m in messages)


def test_a_warning_leads_the_table():
    meta = {"num_frames": 1, "metric": "m", "confidence": 0.9, "bootstrap": 0}
    rows = [_row("clean", "pointpainting", "none", 1.0)]
    summary = {**meta, "rows": rows, "trained_on_evaluated_frames": ["w.pt was trained on 1"]}
    assert markdown_table(summary).startswith("**Warning: w.pt was trained on 1.**\n")
