"""The command line: the demo runs end to end and errors come out as messages, not tracebacks."""

from __future__ import annotations

import json

import pytest

from perception3d.cli import main


@pytest.mark.slow
def test_demo_runs_on_sample_frames(tmp_path, kitti_root, capsys):
    import torch

    from perception3d.engine.checkpoint import save_checkpoint
    from perception3d.models.detector import build_detector
    from tests.models.conftest import tiny_config

    cfg = tiny_config(kitti_root)
    torch.manual_seed(0)
    weights = save_checkpoint(tmp_path / "w.pt", build_detector(cfg.model), None, 0, cfg)
    out = tmp_path / "demo"
    args = ["demo", "--data-root", str(kitti_root), "--weights", str(weights), "--out", str(out)]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == 3 and len(summary["pictures"]) == 3
    assert set(summary["ap_3d_r40_moderate"]) == {"Car", "Pedestrian", "Cyclist"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert "3d@0.7" in metrics["Car"]["R40"]
    assert sorted(p.name for p in (out / "pred").glob("*.txt")) == [
        "000000.txt",
        "000008.txt",
        "004139.txt",
    ]
    assert "perception3d demo: 3 frames" in capsys.readouterr().out


def test_demo_with_missing_root_is_a_clear_error(tmp_path, capsys):
    assert main(["demo", "--data-root", str(tmp_path / "nope")]) == 2
    assert "no KITTI 'training/' folder" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "perception3d" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_on_embedded_synthetic_frames_with_shipped_weights(tmp_path, capsys):
    pytest.importorskip("open3d")  # the synthetic frames are ray-cast with Open3D
    from perception3d.demo import run_demo

    summary = run_demo(tmp_path, frames=3, progress=False)
    assert summary["frames"] == 3 and len(summary["pictures"]) == 3
    assert (tmp_path / "synth" / "ImageSets" / "val.txt").read_text().split() == [
        "000000",
        "000001",
        "000002",
    ]
    assert len(list((tmp_path / "pred").glob("*.txt"))) == 3
    assert "AP_R40" in capsys.readouterr().out
    # The shipped detector finds cars in synthetic scenes it never saw.
    assert summary["ap_3d_r40_moderate"]["Car"] > 0
