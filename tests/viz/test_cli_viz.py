"""``perception3d viz`` and ``tools/visualize.py`` on real and synthetic frames."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from perception3d.cli import main
from perception3d.data.kitti import write_label_file
from perception3d.viz.sequence import read_video
from perception3d.viz.style import FN_RGB, FP_RGB, GT_RGB, IGNORED_RGB, PRED_RGB, TP_RGB
from tests.viz.helpers import predictions_tp_fp_fn

REPO = Path(__file__).resolve().parents[2]


def _read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _count(rgb: np.ndarray, color) -> int:
    return int(np.all(rgb == color, axis=2).sum())


def test_viz_all_views_of_the_synthetic_frame(synth_root, tmp_path, capsys):
    out = tmp_path / "synth.png"
    code = main(
        ["viz", "--data-root", str(synth_root), "--frame", "0", "--views", "bev,image,3d,range",
         "--out", str(out)]
    )  # fmt: skip
    assert code == 0 and f"wrote {out}" in capsys.readouterr().out
    rgb = _read(out)
    assert rgb.shape[1] == 1242 and rgb.shape[0] > 1000
    assert _count(rgb, GT_RGB) > 500  # boxes in BEV, image (and 3D with Open3D)


def test_viz_real_frame_with_predictions(kitti_root, frame8, tmp_path):
    pred_dir = tmp_path / "pred"
    preds = predictions_tp_fp_fn(frame8.objects, frame8.calib, tp_index=1)
    write_label_file(pred_dir / "000008.txt", preds)
    out = tmp_path / "real.png"
    args = ["viz", "--data-root", str(kitti_root), "--frame", "000008", "--pred-dir", str(pred_dir)]
    assert main([*args, "--out", str(out)]) == 0
    rgb = _read(out)
    for color in (TP_RGB, FP_RGB, FN_RGB, IGNORED_RGB):
        assert _count(rgb, color) > 50, color
    assert _count(rgb, PRED_RGB) == 0
    plain = tmp_path / "plain.png"
    assert main([*args, "--no-match", "--out", str(plain)]) == 0
    assert _count(_read(plain), PRED_RGB) > 50 and _count(_read(plain), FP_RGB) == 0


def test_viz_sequence_gif(kitti_root, tmp_path):
    out = tmp_path / "seq.gif"
    code = main(
        ["viz", "--data-root", str(kitti_root), "--frames", "000000", "000008", "--views", "bev",
         "--fps", "1", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    video = read_video(out)
    assert video.shape[0] == 2 and video.shape[-1] == 3
    assert not np.array_equal(video[0], video[1])


def test_viz_errors_are_messages(kitti_root, tmp_path, capsys):
    root = ["viz", "--data-root", str(kitti_root)]
    cases = [
        (["--frame", "8", "--out", str(tmp_path / "a.jpg")], "single frame is written as .png"),
        (["--frame", "999999", "--out", str(tmp_path / "a.png")], "999999"),
        (["--frames", "8", "--out", str(tmp_path / "a.png")], ".gif or .mp4"),
        (["--frame", "8", "--views", "bev,top", "--out", str(tmp_path / "a.png")], "subset of"),
    ]
    for args, message in cases:
        assert main([*root, *args]) == 2
        assert message in capsys.readouterr().err


def test_tools_visualize_wrapper(kitti_root, tmp_path):
    out = tmp_path / "tool.png"
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "visualize.py"), "--data-root", str(kitti_root),
         "--frame", "000000", "--views", "bev", "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert _count(_read(out), GT_RGB) > 20
