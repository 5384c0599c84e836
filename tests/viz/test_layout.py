"""Composite layout: rows span the width, the BEV fills its panel and zooms to the objects, and
no panel of a composite is left as one flat colour (real and synthetic frames, unlabelled
frames)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from perception3d.data.kitti import KittiObjectDataset
from perception3d.viz.bev import BevGrid, nice_length_m
from perception3d.viz.frame import VizOptions, frame_boxes, render_frame, render_frame_layout
from perception3d.viz.layout import (
    GAP_PX,
    compose_rows,
    fit_bev_grid,
    objects_extent_lidar,
    plan_rows,
)
from perception3d.viz.style import PRED_RGB
from tests.viz.helpers import predictions_tp_fp_fn

IMAGE_ASPECT = 1242 / 375
HEADER_PX, TITLE_PX = 26, 22


def test_plan_rows_fill_the_width():
    for views in (["bev"], ["3d", "range"], ["bev", "image", "3d", "range"], ["image", "bev"]):
        rows = plan_rows(views, {"image": IMAGE_ASPECT, "range": 4.0}, width=1000)
        assert sorted(v for r in rows for v in r.views) == sorted(views)
        for row in rows:
            widths = [w for _, w in row.sizes]
            assert sum(widths) + GAP_PX * (len(widths) - 1) == 1000, (views, row)
            assert len({h for h, _ in row.sizes}) == 1
    rows = plan_rows(["bev", "image", "3d"], {"image": IMAGE_ASPECT}, width=1000)
    assert [r.views for r in rows] == [("bev", "3d"), ("image",)]  # the pair comes first
    with pytest.raises(ValueError, match="no aspect ratio"):
        plan_rows(["image"], {}, width=1000)


def test_compose_rows_places_each_panel_under_its_title():
    rows = plan_rows(["bev", "3d", "image"], {"image": 4.0}, width=404)
    panels = {
        "bev": ("a", np.full((200, 200, 3), 20, np.uint8)),
        "3d": ("b", np.full((100, 100, 3), 30, np.uint8)),  # resized to its 200 x 200 panel
        "image": ("c", np.full((10, 40, 3), 40, np.uint8)),  # resized to 404 x 101
    }
    out = compose_rows(rows, panels)
    assert out.shape == (TITLE_PX + 200 + GAP_PX + TITLE_PX + 101, 404, 3)
    assert (out[TITLE_PX : TITLE_PX + 200, :200] == 20).all()
    assert (out[TITLE_PX : TITLE_PX + 200, 204:] == 30).all()
    assert (out[-101:] == 40).all()


def test_fit_bev_grid_fills_the_panel_and_holds_the_region():
    for hw, region in (((300, 600), ((0.0, 50.0), (-5.0, 5.0))), ((400, 400), None)):
        grid = fit_bev_grid(*hw, region)
        assert (grid.height, grid.width) == hw
        (x0, x1), (y0, y1) = region or (BevGrid().x_range_m, BevGrid().y_range_m)
        assert grid.x_range_m[0] <= x0 + 1e-9 and grid.x_range_m[1] >= x1 - 1e-9
        assert grid.y_range_m[0] <= y0 + 1e-9 and grid.y_range_m[1] >= y1 - 1e-9
    assert fit_bev_grid(300, 600, ((0.0, 50.0), (-5.0, 5.0))).forward == "right"
    assert nice_length_m(19.0) == 10.0 and nice_length_m(2.0) == 2.0


def test_bev_zooms_to_the_objects(frame8):
    boxes = frame_boxes(frame8)
    (x0, x1), (y0, y1) = objects_extent_lidar([boxes.gt_boxes_lidar])
    far = boxes.gt_boxes_lidar[:, 0].max()
    assert x0 <= -5.0 and far < x1 < far + 10.0  # the ego car and the farthest car, a margin
    assert y1 - y0 < 40.0  # not the default 80 m


def _flat_regions(rgb: np.ndarray, rows, header_px: int = HEADER_PX) -> list[str]:
    """Every panel of the composite split in four quadrants; the flat (single-colour) ones."""
    flat, top = [], header_px
    for row in rows:
        left = 0
        for view, (height, width) in zip(row.views, row.sizes):
            panel = rgb[top + TITLE_PX : top + TITLE_PX + height, left : left + width]
            assert panel.shape[:2] == (height, width)
            h2, w2 = height // 2, width // 2
            for name, quad in (
                ("top-left", panel[:h2, :w2]),
                ("top-right", panel[:h2, w2:]),
                ("bottom-left", panel[h2:, :w2]),
                ("bottom-right", panel[h2:, w2:]),
            ):
                if len(np.unique(quad.reshape(-1, 3), axis=0)) == 1:
                    flat.append(f"{view} {name}")
            left += width + GAP_PX
        top += TITLE_PX + max(h for h, _ in row.sizes) + GAP_PX
    assert top - GAP_PX == rgb.shape[0]  # the rows cover the picture, nothing below
    return flat


@pytest.mark.parametrize("views", [("bev", "image"), ("3d", "range"), ("bev", "3d", "image")])
def test_no_panel_region_is_one_flat_colour(any_frame, views):
    options = VizOptions(views=views)
    rgb, rows = render_frame_layout(any_frame, None, options)
    assert rgb.shape[1] == options.width
    assert [v for r in rows for v in r.views] == list(views)
    assert _flat_regions(rgb, rows) == []


def test_unlabelled_training_frame_is_drawn(kitti_root, tmp_path, frame8):
    """A training/ folder without label_2 (raw drives): points and predictions, no matching."""
    root = tmp_path / "unlabelled"
    for sub in ("velodyne", "calib", "image_2"):
        shutil.copytree(kitti_root / "training" / sub, root / "training" / sub)
    frame = KittiObjectDataset(root).frame("000008")
    assert not frame.has_labels
    preds = predictions_tp_fp_fn(frame8.objects, frame8.calib)
    boxes = frame_boxes(frame, preds)
    assert boxes.summary() == "no label file, 2 predictions"
    assert boxes.gt_status is None and boxes.pred_status is None
    rgb = render_frame(frame, preds, VizOptions(views=("bev", "image")))
    assert np.all(rgb == PRED_RGB, axis=2).sum() > 100
