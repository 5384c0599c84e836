"""Camera view: box corners have the box colour, points have their depth colour, and nothing
is drawn for what lies behind the camera or outside the image."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.geometry.boxes import BOX_EDGES, corners_lidar
from perception3d.viz.image import clip_segments_to_rect, project_points, render_image
from perception3d.viz.style import GT_RGB, HEADING_EDGES, PRED_RGB, ViewBoxes, colormap_rgb
from tests.viz.helpers import has_color_near


def _drawn(rgb: np.ndarray) -> np.ndarray:
    return np.any(rgb != 0, axis=2)


def test_gt_corner_pixels_have_the_box_colour(any_frame):
    calib, boxes = any_frame.calib, any_frame.boxes_lidar
    rgb = render_image(
        any_frame.image, calib, any_frame.points, ViewBoxes(boxes), show_labels=False
    )
    h, w = rgb.shape[:2]
    uv, depth = calib.lidar_to_image(corners_lidar(boxes).reshape(-1, 3))
    ok = (depth > 0.5) & (uv[:, 0] >= 2) & (uv[:, 0] < w - 2) & (uv[:, 1] >= 2) & (uv[:, 1] < h - 2)
    assert ok.sum() >= 16
    assert all(has_color_near(rgb, v, u, GT_RGB) for u, v in uv[ok])


def test_predictions_drawn_in_their_colour_with_labels(synth_frame):
    pred = synth_frame.boxes_lidar[:1]
    rgb = render_image(synth_frame.image, synth_frame.calib, None, ViewBoxes(None, pred, [0.75]))
    uv, _ = synth_frame.calib.lidar_to_image(corners_lidar(pred)[0])
    assert all(has_color_near(rgb, v, u, PRED_RGB) for u, v in uv)
    plain = render_image(
        synth_frame.image, synth_frame.calib, None, ViewBoxes(None, pred, [0.75]), show_labels=False
    )
    label = np.any(rgb != plain, axis=2)  # the label sits just above the box's top edge
    rows, _ = np.nonzero(label)
    assert label.sum() > 50 and rows.max() <= uv[:, 1].min() + 2


def test_points_coloured_by_depth_nearest_wins(any_frame):
    calib, pts = any_frame.calib, any_frame.points
    h, w = 375, 1242
    rgb = render_image(None, calib, pts, image_shape_hw=(h, w), depth_range_m=(2.0, 45.0))
    # Reference z-buffer, written independently: minimum depth per pixel.
    uv, depth = calib.lidar_to_image(pts)
    col, row = np.floor(uv[:, 0]), np.floor(uv[:, 1])
    ok = (depth > 0.5) & (col >= 0) & (col < w) & (row >= 0) & (row < h)
    flat = (row[ok] * w + col[ok]).astype(np.int64)
    zbuf = np.full(h * w, np.inf)
    np.minimum.at(zbuf, flat, depth[ok])
    hit = np.isfinite(zbuf)
    expected = np.zeros((h * w, 3), np.uint8)
    expected[hit] = colormap_rgb(zbuf[hit], 2.0, 45.0, "turbo_r")
    assert hit.sum() > 1000
    np.testing.assert_array_equal(rgb.reshape(-1, 3), expected)


def test_project_points_drops_points_behind_and_outside(frame8):
    index, rc, depth = project_points(frame8.points, frame8.calib, (375, 1242))
    assert (depth > 0.5).all() and (rc >= 0).all() and (rc[:, 0] < 375).all()
    behind = np.array([[-10.0, 0.0, 0.0, 0.0], [10.0, 0.0, 0.0, 0.0]])
    index, _, _ = project_points(behind, frame8.calib, (375, 1242))
    assert index.tolist() == [1]


def _edge_samples_mask(boxes, calib, h, w, near_m=0.1, dilate=2) -> np.ndarray:
    """Pixels within ``dilate`` of the projection of box-edge (and heading-cross) points in
    front of the near plane (dense samples along every 3D edge)."""
    corners = corners_lidar(boxes)
    t = np.linspace(0.0, 1.0, 20001)[:, None]
    mask = np.zeros((h, w), bool)
    for c in corners:
        for a, b in np.concatenate([BOX_EDGES, HEADING_EDGES]):  # edges and front-face cross
            pts = c[a] + t * (c[b] - c[a])
            uv, depth = calib.lidar_to_image(pts)
            ok = depth >= near_m
            col, row = np.round(uv[ok, 0]).astype(int), np.round(uv[ok, 1]).astype(int)
            keep = (col >= -dilate) & (col < w + dilate) & (row >= -dilate) & (row < h + dilate)
            for dr in range(-dilate, dilate + 1):
                for dc in range(-dilate, dilate + 1):
                    r, cc = row[keep] + dr, col[keep] + dc
                    inside = (r >= 0) & (r < h) & (cc >= 0) & (cc < w)
                    mask[r[inside], cc[inside]] = True
    return mask


def test_box_through_the_camera_plane_is_clipped_not_folded(frame8):
    """A box spanning from 3 m behind to 3 m ahead of the camera: only its part in front is
    drawn; the naive projection of its corners behind the camera (which lands inside the
    image, mirrored) stays empty."""
    calib, h, w = frame8.calib, 375, 1242
    box = np.array([[0.3, -0.5, -0.5, 6.0, 2.0, 1.5, 0.0]])
    rgb = render_image(None, calib, None, ViewBoxes(box), image_shape_hw=(h, w), show_labels=False)
    drawn = _drawn(rgb)
    assert drawn.sum() > 200  # the front part is there
    assert not (drawn & ~_edge_samples_mask(box, calib, h, w)).any()  # and only it
    uv, depth = calib.lidar_to_image(corners_lidar(box)[0])
    folded = [(u, v) for (u, v), d in zip(uv, depth) if d < 0 and 2 <= u < w - 2 and 2 <= v < h - 2]
    assert folded, "test setup: some behind-camera corner must fold into the image"
    assert not any(has_color_near(rgb, v, u, GT_RGB, radius=2) for u, v in folded)
    behind = box.copy()
    behind[0, 0] = -6.0
    assert not _drawn(
        render_image(None, calib, None, ViewBoxes(behind), image_shape_hw=(h, w))
    ).any()


def test_box_across_the_image_border_is_drawn_up_to_the_border(frame8):
    calib, h, w = frame8.calib, 375, 1242
    box = np.array([[7.0, 5.0, -0.9, 4.0, 1.7, 1.5, 0.0]])  # left of the image, partly out
    rgb = render_image(None, calib, None, ViewBoxes(box), image_shape_hw=(h, w), show_labels=False)
    assert _drawn(rgb).any()
    assert not (_drawn(rgb) & ~_edge_samples_mask(box, calib, h, w)).any()
    # Where an edge crosses the left border (u = 0), the border pixel has the box colour.
    corners = corners_lidar(box)[0]
    crossings = 0
    for a, b in BOX_EDGES:
        (u0, v0), (u1, v1) = calib.lidar_to_image(corners[[a, b]])[0]
        if (u0 < 0) != (u1 < 0):
            v = v0 + (0 - u0) / (u1 - u0) * (v1 - v0)
            if 2 <= v < h - 2:
                crossings += 1
                assert has_color_near(rgb, v, 0.5, GT_RGB, radius=2)
    assert crossings >= 2


def test_image_layouts_give_the_same_picture(synth_frame):
    chw = synth_frame.image
    hwc = (np.clip(chw, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
    a = render_image(chw, synth_frame.calib, synth_frame.points, ViewBoxes(synth_frame.boxes_lidar))
    b = render_image(hwc, synth_frame.calib, synth_frame.points, ViewBoxes(synth_frame.boxes_lidar))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="image or image_shape_hw"):
        render_image(None, synth_frame.calib)


def test_liang_barsky_hand_cases():
    seg = np.array(
        [
            [[1.0, 1.0], [5.0, 5.0]],  # inside
            [[-4.0, 5.0], [14.0, 5.0]],  # crosses both vertical borders
            [[-4.0, -1.0], [-1.0, 9.0]],  # left of the rectangle
            [[2.0, -5.0], [2.0, 20.0]],  # vertical, crosses top and bottom
            [[20.0, 1.0], [30.0, 1.0]],  # parallel, outside
            [[np.nan, 1.0], [3.0, 1.0]],  # not finite
            [[-5.0, 5.0], [5.0, -5.0]],  # touches the corner (0, 0) only
        ]
    )
    out, keep = clip_segments_to_rect(seg, 10.0, 8.0)
    assert keep.tolist() == [True, True, False, True, False, False, True]
    np.testing.assert_allclose(out[0], seg[0])
    np.testing.assert_allclose(out[1], [[0.0, 5.0], [10.0, 5.0]])
    np.testing.assert_allclose(out[3], [[2.0, 0.0], [2.0, 8.0]])
    np.testing.assert_allclose(out[6], [[0.0, 0.0], [0.0, 0.0]], atol=1e-12)
