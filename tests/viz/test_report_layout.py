"""Reports lead with the answer: summary tables (with object counts) and plots first, the raw
JSON folded below, views embedded, and no report kind wider than the page in headless
Chromium."""

from __future__ import annotations

import json
import re

import pytest

from perception3d.viz.report import build_report
from perception3d.viz.report_summary import markdown_html, summary_tables
from tests.viz.chromium import body_attributes, screenshot

ISP_EFFECT = {
    "frames": [f"{k:06d}" for k in range(4)],
    "num_frames": 4,
    "metric": "KITTI AP_R40, moderate",
    "objects": {"Car": 6, "Pedestrian": 2, "Cyclist": 0},
    "r40_cap": {"Car": 12.5, "Pedestrian": 2.5, "Cyclist": 0.0},
    "rows": [
        {"condition": c, "isp": i, "metrics": {"map_3d": 0.3, "3d_Car": 0.8}, "psnr_db": 27.7}
        for c in ("clean", "lowlight_1e-2", "haze_50m")
        for i in ("none", "classical", "learned", "reference", "lidar_only")
    ],
}
ISP_EFFECT_MD = (
    "**PointPainting**\n\n"
    "| condition | image source | mAP 3D [CI] | 3D Car / Ped / Cyc (n 6 / 2 / 0) |\n"
    "|---|---|---|---|\n"
    + "".join(f"| clean | {i} | 0.3 [0.0, 1.7] | 0.8 (all 22.2) / 0.0 / 0.0 |\n" for i in "abc")
)
ISP_EVAL = {
    "conditions": {
        c: {
            "mean": {m: {"psnr": 20.0, "ssim": 0.9, "frames": 20} for m in ("none", "learned")},
            "per_frame": {"none": [{"psnr": 20.0 + k, "ssim": 0.9} for k in range(20)]},
        }
        for c in ("lowlight", "hdr", "haze")
    },
    "frames": [f"synth/{k:06d}" for k in range(20)],
    "seed": 1234,
}
HISTORY = {
    "epochs": [{"epoch": e, "loss": 1.0 / e, "lr": 1e-3, "seconds": 12.5} for e in range(1, 7)],
    "device": "cpu",
}
SIM2REAL = {
    "sets": {"real": {"frames": 18, "labelled": 4}, "synthetic": {"frames": 40, "labelled": 40}},
    "distances": [
        {"statistic": f"stat {k}", "js_distance": 0.1 * k, "real_floor": 0.05} for k in range(16)
    ],
    "detection": {
        s: {"Car 3d@0.7": {"ap_all": 14.8, "objects": 9, "tp": 2, "fp": 35, "fn": 7}}
        for s in ("real", "synthetic")
    },
}
KITTI = {
    "Car": {"R40": {"3d@0.7": [80.0, 70.0, 65.0]}, "R11": {"3d@0.7": [78.0, 69.0, 64.5]}},
    "meta": {"gt_counted": {"Car": {"easy": 3, "moderate": 5, "hard": 6}}},
}


def _write(folder, files: dict):
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        text = content if isinstance(content, str) else json.dumps(content)
        (folder / name).write_text(text)
    return folder


def test_summary_tables_group_rows_and_skip_per_frame_lists():
    page = summary_tables(ISP_EVAL)
    assert "conditions / hdr / mean / learned" in page
    assert page.count("<table>") == 2  # the overview, one table of the means
    assert "per_frame" not in page and "20 items" in page
    sim = summary_tables(SIM2REAL)
    assert "stat 15" in sim and "detection / synthetic / Car 3d@0.7" in sim
    assert ">35<" in sim  # the FP count is a cell


def test_markdown_tables_become_html():
    page = markdown_html(ISP_EFFECT_MD)
    assert page.startswith("<p><b>PointPainting</b></p><table>")
    assert page.count("<tr>") == 4 and "3D Car / Ped / Cyc (n 6 / 2 / 0)" in page


def test_reports_lead_with_the_answer(tmp_path):
    run = _write(
        tmp_path / "run",
        {"isp_effect.md": ISP_EFFECT_MD, "isp_effect.json": ISP_EFFECT, "history.json": HISTORY},
    )
    page = build_report([run], tmp_path / "report.html").read_text()
    order = [page.index(h) for h in ("<h2>Summary", "<h2>Plots and pictures", "<h2>Raw data")]
    assert order == sorted(order)
    assert page.index("<b>PointPainting</b>") < page.index("<h2>Plots")  # the Markdown first
    assert page.index("Pedestrian") < page.index("<h2>Raw data")  # object counts in the summary
    raw = page[page.index("<h2>Raw data") :]
    assert raw.count("<details><summary>") == 2 and "<details open" not in raw
    assert "history.json: curves" in page  # the training curve is plotted


def test_report_embeds_a_view(kitti_root, tmp_path):
    from perception3d.cli import main

    run = _write(tmp_path / "run", {"metrics.json": KITTI})
    assert main(["view", "--data-root", str(kitti_root), "--frame", "000008",
                 "--max-points", "2000", "--out", str(run / "view.html")]) == 0  # fmt: skip
    page = build_report([run], tmp_path / "report.html").read_text()
    assert "<h2>Interactive view</h2>" in page
    srcdoc = re.search(r'<iframe title="run/view.html" srcdoc="([^"]*)"', page)
    assert srcdoc and "p3d-data" in srcdoc.group(1) and "<script" not in srcdoc.group(1)


KINDS = {
    "kitti": {"metrics.json": KITTI},
    "isp_effect": {"isp_effect.md": ISP_EFFECT_MD * 3, "isp_effect.json": ISP_EFFECT},
    "isp_eval": {"metrics.json": ISP_EVAL},
    "training": {"history.json": HISTORY},
    "sim2real": {"summary.json": SIM2REAL},
}
_MEASURE = (
    "<script>var d = document.documentElement; document.body.dataset.scrollw = d.scrollWidth;"
    " document.body.dataset.innerw = window.innerWidth;</script></body>"
)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_no_report_is_wider_than_the_page(kind, tmp_path):
    run = _write(tmp_path / kind, KINDS[kind])
    page = build_report([run], tmp_path / "report.html")
    measured = tmp_path / "measured.html"  # the same page with a script reporting its width
    measured.write_text(page.read_text().replace("</body>", _MEASURE))
    attrs = body_attributes(measured, tmp_path, size=(800, 900))
    assert int(attrs["innerw"]) == 800 and int(attrs["scrollw"]) <= 800, attrs
    rgb = screenshot(page, tmp_path, size=(800, 900))
    # The first screen shows the summary: table rules (grey) and cell text (dark) below the bar.
    top = rgb[80:900]
    assert (top == (0xC8, 0xCC, 0xD4)).all(axis=2).sum() > 500
    assert (top.max(axis=2) < 80).sum() > 1000
