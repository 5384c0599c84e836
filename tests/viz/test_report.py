"""HTML report: tables carry the numbers, pictures are embedded, and a real headless Chromium
renders the page (screenshot checked pixel by pixel)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from perception3d.cli import main
from perception3d.errors import DataFormatError
from perception3d.viz.canvas import save_png
from perception3d.viz.report import build_report, is_kitti_result
from tests.viz.chromium import screenshot

MAGENTA = (255, 0, 255)
HEADER_RGB = (0x1F, 0x3A, 0x5F)
KITTI = {
    "Car": {
        "R40": {"bbox@0.7": [95.5, 87.654, 80.0], "3d@0.7": [80.25, 70.5, 65.0]},
        "R11": {"bbox@0.7": [90.0, 85.0, 79.0], "3d@0.7": [78.0, 69.0, 64.5]},
    },
    "Pedestrian": {"R40": {"3d@0.5": [50.0, 45.126, 40.0]}, "R11": {"3d@0.5": [49.0, 44.0, 39.0]}},
    "meta": {"frames": 3769, "objects": 17000, "seconds": 4.2},
}


@pytest.fixture
def run_dir(tmp_path):
    run = tmp_path / "run"
    (run / "eval").mkdir(parents=True)
    (run / "eval" / "metrics.json").write_text(json.dumps(KITTI))
    (run / "summary.json").write_text(
        json.dumps(
            {
                "frames": [
                    {"frame": "000008", "points": 17238},
                    {"frame": "004139", "points": 123266},
                ]
            }
        )
    )
    block = np.zeros((100, 240, 3), np.uint8)
    block[:] = MAGENTA
    save_png(run / "pictures" / "block.png", block)
    (run / "notes.txt").write_text("ignored")
    return run


def test_kitti_result_tables_and_generic_json(run_dir, tmp_path):
    out = build_report([run_dir], tmp_path / "report.html", title="run 7")
    page = out.read_text()
    assert is_kitti_result(KITTI) and not is_kitti_result({"frames": []})
    assert "<title>run 7</title>" in page
    for text in ("87.65", "45.13", "AP R40 (%)", "AP R11 (%)", "moderate", "3d@0.7", "Pedestrian"):
        assert text in page, text
    assert "17238" in page and "123266" in page and "3769" in page
    assert "run/eval/metrics.json" in page and "run/pictures/block.png" in page
    assert "notes.txt" not in page


def test_report_is_self_contained(run_dir, tmp_path):
    page = build_report([run_dir], tmp_path / "report.html").read_text()
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 1 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http" not in page and "<link" not in page and "<script" not in page


def test_errors_name_the_file(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataFormatError, match=r"bad\.json"):
        build_report([tmp_path], tmp_path / "r.html")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"no \*\.json"):
        build_report([empty], tmp_path / "r.html")


def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    html_path = tmp_path / "report.html"
    assert main(["report", str(run_dir), "--out", str(html_path), "--title", "chromium check"]) == 0
    rgb = screenshot(html_path, tmp_path, size=(1000, 1600))
    assert rgb.shape == (1600, 1000, 3)
    # The embedded picture was decoded and laid out at its size (240 x 100 magenta pixels).
    magenta = np.all(rgb == MAGENTA, axis=2)
    assert 0.95 * 24000 <= magenta.sum() <= 1.05 * 24000
    rows, cols = np.nonzero(magenta)
    assert np.ptp(rows) + 1 == 100 and np.ptp(cols) + 1 == 240
    # The title bar spans the page width at the top; the tables drew dark text and grey rules.
    header = np.all(rgb == HEADER_RGB, axis=2)
    assert header[:40].sum() > 0.8 * 1000 * 30
    above_picture = rgb[60 : rows.min()]
    assert (above_picture.max(axis=2) < 80).sum() > 2000  # text glyphs
    assert np.all(above_picture == (0xC8, 0xCC, 0xD4), axis=2).sum() > 1000  # table borders


def test_kitti_metrics_show_counts_cap_and_all_point_ap(kitti_root, tmp_path):
    # The JSON of `perception3d eval kitti --score-threshold 0.5 --out`: the three real frames,
    # ground truth fed back as predictions (few objects: AP R40 capped, all-point AP 100).
    pred = tmp_path / "pred"
    pred.mkdir()
    for label in sorted((kitti_root / "training" / "label_2").glob("*.txt")):
        rows = [r for r in label.read_text().splitlines() if not r.startswith("DontCare")]
        (pred / label.name).write_text("".join(f"{r} {1 - i / 100}\n" for i, r in enumerate(rows)))
    metrics = tmp_path / "run" / "metrics.json"
    argv = ["eval", "kitti", "--gt-dir", str(kitti_root), "--pred-dir", str(pred)]
    assert main([*argv, "--score-threshold", "0.5", "--out", str(metrics)]) == 0
    result = json.loads(metrics.read_text())
    assert is_kitti_result(result)
    page = build_report([metrics.parent], tmp_path / "report.html").read_text()
    counted = result["meta"]["gt_counted"]["Car"]
    assert f"objects counted: easy {counted['easy']}, moderate {counted['moderate']}" in page
    cap = result["meta"]["r40_cap"]["Car"]["moderate"]
    assert "AP R40 is capped by the object count" in page and f"moderate {cap:.1f}" in page
    assert "AP all-point (%)" in page
    all_point = result["Car"]["all_point"]["3d@0.7"][1]
    assert all_point == 100.0 and result["Car"]["R40"]["3d@0.7"][1] == cap
    assert "at score &ge; 0.5: precision / recall (TP FP FN)" in page
    car_table = page.split("<h3>Car</h3>")[1].split("</table>")[0]
    rows = re.findall(r'<tr><td class="key">3d@0.7</td>(.*?)</tr>', car_table)
    cells = re.findall(r"<td>([^<]*)</td>", rows[0])
    assert cells[1] == f"{cap:.2f}" and cells[7] == "100.00"  # R40 then all-point, moderate
