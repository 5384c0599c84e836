"""Box styles: every status gets its palette colour, mistakes are errors."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.viz.style import (
    FN_RGB,
    FP_RGB,
    GT_RGB,
    IGNORED_RGB,
    PRED_RGB,
    TP_RGB,
    ViewBoxes,
    box_sets,
    colormap_rgb,
    legend_entries,
)


def test_plain_colours_without_matching():
    boxes = ViewBoxes(np.zeros((2, 7)), np.ones((3, 7)), [0.5, 0.25, 0.125], pred_names=["Car"] * 3)
    sets = box_sets(boxes)
    gt, pred = sets
    assert gt.kind == "gt" and (gt.colors_rgb == GT_RGB).all()
    assert pred.kind == "pred" and (pred.colors_rgb == PRED_RGB).all()
    assert pred.labels == ("Car 0.50", "Car 0.25", "Car 0.12")
    assert legend_entries(sets) == [("ground truth", GT_RGB), ("prediction", PRED_RGB)]


def test_status_colours_and_matched_gt_thin():
    boxes = ViewBoxes(
        np.zeros((3, 7)),
        np.zeros((3, 7)),
        gt_status=["tp", "fn", "ignored"],
        pred_status=["tp", "fp", "ignored"],
    )
    sets = box_sets(boxes)
    by_width = {(s.kind, s.line_width): s for s in sets}
    assert by_width[("gt", 1)].colors_rgb.tolist() == [list(TP_RGB)]  # matched GT, thin
    assert by_width[("gt", 2)].colors_rgb.tolist() == [list(FN_RGB), list(IGNORED_RGB)]
    assert by_width[("gt", 2)].labels == ("missed", "")
    assert by_width[("pred", 2)].colors_rgb.tolist() == [
        list(TP_RGB),
        list(FP_RGB),
        list(IGNORED_RGB),
    ]
    texts = [t for t, _ in legend_entries(sets)]
    assert texts[:4] == ["TP (prediction)", "matched GT", "FP", "FN (missed GT)"]


def test_bad_status_and_lengths_are_errors():
    with pytest.raises(ValueError, match="unknown status"):
        box_sets(ViewBoxes(np.zeros((1, 7)), gt_status=["fp"]))
    with pytest.raises(ValueError, match="one entry per box"):
        box_sets(ViewBoxes(pred_boxes_lidar=np.zeros((2, 7)), pred_status=["tp"]))
    with pytest.raises(ValueError, match=r"\(M, 7\)"):
        box_sets(ViewBoxes(np.zeros((2, 6))))


def test_colormap_ends_and_clipping():
    out = colormap_rgb(np.array([-5.0, 0.0, 0.5, 1.0, 7.0]), 0.0, 1.0, "gray")
    assert out[0].tolist() == [0, 0, 0] and out[-1].tolist() == [255, 255, 255]
    assert out[1].tolist() == out[0].tolist() and out[3].tolist() == out[4].tolist()
    assert 120 <= out[2, 0] <= 135
