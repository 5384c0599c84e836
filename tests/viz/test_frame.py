"""A frame with predictions: statuses from the matcher reach the right boxes, and every view
of the composed picture is there (real and synthetic frames)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from perception3d.data.kitti import write_label_file
from perception3d.eval.kitti import match_frame
from perception3d.geometry.boxes import corners_lidar
from perception3d.viz.frame import (
    VizOptions,
    bev_grid_of,
    frame_boxes,
    read_predictions,
    render_frame,
    render_frame_views,
)
from perception3d.viz.status import match_status
from perception3d.viz.style import FN_RGB, FP_RGB, IGNORED_RGB, TP_RGB
from tests.viz.helpers import has_color_near, predictions_tp_fp_fn


def test_match_status_takes_each_box_from_its_own_class(synth_frame):
    """The KITTI evaluator's matching, class by class, merged into one status per box."""
    objects = synth_frame.objects
    assert [o.type for o in objects[:5]] == ["Car", "Car", "Car", "Van", "DontCare"]
    preds = predictions_tp_fp_fn(objects, synth_frame.calib)
    gt_status, pred_status = match_status(objects, preds)
    # Car 0 matched, cars 1 and 2 missed; the van (Car's neighbour class) and the DontCare
    # row ignored. Predictions: TP, FP.
    assert gt_status.tolist() == ["tp", "fn", "fn"] + ["ignored"] * 2
    assert pred_status.tolist() == ["tp", "fp"]
    gt_status, pred_status = match_status(objects, preds, ("Pedestrian",))
    assert set(gt_status) == {"ignored"} and set(pred_status) == {"ignored"}  # Car not evaluated


def test_match_status_checks_the_matcher_answer(synth_frame):
    def broken(gt, pred, cls, metric, difficulty):
        return SimpleNamespace(gt_status=np.array(["fn"]), pred_status=np.array([], object))

    with pytest.raises(ValueError, match="expected"):
        match_status(synth_frame.objects, [], match_fn=broken)


def test_frame_boxes_drop_dontcare_but_keep_it_for_matching(frame8):
    seen = {}

    def spy(gt, pred, cls, metric, difficulty):
        seen[cls] = (len(gt), metric, difficulty)
        return match_frame(gt, pred, cls, metric=metric, difficulty=difficulty)

    preds = predictions_tp_fp_fn(frame8.objects, frame8.calib, tp_index=1)
    options = VizOptions(metric="bev", difficulty="hard")
    boxes = frame_boxes(frame8, preds, options, match_fn=spy)
    assert seen == {c: (10, "bev", "hard") for c in ("Car", "Pedestrian", "Cyclist")}
    assert len(boxes.gt_boxes_lidar) == len(boxes.gt_status) == 6  # DontCare not drawn
    assert boxes.pred_status.tolist() == ["tp", "fp"]
    low = frame_boxes(frame8, preds, VizOptions(score_threshold=0.5))
    assert len(low.pred_boxes_lidar) == 1  # the 0.4 FP is below the threshold
    assert frame_boxes(frame8, preds, VizOptions(match=False)).pred_status is None


def test_tp_fp_fn_colours_on_the_real_frame(frame8):
    """Real 000008 with a TP and an FP: by the protocol (moderate), car 0 (88 % truncated)
    and car 2 (occlusion 3) are ignored, three cars are missed. Each box has its colour in
    the BEV and the camera view."""
    preds = predictions_tp_fp_fn(frame8.objects, frame8.calib, tp_index=1)
    options = VizOptions(views=("bev", "image"))
    boxes = frame_boxes(frame8, preds, options)
    assert boxes.gt_status.tolist() == ["ignored", "tp", "ignored", "fn", "fn", "fn"]
    assert boxes.summary() == "6 GT, 2 predictions: 1 TP, 1 FP, 3 FN"
    views = render_frame_views(frame8, boxes, options)
    grid = bev_grid_of(boxes, options, *views["bev"].shape[:2])
    expected = [(boxes.pred_boxes_lidar[0], TP_RGB), (boxes.pred_boxes_lidar[1], FP_RGB)]
    expected += [(boxes.gt_boxes_lidar[k], FN_RGB) for k in (3, 4, 5)]
    expected += [(boxes.gt_boxes_lidar[k], IGNORED_RGB) for k in (0, 2)]
    for box, color in expected:
        c = corners_lidar(box[None])[0, :4, :2]
        mids = grid.lidar_to_pixel((c + np.roll(c, -1, axis=0)) / 2)
        assert sum(has_color_near(views["bev"], r + 0.5, cc + 0.5, color) for r, cc in mids) >= 3
    image = views["image"]
    for box, color in expected:
        uv, depth = frame8.calib.lidar_to_image(corners_lidar(box[None])[0])
        ok = (depth > 0.5) & (uv[:, 0] >= 2) & (uv[:, 0] < 1240)
        ok &= (uv[:, 1] >= 2) & (uv[:, 1] < 373)
        hits = [has_color_near(image, v, u, color) for u, v in uv[ok]]
        assert ok.sum() >= 2 and np.mean(hits) >= 0.75, (color, hits)


def test_composed_picture_holds_every_view(any_frame):
    options = VizOptions(views=("bev", "image", "range"))
    views = render_frame_views(any_frame, frame_boxes(any_frame), options)
    assert list(views) == ["bev", "image", "range"]
    rgb = render_frame(any_frame, None, options)
    assert rgb.shape[1] == 1242
    # The camera view is 1242 px wide: it appears unscaled, row for row, in the picture.
    image = views["image"]
    starts = [r for r in range(rgb.shape[0] - 375 + 1) if np.array_equal(rgb[r], image[0])]
    assert any(np.array_equal(rgb[r : r + image.shape[0]], image) for r in starts)


def test_read_predictions_missing_file_warns(tmp_path, synth_frame):
    with pytest.warns(UserWarning, match="no prediction file"):
        assert read_predictions(tmp_path, "000001") == []
    preds = predictions_tp_fp_fn(synth_frame.objects, synth_frame.calib)
    write_label_file(tmp_path / "000001.txt", preds)
    back = read_predictions(tmp_path, "000001")
    assert [o.score for o in back] == [0.9, 0.4]
