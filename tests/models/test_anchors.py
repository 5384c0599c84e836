"""Anchors sit on the feature-map cells; matching follows the SECOND rules (thresholds, each box
claims its best anchor, other classes ignored)."""

from __future__ import annotations

import numpy as np

from perception3d.models.anchors import (
    IGNORE,
    AnchorTargetAssigner,
    assign_targets,
    make_anchors,
    nearest_bev_rects,
)


def test_anchor_grid(tiny_cfg):
    anchors, cls = make_anchors(tiny_cfg.model)
    h, w = tiny_cfg.model.feature_map_hw
    k = tiny_cfg.model.anchors_per_cell
    assert (h, w, k) == (64, 64, 6) and anchors.shape == (h * w * k, 7)
    grid = anchors.reshape(h, w, k, 7)
    # cell (0, 0) centre: half a feature cell (0.4 m) from the range corner (0, -12.8)
    np.testing.assert_allclose(grid[0, 0, 0, :2], [0.2, -12.6], atol=1e-6)
    np.testing.assert_allclose(grid[0, 1, 0, 0] - grid[0, 0, 0, 0], 0.4, atol=1e-6)
    np.testing.assert_allclose(grid[1, 0, 0, 1] - grid[0, 0, 0, 1], 0.4, atol=1e-6)
    assert cls.reshape(h, w, k)[0, 0].tolist() == [0, 0, 1, 1, 2, 2]
    # car anchors stand on the ground: bottom at -1.73
    np.testing.assert_allclose(grid[0, 0, 0, 2] - grid[0, 0, 0, 5] / 2, -1.73, atol=1e-6)


def test_nearest_rects_swap_beyond_45_degrees():
    boxes = np.array([[0, 0, 0, 4, 2, 1, 0.7], [0, 0, 0, 4, 2, 1, 0.9], [0, 0, 0, 4, 2, 1, np.pi]])
    rects = nearest_bev_rects(boxes)
    np.testing.assert_allclose(rects[:, 2] - rects[:, 0], [4, 2, 4])


def test_assignment_rules():
    anchors = np.array(
        [
            [10, 0, -1, 4, 2, 1.5, 0],  # identical to box 0 -> positive
            [10.5, 0, -1, 4, 2, 1.5, 0],  # IoU 7/9 = 0.78 -> positive
            [11.6, 0, -1, 4, 2, 1.5, 0],  # IoU 2.4/5.6 = 0.43 -> ignored (0.35..0.6)
            [30, 0, -1, 4, 2, 1.5, 0],  # far -> background
            [50, 5, -1, 4, 2, 1.5, 0],  # class 1 anchor near nothing of class 1 -> background
            [21.5, 0, -1, 4, 2, 1.5, 0],  # best for box 1 at IoU 0.33 -> claimed positive
        ],
        dtype=np.float32,
    )
    anchor_class = np.array([0, 0, 0, 0, 1, 0])
    gt = np.array(
        [[10, 0, -1, 4, 2, 1.5, 0.05], [20.2, 0, -1, 4, 2, 1.5, 0], [50, 5, -1, 4, 2, 1.5, 0]]
    )
    gt_class = np.array([0, 0, -1])  # box 2 is a class the model does not detect
    labels, index = assign_targets(
        anchors, anchor_class, gt, gt_class, np.array([0.6, 0.6]), np.array([0.35, 0.35])
    )
    assert labels.tolist() == [1, 1, IGNORE, 0, 0, 1]
    assert index.tolist() == [0, 0, -1, -1, -1, 1]


def test_assigner_on_a_real_frame(kitti_root, tiny_cfg):
    from perception3d.data.kitti import KittiObjectDataset

    frame = KittiObjectDataset(kitti_root).frame("000008")
    out = AnchorTargetAssigner(tiny_cfg.model)(frame.boxes_lidar, frame.names)
    labels = out["anchor_labels"]
    # every Car within the range gets at least one positive anchor of class Car (label 1)
    for i, (box, name) in enumerate(zip(frame.boxes_lidar, frame.names)):
        inside = 0 <= box[0] < 25.6 and abs(box[1]) < 12.8
        if name == "Car" and inside:
            assert ((labels == 1) & (out["anchor_gt_index"] == i)).any()
