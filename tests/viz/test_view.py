"""``perception3d view``: the frame data the page embeds, the page's self-containment and size,
and the page itself in a real headless Chromium (no console error, points and box colours
drawn on the canvas, layers toggle, frames step)."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from perception3d.cli import main
from perception3d.data.kitti import write_label_file
from perception3d.viz.style import FN_RGB, FP_RGB, IGNORED_RGB, TP_RGB
from perception3d.viz.web.page import MAX_FRAMES, render_page
from perception3d.viz.web.scene import (
    ViewerOptions,
    frame_payload,
    frustum_lidar,
    points_payload,
)
from tests.viz.chromium import body_attributes, screenshot
from tests.viz.helpers import predictions_tp_fp_fn


def _page_data(page: str) -> dict:
    text = re.search(r'<script type="application/json" id="p3d-data">(.*?)</script>', page, re.S)
    return json.loads(text.group(1))


def test_points_are_quantized_to_a_centimetre_and_capped(sweep_frame):
    pts = sweep_frame.points
    payload = points_payload(pts, 5000)
    assert payload["count"] == 5000 and payload["total"] == len(pts)
    xyz = np.frombuffer(base64.b64decode(payload["xyz"]), "<i2").reshape(-1, 3) / 100.0
    refl = np.frombuffer(base64.b64decode(payload["refl"]), np.uint8) / 255.0
    # The subsample keeps sweep order; each kept point is within 5 mm of a point of the sweep.
    rows = {tuple(np.round(p, 2)) for p in pts[:, :3].astype(np.float64)}
    assert sum(tuple(np.round(p, 2)) in rows for p in xyz[:200]) >= 190
    assert refl.min() >= 0.0 and refl.max() <= 1.0
    assert points_payload(pts, 5000) == payload  # seeded: same bytes
    small = points_payload(pts[:100], 5000)
    assert small["count"] == 100


def test_boxes_carry_the_evaluator_statuses(frame8):
    preds = predictions_tp_fp_fn(frame8.objects, frame8.calib, tp_index=1)
    data = frame_payload(frame8, preds)
    gt = [b for b in data["boxes"] if b["kind"] == "gt"]
    pred = [b for b in data["boxes"] if b["kind"] == "pred"]
    assert [b["status"] for b in gt] == ["ignored", "tp", "ignored", "fn", "fn", "fn"]
    assert [(b["status"], b["color"], b["label"]) for b in pred] == [
        ("tp", list(TP_RGB), "Car 0.90"),
        ("fp", list(FP_RGB), "Car 0.40"),
    ]
    assert gt[3]["color"] == list(FN_RGB) and gt[3]["label"] == "missed"
    assert np.asarray(gt[0]["corners"]).shape == (8, 3)
    assert data["summary"] == "6 GT, 2 predictions: 1 TP, 1 FP, 3 FN (3d, moderate)"
    assert data["image"] is not None and base64.b64decode(data["image"])[:2] == b"\xff\xd8"
    frustum = np.asarray(frustum_lidar(frame8))
    assert frustum.shape == (5, 3) and np.all(frustum[1:, 0] > frustum[0, 0] + 5)  # ahead


def test_page_is_self_contained_and_escapes_its_data(frame8):
    data = frame_payload(frame8, None, ViewerOptions(max_points=1000))
    data["summary"] = "</script><script>alert(1)</script>"
    page = render_page([data], "t", 1000)
    assert page.count("<script") == 3 and page.count("</script>") == 3
    assert "http:" not in page and "https:" not in page and "<link" not in page
    assert " src=" not in page.replace('img id="image"', "")
    assert _page_data(page)["frames"][0]["summary"] == data["summary"]


def test_view_command_writes_a_bounded_page(kitti_root, tmp_path, capsys):
    out = tmp_path / "view.html"
    args = ["view", "--data-root", str(kitti_root), "--frames", "000008", "000000", "004139"]
    assert main([*args, "--max-points", "20000", "--out", str(out)]) == 0
    assert f"wrote {out} (3 frames" in capsys.readouterr().out
    data = _page_data(out.read_text())
    assert [f["id"] for f in data["frames"]] == ["000008", "000000", "004139"]
    assert [f["points"]["count"] for f in data["frames"]] == [17238, 800, 20000]
    assert data["frames"][2]["image"] is None  # 004139 has no image_2
    assert out.stat().st_size < 3 * 600_000
    assert main([*args[:3], "--frame", "8", "--out", str(tmp_path / "v.png")]) == 2
    assert "written as .html" in capsys.readouterr().err
    many = ["--frames", *[f"{k:06d}" for k in range(MAX_FRAMES + 1)]]
    assert main([*args[:3], *many, "--out", str(out)]) == 2
    assert f"at most {MAX_FRAMES} per page" in capsys.readouterr().err


def _canvas(rgb: np.ndarray) -> np.ndarray:
    """The 3D canvas of a 1400 x 900 screenshot: left of the side panel, below the bar."""
    return rgb[60:880, :800]


def _count(rgb: np.ndarray, color) -> int:
    return int(np.all(rgb == color, axis=2).sum())


@pytest.fixture(scope="module")
def view_page(kitti_root, frame8, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("view")
    pred_dir = tmp / "pred"
    write_label_file(pred_dir / "000008.txt", predictions_tp_fp_fn(frame8.objects, frame8.calib, 1))
    write_label_file(pred_dir / "000000.txt", [])  # a frame without detections
    out = tmp / "view.html"
    args = ["view", "--data-root", str(kitti_root), "--frames", "000008", "000000"]
    assert main([*args, "--pred-dir", str(pred_dir), "--out", str(out)]) == 0
    return out


def test_view_renders_in_headless_chromium(view_page, tmp_path):
    attrs = body_attributes(view_page, tmp_path)
    assert attrs["errors"] == "0" and int(attrs["rendered"]) >= 1 and attrs["frame"] == "000008"
    canvas = _canvas(screenshot(view_page, tmp_path))
    # Not blank: the height colormap gives many colours; every status colour is drawn.
    assert len(np.unique(canvas.reshape(-1, 3), axis=0)) > 60
    counts = {c: _count(canvas, c) for c in (TP_RGB, FP_RGB, FN_RGB, IGNORED_RGB)}
    assert all(n > 30 for n in counts.values()), counts
    # Layers toggle: without boxes and labels none of their colours remain on the canvas.
    hidden = _canvas(screenshot(view_page, tmp_path, "hide=gt,pred,labels"))
    assert all(_count(hidden, c) == 0 for c in (TP_RGB, FP_RGB, FN_RGB)), "boxes still drawn"
    assert len(np.unique(hidden.reshape(-1, 3), axis=0)) > 60  # the points are still there


def test_view_steps_to_the_next_frame(view_page, tmp_path):
    attrs = body_attributes(view_page, tmp_path, "frame=1&color=range&view=top")
    assert attrs["errors"] == "0" and attrs["frame"] == "000000"
