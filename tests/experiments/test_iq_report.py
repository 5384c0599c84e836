"""``perception3d isp iq-report`` end to end on one condition, and the shipped config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perception3d.cli import main
from perception3d.config import ConfigError
from perception3d.experiments.iq_report import load_iq_report_config

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "configs" / "isp" / "iq_report.yaml"


def test_shipped_config_loads_and_names_existing_isps():
    cfg = load_iq_report_config(SHIPPED)
    assert [c.name for c in cfg.conditions] == ["daylight", "lowlight", "hdr", "haze"]
    for cond in cfg.conditions:
        assert set(cond.isps) == {"none", "classical", "learned"}
        assert all(p.is_file() for p in cond.isps.values())


def test_unknown_key_is_an_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("conditions: []\nlense: {}\n")
    with pytest.raises(ConfigError, match="lense"):
        load_iq_report_config(bad)


@pytest.mark.slow
def test_cli_writes_json_plots_html(tmp_path, capsys):
    isp = ROOT / "configs" / "isp"
    cfg = tmp_path / "iq.yaml"
    cfg.write_text(
        "lens: {blur_sigma_px: 0.5, distortion_k1: -0.05, supersample: 2}\nthreads: 1\n"
        "conditions:\n  - name: daylight\n    iso: 100\n    exposure_white: 0.9\n"
        f"    isps: {{none: {isp / 'none.yaml'}, classical: {isp / 'classical.yaml'}}}\n"
    )
    assert main(["isp", "iq-report", str(cfg), "--out", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    for name in (
        "iq_report.json",
        "iq_table.json",
        "curves.json",
        "iq_report.html",
        "mtf.png",
        "snr.png",
        "texture.png",
        "colour.png",
        "charts_daylight.png",
    ):
        assert (out / name).is_file(), name  # fmt: skip
    rows = json.loads((out / "iq_table.json").read_text())
    assert [(r["condition"], r["isp"]) for r in rows] == [
        ("daylight", "none"),
        ("daylight", "classical"),
    ]
    m = json.loads((out / "iq_report.json").read_text())["conditions"]["daylight"]
    none = m["isps"]["none"]
    # the lens's barrel distortion is measured back through sensor and ISP
    assert none["distortion"]["k1"] == pytest.approx(-0.05, abs=0.01)
    # the ISPs correct the lens shading the raw shows (sensor default k = 0.3)
    assert m["raw_vignetting_pct"] > 20 and abs(none["vignetting_pct"]) < 3
    assert 0.1 < none["mtf50_cy_px"] < 0.5 and none["dynamic_range"]["stops"] > 6
    assert none["colour"]["mean"] < 3.0
    assert "| daylight | classical |" in capsys.readouterr().out
