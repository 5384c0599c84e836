"""The command line: the demo runs end to end and errors come out as messages, not tracebacks."""

from __future__ import annotations

import json

import pytest

from perception3d.cli import main


def test_demo_runs_on_embedded_synthetic_frames(tmp_path, capsys):
    pytest.importorskip("open3d")  # the synthetic frames are ray-cast with Open3D
    assert main(["demo", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [f["frame"] for f in summary["frames"]] == ["000000", "000001", "000002", "000003"]
    assert (tmp_path / "synthkitti" / "training" / "image_2" / "000003.png").is_file()
    for f in summary["frames"]:
        assert f["beam_method"] == "scan_order"  # our sweeps keep KITTI's firing order
        assert sum(f["objects"].values()) == len(f["points_in_boxes"])
        assert f["label_round_trip_max_err_m"] < 1e-9
    assert "perception3d demo: 4 frames" in capsys.readouterr().out


def test_demo_runs_on_sample_frames(kitti_root, tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--data-root", str(kitti_root)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    frames = {f["frame"]: f for f in summary["frames"]}
    assert set(frames) == {"000000", "000008", "004139"}
    assert frames["004139"]["objects"] == {"Car": 5, "Cyclist": 1, "Pedestrian": 16}
    assert frames["000008"]["label_round_trip_max_err_m"] < 1e-9
    assert "perception3d demo: 3 frames" in capsys.readouterr().out


def test_demo_with_missing_root_is_a_clear_error(tmp_path, capsys):
    assert main(["demo", "--data-root", str(tmp_path / "nope")]) == 2
    assert "no KITTI 'training/' folder" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "perception3d" in capsys.readouterr().out
