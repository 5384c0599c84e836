"""Test helpers: predictions with a known outcome, and a colour probe for pictures."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from perception3d.data.kitti import KittiObject
from perception3d.geometry.boxes import boxes_to_image_2d
from perception3d.geometry.calib import Calibration, alpha_from_rotation_y, boxes_lidar_to_cam

IMAGE_HW = (375, 1242)


def objects_from_boxes(
    boxes_lidar: np.ndarray,
    names,
    calib: Calibration,
    scores=None,
) -> list[KittiObject]:
    """KITTI label (or result) rows of LiDAR boxes: 2D box from the projection, alpha, ry."""
    cam = boxes_lidar_to_cam(boxes_lidar, calib)
    b2d, _ = boxes_to_image_2d(boxes_lidar, calib, IMAGE_HW)
    alpha = alpha_from_rotation_y(cam[:, 6], cam[:, :3])
    out = []
    for k in range(len(cam)):
        x, y, z, l, h, w, ry = cam[k]
        out.append(
            KittiObject(
                type=str(names[k]),
                truncated=0.0,
                occluded=0,
                alpha=float(alpha[k]),
                bbox=tuple(float(v) for v in b2d[k]),
                dimensions=(float(h), float(w), float(l)),
                location=(float(x), float(y), float(z)),
                rotation_y=float(ry),
                score=None if scores is None else float(scores[k]),
            )
        )
    return out


def predictions_tp_fp_fn(gt_objects: list[KittiObject], calib: Calibration, tp_index: int = 0):
    """Predictions for a frame with a known outcome: a near-copy of GT row ``tp_index`` (TP),
    a car where no object is (FP); every other GT object is missed (FN) or ignored.

    Returns:
        [TP, FP] result rows with scores 0.9 and 0.4.
    """
    src = gt_objects[tp_index]
    tp = replace(src, location=(src.location[0] + 0.05, *src.location[1:]), score=0.9)
    fp_box = np.array([[30.0, 10.0, -0.95, 4.0, 1.7, 1.5, 0.0]])
    fp = objects_from_boxes(fp_box, ["Car"], calib, [0.4])[0]
    return [tp, fp]


def has_color_near(rgb: np.ndarray, row: float, col: float, color, radius: int = 1) -> bool:
    """True when a pixel within ``radius`` of (row, col) has exactly ``color``."""
    r, c = int(np.floor(row)), int(np.floor(col))
    patch = rgb[max(r - radius, 0) : r + radius + 1, max(c - radius, 0) : c + radius + 1]
    return bool(np.all(patch.reshape(-1, 3) == np.asarray(color, np.uint8), axis=1).any())
