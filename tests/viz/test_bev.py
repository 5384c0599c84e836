"""The demo's BEV picture: an RGB image with the boxes drawn where they are."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from perception3d.viz.bev import render_bev, save_png


def test_render_bev_draws_boxes_in_their_colour(tmp_path):
    pts = np.zeros((0, 4))
    empty = render_bev(pts, range_m=(0, -10, 20, 10), size_px=300)
    gt = np.array([[10.0, 0.0, -1.0, 4.0, 2.0, 1.5, 0.0]])
    drawn = render_bev(pts, gt_boxes_lidar=gt, range_m=(0, -10, 20, 10), size_px=300)
    assert drawn.shape == empty.shape and drawn.dtype == np.uint8 and drawn.shape[2] == 3
    changed = np.any(drawn != empty, axis=2)
    green = (drawn[..., 1] > 100) & (drawn[..., 0] < 100)
    assert green[changed].mean() > 0.3  # the change is (mostly) the green box
    rows, cols = np.nonzero(changed)
    # the box (x 8..12 m of 0..20, y -1..1 of -10..10) sits in the middle of the plot
    assert 0.3 < rows.mean() / drawn.shape[0] < 0.7 and 0.3 < cols.mean() / drawn.shape[1] < 0.7
    path = save_png(drawn, tmp_path / "bev.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
