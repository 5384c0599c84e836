"""``perception3d report`` of a small ``eval kitti`` run shows the object counts, the AP R40
cap and the uncapped all-point AP (issue 19, item 8), by the commands a user types."""

from __future__ import annotations

import json


def test_report_shows_counts_cap_and_all_point_ap(run_cli, kitti_root, tmp_path):
    pred = tmp_path / "pred"
    pred.mkdir()
    for label in sorted((kitti_root / "training" / "label_2").glob("*.txt")):
        rows = [r for r in label.read_text().splitlines() if not r.startswith("DontCare")]
        (pred / label.name).write_text("".join(f"{r} 0.9\n" for r in rows))
    run = tmp_path / "run"
    status, out, _ = run_cli(
        "eval", "kitti", "--gt-dir", kitti_root, "--pred-dir", pred, "--out", run / "m.json"
    )
    assert status == 0 and "AP_all" in out
    status, _, _ = run_cli("report", run, "--out", tmp_path / "report.html")
    assert status == 0
    page = (tmp_path / "report.html").read_text()
    meta = json.loads((run / "m.json").read_text())["meta"]
    for cls in ("Car", "Pedestrian"):
        counted = meta["gt_counted"][cls]
        assert f"objects counted: easy {counted['easy']}, moderate {counted['moderate']}" in page
    assert page.count("AP R40 is capped by the object count") >= 2
    assert page.count("AP all-point (%)") == 3  # one table per class
