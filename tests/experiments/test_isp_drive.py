"""The ISP-effect experiment over drives on a tiny synthetic drive with random-weight networks:
every (source, detector) row is there with finite numbers, a perfect ISP's displayed frames are
the drive's image_02 (per-frame exposure), a second run answers from the cache, and the config
refuses what it cannot run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from perception3d.config import ConfigError
from perception3d.experiments.isp_drive import (
    DriveSection,
    IspDriveConfig,
    condition,
    develop_drives,
    load_isp_drive_config,
    run_isp_drive,
)
from perception3d.experiments.isp_effect import fused_detectors
from tests.data.test_drive_object_root import write_tiny_drives
from tests.experiments.test_isp_effect import _tiny_frustum_checkpoints, random_weight_networks

pytest.importorskip("pykitti")
pytest.importorskip("open3d")

ROOT = Path(__file__).parents[2]
LEVEL = 1 / 300


def _temporal_weights(path: Path) -> Path:
    from perception3d.checkpoint import make_checkpoint, write_checkpoint
    from perception3d.isp.temporal import TemporalRawUNet

    torch.manual_seed(0)
    ckpt = make_checkpoint("isp_temporal", TemporalRawUNet(width=4).state_dict(),
                           {"model": {"width": 4, "recurrent": True}})  # fmt: skip
    write_checkpoint(path, ckpt)
    return path


@pytest.fixture(scope="module")
def drives(tmp_path_factory):
    root = tmp_path_factory.mktemp("drives")
    write_tiny_drives(root, frames=3, seed=4)
    return root


def _config(tmp_path: Path, drives: Path, **kw) -> IspDriveConfig:
    seg, ckpts = random_weight_networks(tmp_path)
    f2d, f3d = _tiny_frustum_checkpoints(tmp_path)
    return IspDriveConfig(
        drives=DriveSection(drives, levels=(LEVEL,), max_frames=3),
        seg_weights=seg, painted_checkpoint=ckpts["pointpainting_lite"],
        lidar_checkpoint=ckpts["pointpillars_lite"], frustum_2d_checkpoint=f2d,
        frustum_3d_checkpoint=f3d, bootstrap=4, **kw,
    )  # fmt: skip


@pytest.mark.slow
def test_runner_on_a_tiny_drive(tmp_path, drives, monkeypatch):
    sources = ("malvar", "classical_temporal", "learned", "learned_recursive", "temporal",
               "reference")  # fmt: skip
    cfg = _config(tmp_path, drives, sources=sources,
                  temporal_weights=_temporal_weights(tmp_path / "t.pt"))  # fmt: skip
    out = tmp_path / "out"
    summary = run_isp_drive(cfg, out)
    name = condition(LEVEL).name
    expected = {(name, d, s) for d in ("pointpainting", "frustum_pointnet") for s in sources}
    expected.add((name, "lidar_only", "lidar_only"))
    rows = summary["rows"]
    assert {(r["condition"], r["detector"], r["isp"]) for r in rows} == expected
    assert len(rows) == len(expected) and summary["num_frames"] == 3
    for r in rows:
        for key, value in r["metrics"].items():
            lo, hi = r["ci"][key]
            assert math.isfinite(value) and lo <= value + 1e-9 and value <= hi + 1e-9
        if r["isp"] not in ("reference", "lidar_only"):
            assert math.isfinite(r["psnr_db"]) and -1 <= r["ssim"] <= 1
            folder = out / "work" / "images" / name / r["isp"] / "image_2"
            assert sorted(p.stem for p in folder.glob("*.png")) == summary["frames"]
    clip = summary["clip_scores"][name]["2011_09_26_drive_0001_sync"]
    assert set(clip) == set(sources)  # the clip metrics of every method, the floor's too
    for cls, n in summary["distinct_objects"].items():
        assert 0 <= n["objects"] <= n["rows"] == summary["objects"][cls]
    # every source against the single-frame learned stage, paired, per condition and detector
    deltas = summary["vs_learned"]
    assert len(deltas) == 2 * (len(sources) - 1)
    by = {(r["detector"], r["isp"]): r["metrics"]["map_3d"] for r in rows}
    for d in deltas:
        assert d["delta"] == pytest.approx(
            by[d["detector"], d["isp"]] - by[d["detector"], "learned"]
        )
        assert d["ci"][0] <= d["ci"][1]
    assert not any("map_3d_samples" in r for r in rows)
    table = (out / "isp_effect.md").read_text()
    assert "distinct tracklets" in table and "| warping error |" in table
    assert "| mAP 3D difference |" in table
    assert (out / "report.html").stat().st_size > 0

    def fail(*args, **kwargs):
        raise AssertionError("a cached step was recomputed")

    monkeypatch.setattr("perception3d.engine.infer.infer", fail)
    monkeypatch.setattr("perception3d.engine.frustum_infer.infer_frustum", fail)
    monkeypatch.setattr("perception3d.isp.temporal_eval.clip_outputs", fail)
    again = run_isp_drive(cfg, out)
    assert json.dumps(again["rows"], default=str) == json.dumps(rows, default=str)


@pytest.mark.slow
def test_a_perfect_isp_displays_image_02(tmp_path, drives, monkeypatch):
    """Every source replaced by the clip's clean reference (sRGB at the clip's exposure): the
    displayed frames, brought to each frame's own exposure, are the drive's image_02."""
    from perception3d.data.drive_object_root import FRAMES_FILE, write_drive_object_root
    from perception3d.isp.color import linear_to_srgb

    def perfect(clip, models):
        srgb = linear_to_srgb((clip.reference * clip.display_gain).clamp(0, 1))
        return {"learned": srgb}, {}

    monkeypatch.setattr("perception3d.isp.temporal_eval.clip_outputs", perfect)
    cfg = _config(tmp_path, drives, sources=("learned",))
    root = tmp_path / "kitti"
    write_drive_object_root(drives, root)
    index = json.loads((root / FRAMES_FILE).read_text())
    quality, _ = develop_drives(cfg, root, index, LEVEL, tmp_path / "work")
    exposure = json.loads(next(drives.glob("*/*_sync/synth_drive.json")).read_text())["exposure"]
    assert len(set(exposure[:3])) == 3  # the frames' exposures differ: the gain matters
    for oid, q in quality["learned"].items():
        assert q["psnr_db"] > 40.0, (oid, q)


def test_config_refuses_what_it_cannot_run(tmp_path):
    config = ROOT / "configs" / "fusion" / "isp_effect_drives.yaml"
    cfg = load_isp_drive_config(config)
    assert fused_detectors(cfg) == ("pointpainting", "frustum_pointnet")
    assert cfg.drives.levels[0] == pytest.approx(1 / 300) and cfg.temporal_weights is None
    for override, message in (
        ("sources=[learned, temporal]", "needs temporal_weights"),
        ("sources=[none]", "unknown"),
        ("drives.levels=[2.0]", "levels"),
        ("drives.frames=3", "frames"),  # an unknown key
    ):
        with pytest.raises(ConfigError, match=message):
            load_isp_drive_config(config, [override])
