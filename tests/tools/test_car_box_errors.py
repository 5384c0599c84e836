"""tools/car_box_errors.py: the per-object errors of a detector's boxes against the labels."""

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from perception3d.data.kitti_labels import read_label_file, write_label_file
from tests.tools.scripts import load_tool

ROOT = Path(__file__).parents[1] / "data" / "kitti_samples"


@pytest.fixture(scope="module")
def tool():
    return load_tool("car_box_errors")


def test_offsets_are_in_the_line_of_sight_frame(tool):
    # a car 20 m straight ahead, its length along the camera's z axis; one at 45 degrees
    label = np.array([0.0, 1.6, 20.0, 4.0, 1.5, 1.7, math.pi / 2])
    farther = label + np.array([0, 0, 0.5, 0, 0, 0, 0])
    e = tool.box_error(label, farther)
    assert e.along_m == pytest.approx(0.5) and e.side_m == pytest.approx(0.0)
    assert e.iou3d == pytest.approx(3.5 / 4.5)  # the 4 m length along z overlaps 3.5 m
    assert e.iou3d_fixed["centre"] == pytest.approx(1.0)
    assert e.iou3d_fixed["size"] == pytest.approx(e.iou3d)
    diag = np.array([10.0, 1.6, 10.0, 4.0, 1.5, 1.7, 0.3])
    moved = diag + np.array([0.3, 0.2, 0.3, 0.2, 0.0, 0.0, 2 * math.pi - 0.1])
    e = tool.box_error(diag, moved)
    assert e.along_m == pytest.approx(0.3 * math.sqrt(2)) and abs(e.side_m) < 1e-9
    assert e.dz_m == pytest.approx(0.2) and e.d_lwh_m[0] == pytest.approx(0.2)
    assert e.d_heading_rad == pytest.approx(-0.1)


def test_labels_as_predictions_have_no_error_and_a_missing_file_no_match(tool, tmp_path):
    frames = sorted(p.stem for p in (ROOT / "training" / "label_2").glob("*.txt"))
    perfect = tmp_path / "perfect"
    for f in frames:
        rows = read_label_file(ROOT / "training" / "label_2" / f"{f}.txt")
        cars = [replace(r, score=0.9) for r in rows if r.type == "Car"]
        write_label_file(perfect / f"{f}.txt", cars)
    errors = [e for f in frames for e in tool.frame_errors(ROOT, f, perfect)]
    assert errors and all(e.score == pytest.approx(0.9) for e in errors)
    assert all(e.iou3d > 0.99 and abs(e.along_m) < 1e-6 for e in errors)
    assert all(e.points > 0 for e in errors)
    s = tool.summary(errors)
    assert s["matched"] == s["good"] == s["objects"] == len(errors)
    none = [e for f in frames for e in tool.frame_errors(ROOT, f, tmp_path / "empty")]
    assert len(none) == len(errors) and all(e.score is None and e.iou3d == 0 for e in none)


def test_with_no_overlap_the_nearest_prediction_is_reported(tool, tmp_path):
    frame = "000008"
    labels = read_label_file(ROOT / "training" / "label_2" / f"{frame}.txt")
    target = tool._counted(labels, "Car", 1)[0]
    x, y, z = target.location
    far = replace(target, location=(x, y, z + 30.0), score=0.8)
    near = replace(target, location=(x + 3.0, y, z), score=0.2)
    write_label_file(tmp_path / f"{frame}.txt", [far, near])
    e = next(e for e in tool.frame_errors(ROOT, frame, tmp_path) if e.index == 0)
    assert e.distance_m == pytest.approx(math.hypot(x, z))
    assert e.bev_iou == 0 and e.score == pytest.approx(0.2)  # the near one, not the first row
    assert math.hypot(e.along_m, e.side_m) == pytest.approx(3.0, abs=0.01)


def test_split_is_a_name_or_a_file_and_a_missing_one_is_named(tool, tmp_path, capsys):
    split = tmp_path / "one.txt"
    split.write_text("004139\n")
    tool.main([str(ROOT), str(tmp_path / "empty"), "--split", str(split)])
    out = capsys.readouterr().out
    assert "004139 #0" in out and "000008 #" not in out  # 000008's cars are not in the split
    with pytest.raises(SystemExit):
        tool.main([str(ROOT), str(tmp_path / "empty"), "--split", "nope"])
    assert "ImageSets/nope.txt not found" in capsys.readouterr().err
