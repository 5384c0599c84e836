"""Bird's-eye view: points land where the sweep has them, boxes have their colours."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.geometry.boxes import corners_lidar
from perception3d.viz.bev import BevGrid, rasterize_points, render_bev
from perception3d.viz.style import (
    BACKGROUND_RGB,
    FN_RGB,
    FP_RGB,
    GT_RGB,
    PRED_RGB,
    TP_RGB,
    ViewBoxes,
)
from tests.viz.helpers import has_color_near

GRID = BevGrid((-20.0, 70.0), (-40.0, 40.0), 0.1)


def _edge_midpoints(boxes_lidar: np.ndarray) -> np.ndarray:
    """(M, 4, 2) midpoints of the bottom-face edges, LiDAR x, y."""
    c = corners_lidar(boxes_lidar)[:, :4, :2]
    return (c + np.roll(c, -1, axis=1)) / 2


def _in_grid(rc: np.ndarray, grid: BevGrid, margin: int = 0) -> np.ndarray:
    return (
        (rc[:, 0] >= margin)
        & (rc[:, 0] < grid.height - margin)
        & (rc[:, 1] >= margin)
        & (rc[:, 1] < grid.width - margin)
    )


def test_grid_orientation_hand_computed():
    grid = BevGrid((0.0, 10.0), (-5.0, 5.0), 0.5)
    rc = grid.lidar_to_pixel(np.array([[9.9, 4.9], [0.1, -4.9], [5.0, 0.0]]))
    # x forward is up (row 0 at x max), y left is left (column 0 at y max).
    assert rc.tolist() == [[0, 0], [19, 19], [10, 10]]
    with pytest.raises(ValueError, match="x_range_m"):
        BevGrid((1.0, 1.0))


@pytest.mark.parametrize("color_by", ["height", "intensity"])
def test_points_exactly_where_the_sweep_has_them(sweep_frame, color_by):
    """Real 360-degree sweep, no overlays but the ego outline: a pixel shows a point iff some
    point falls in it."""
    pts = sweep_frame.points
    rgb = render_bev(
        pts, rings_m=(), show_legend=False, scale_bar=False, color_by=color_by, grid=GRID
    )
    assert rgb.shape == (GRID.height, GRID.width, 3) and rgb.dtype == np.uint8
    rc = GRID.lidar_to_pixel(pts)
    inside = _in_grid(rc, GRID)
    occupied = np.zeros((GRID.height, GRID.width), bool)
    occupied[rc[inside, 0], rc[inside, 1]] = True
    is_bg = np.all(rgb == BACKGROUND_RGB, axis=2)
    ego = np.zeros_like(occupied)  # the ego-car outline (4 x 1.8 m) around the origin
    r0, c0 = GRID.lidar_to_pixel(np.array([[2.5, 1.4]]))[0]
    r1, c1 = GRID.lidar_to_pixel(np.array([[-2.5, -1.4]]))[0]
    ego[r0 : r1 + 1, c0 : c1 + 1] = True
    assert occupied.sum() > 30_000
    assert not (is_bg & occupied & ~ego).any()  # every point pixel is drawn
    assert (is_bg | ego)[~occupied].all()  # nothing else is


def test_highest_point_wins_its_pixel():
    grid = BevGrid((0.0, 1.0), (0.0, 1.0), 1.0)
    pts = np.array([[0.5, 0.5, -2.0, 0], [0.5, 0.5, 1.0, 0], [0.5, 0.5, 0.0, 0]], np.float32)
    colors = np.array([[1, 1, 1], [2, 2, 2], [3, 3, 3]], np.uint8)
    rgb, filled = rasterize_points(pts, grid, colors_rgb=colors)
    assert filled.all() and rgb[0, 0].tolist() == [2, 2, 2]


def test_gt_and_prediction_edges_have_their_colours(any_frame):
    gt = any_frame.boxes_lidar
    pred = gt.copy()
    pred[:, 0] += 1.0
    kw = {"grid": GRID, "show_labels": False, "show_legend": False}
    # Drawn one kind at a time: real parked cars are close enough for edges to overlap.
    for boxes, color, rgb in (
        (gt, GT_RGB, render_bev(any_frame.points, ViewBoxes(gt), **kw)),
        (
            pred,
            PRED_RGB,
            render_bev(any_frame.points, ViewBoxes(None, pred, np.full(len(pred), 0.5)), **kw),
        ),
    ):
        mids = _edge_midpoints(boxes).reshape(-1, 2)
        rc = GRID.lidar_to_pixel(mids)
        ok = _in_grid(rc, GRID, 2)
        assert ok.sum() == 4 * len(boxes)
        assert all(has_color_near(rgb, r + 0.5, c + 0.5, color) for r, c in rc[ok])


def test_tp_fp_fn_colours_at_their_boxes(synth_frame):
    gt = synth_frame.boxes_lidar
    pred = np.concatenate([gt[:1], [[30.0, 10.0, -1.0, 4.0, 1.7, 1.5, 0.0]]])
    assert len(gt) >= 3
    rgb = render_bev(
        synth_frame.points,
        ViewBoxes(
            gt,
            pred,
            [0.9, 0.4],
            gt_status=["tp", "fn", "fn"] + ["ignored"] * (len(gt) - 3),
            pred_status=["tp", "fp"],
        ),
        grid=GRID,
        show_labels=False,
        show_legend=False,
    )
    for box, color in ((pred[0], TP_RGB), (pred[1], FP_RGB), (gt[1], FN_RGB), (gt[2], FN_RGB)):
        rc = GRID.lidar_to_pixel(_edge_midpoints(box[None])[0])
        assert all(has_color_near(rgb, r + 0.5, c + 0.5, color) for r, c in rc), color
    # ... and nowhere else: the FP colour only inside the FP box's pixel extent.
    rows, cols = np.nonzero(np.all(rgb == FP_RGB, axis=2))
    corners = GRID.lidar_to_pixel(corners_lidar(pred[1:])[0, :4])
    assert rows.min() >= corners[:, 0].min() - 2 and rows.max() <= corners[:, 0].max() + 2
    assert cols.min() >= corners[:, 1].min() - 2 and cols.max() <= corners[:, 1].max() + 2


def test_title_is_drawn_at_the_top(synth_frame):
    kw = {"grid": BevGrid((0.0, 40.0), (-20.0, 20.0), 0.1), "rings_m": (), "show_legend": False}
    plain = render_bev(synth_frame.points, **kw)
    titled = render_bev(synth_frame.points, **kw, title="frame 000000")
    changed = np.any(plain != titled, axis=2)
    rows, cols = np.nonzero(changed)
    assert changed.sum() > 50 and rows.max() < 25 and 120 < cols.mean() < 280
