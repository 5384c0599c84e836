"""The report end to end on the tiny pair, with the labels scored as predictions."""

import json
import subprocess
import sys

import pytest

from perception3d.data.kitti import read_label_file, write_label_file
from perception3d.experiments.sim2real.report import ReportOptions


def _labels_as_predictions(root, out):
    objects = read_label_file(root / "training" / "label_2" / "000008.txt")
    rows = [o.__class__(**{**o.__dict__, "score": 1.0}) for o in objects if not o.is_dontcare]
    write_label_file(out / "000008.txt", rows)
    return out


def test_options_are_checked(tmp_path):
    with pytest.raises(ValueError, match="one prediction folder per real root"):
        ReportOptions((tmp_path,), tmp_path, tmp_path, real_pred_dirs=(tmp_path, tmp_path))
    with pytest.raises(ValueError, match="at least one real root"):
        ReportOptions((), tmp_path, tmp_path)


@pytest.mark.slow
def test_report_on_the_tiny_pair(tiny_pair, tmp_path):
    real, same, _ = tiny_pair
    pred = _labels_as_predictions(real, tmp_path / "pred")
    out = tmp_path / "report"
    cmd = [
        sys.executable,
        "-m",
        "perception3d",
        "sim2real-report",
        "--real",
        str(real),
        "--synth",
        str(same),
        "--out",
        str(out),
        "--pred-dir",
        str(pred),
        "--synth-pred-dir",
        str(pred),
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "reflectivity (Car points)" in run.stdout
    for name in (
        "report.html",
        "sim2real.json",
        "summary.json",
        "objects.png",
        "neighbours.png",
        "reflectivity.png",
        "ray_drop.png",
        "geometry.png",
        "false_positives.png",
    ):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    distances = {r["statistic"]: r["js_distance"] for r in summary["distances"]}
    assert {k for k, v in distances.items() if v is None} == {
        "points per object (Pedestrian, at 10 m)",
        "points per object (Cyclist, at 10 m)",
        "reflectivity (Pedestrian points)",
        "reflectivity (Cyclist points)",
        "height in the box (Pedestrian points, objects >= 20 m)",
        "height in the box (Cyclist points, objects >= 20 m)",
        "clearance (Pedestrian, to standing returns)",
        "clearance (Cyclist, to standing returns)",
        "clutter within 2 m (Pedestrian, returns at 30 m)",
        "clutter within 2 m (Cyclist, returns at 30 m)",
        "returns overhead (Pedestrian, 0.3-6 m above the box)",
        "returns overhead (Cyclist, 0.3-6 m above the box)",
        "neighbours within 3 m (Pedestrian, same class)",
        "neighbours within 3 m (Cyclist, same class)",
    }  # 000008 has no pedestrian nor cyclist
    assert distances["height in the box (Car points, objects >= 20 m)"] == 0.0
    assert distances["clearance (Car, to standing returns)"] == 0.0
    assert distances["clutter within 2 m (Car, returns at 30 m)"] == 0.0
    assert {v for v in distances.values() if v is not None} == {0.0}
    rows = {r["statistic"]: r for r in summary["distances"]}
    cars = rows["neighbours within 4 m (Car, same class)"]
    assert cars["js_distance"] == 0.0 and cars["count_real"] == 6 and cars["mean_real"] == 0.0
    pairs = rows["nearest car within 6 m: side by side"]  # 000008: 1 of 3 (test_statistics)
    assert pairs["count_real"] == pairs["count_synthetic"] == 3
    assert pairs["side_by_side_share_real"] == pytest.approx(1 / 3, abs=1e-4)
    assert "nearest car within 6 m: side by side" in run.stdout
    assert "side by side 0.33 / 0.33" in run.stdout
    assert "neighbours within 4 m" in (out / "report.html").read_text()
    over = rows["returns overhead (Car, 0.3-6 m above the box)"]
    assert 0.0 <= over["js_distance"] <= 1.0 and 0.0 <= over["real_floor"] <= 1.0
    assert over["count_real"] == over["count_synthetic"] == 6
    assert 0.0 <= over["overhead_share_real"] <= 1.0
    assert 0.0 <= over["overhead_share_synthetic"] <= 1.0
    assert "3+ overhead" in run.stdout
    assert "overhead_share_real" in (out / "report.html").read_text()
    stats = json.loads((out / "sim2real.json").read_text())
    assert sum(stats["objects"]["overhead"]["Car"]["real"]) == 6
    car = summary["detection"]["real"]["Car bev@0.5"]
    assert car["ap_all"] == 100.0 and car["fp"] == 0 and car["objects"] == 4
    assert summary["false_positives_per_frame"]["real"]["Car"] == {}
