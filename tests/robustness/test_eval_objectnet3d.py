"""``perception3d eval objectnet3d`` on bad prediction folders and files (issue 19, item 7): a
missing or misnamed ``detections_<class>.txt`` is an error, a degenerate box a false positive,
never a traceback; ``--toolbox-indexing`` reproduces the toolbox script's viewpoint lookup."""

from __future__ import annotations

import json

import pytest

from perception3d.data.objectnet3d import ObjectNet3DObject, Viewpoint
from tests.eval.objectnet3d_roots import write_root


def _vp(azimuth_deg):
    return Viewpoint(azimuth_deg, 0.0, 0.0, 5.0, 1.0, 2000.0, 50.0, 50.0)


@pytest.fixture
def root(tmp_path):
    """Two images; image a holds a chair then a car (the toolbox's objects(j) case)."""
    root = tmp_path / "on3d"
    records = {
        "a": [ObjectNet3DObject("chair", (200, 0, 260, 60), 1, _vp(100.0)),
              ObjectNet3DObject("car", (0, 0, 99, 99), 1, _vp(0.0))],
        "b": [ObjectNet3DObject("car", (10, 10, 59, 59), 1, _vp(30.0))],
    }  # fmt: skip
    return write_root(root, records, (320, 240))


@pytest.fixture
def toolbox_dir(tmp_path):
    folder = tmp_path / "dets"
    folder.mkdir()
    (folder / "detections_car.txt").write_text(
        "a 0 0 99 99 0.9 0 0 0\nb 10 10 59 59 0.8 0.5236 0 0\n"
    )
    (folder / "detections_chair.txt").write_text("a 200 0 260 60 0.7 1.7453 0 0\n")
    return folder


def test_a_missing_class_file_is_an_error(run_cli, root, toolbox_dir):
    (toolbox_dir / "detections_chair.txt").unlink()
    status, out, err = run_cli("eval", "objectnet3d", "--data-root", root, "--pred", toolbox_dir)
    assert status == 2 and "detections_chair.txt" in err and "empty file" in err
    assert out == ""  # no table with a silent 0 for chair


def test_a_file_of_an_unknown_class_is_an_error_not_a_traceback(run_cli, root, toolbox_dir):
    (toolbox_dir / "detections_bus.txt").write_text("a 0 0 9 9 0.5 0 0 0\n")
    status, _, err = run_cli("eval", "objectnet3d", "--data-root", root, "--pred", toolbox_dir)
    assert status == 2 and "detections_bus.txt: class 'bus' is not in" in err
    single = toolbox_dir.parent / "pred.txt"
    single.write_text("a car 0 0 99 99 0.9 0 0 0\nb bus 0 0 9 9 0.5 0 0 0\n")
    status, _, err = run_cli("eval", "objectnet3d", "--data-root", root, "--pred", single)
    assert status == 2 and f"{single}, line 2: class 'bus' is not in" in err


def test_a_degenerate_box_is_a_false_positive(run_cli, root, toolbox_dir, tmp_path):
    with (toolbox_dir / "detections_car.txt").open("a") as f:
        f.write("b 50 10 40 59 0.95 0 0 0\n")  # x2 < x1 - 1, scored highest
    out_json = tmp_path / "r.json"
    status, _, _ = run_cli(
        "eval", "objectnet3d", "--data-root", root, "--pred", toolbox_dir, "--out", out_json
    )
    assert status == 0
    car = json.loads(out_json.read_text())["classes"]["car"]
    # FP, TP, TP: precision 1/2 then 2/3 at recall 1/2, 1 -> AP = 1/2 * 2/3 + 1/2 * 2/3
    assert car["num_det"] == 3 and car["ap"] == pytest.approx(100 * 2 / 3)


def test_toolbox_indexing_reproduces_the_scripts_lookup(run_cli, root, toolbox_dir, tmp_path):
    fixed, unfixed = tmp_path / "fixed.json", tmp_path / "unfixed.json"
    argv = ["eval", "objectnet3d", "--data-root", root, "--pred", toolbox_dir]
    assert run_cli(*argv, "--out", fixed)[0] == 0
    status, _, err = run_cli(*argv, "--out", unfixed, "--toolbox-indexing")
    assert status == 0 and "toolbox script" in err
    fixed, unfixed = (json.loads(p.read_text())["classes"]["car"] for p in (fixed, unfixed))
    # image a: the car is objects(2); the script reads objects(1), the chair (100 degrees)
    assert fixed["avp"] == pytest.approx(100.0)
    assert unfixed["avp"] < fixed["avp"] and unfixed["ap"] == fixed["ap"]
