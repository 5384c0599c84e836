"""The camera field-of-view crop of a LiDAR sample (KITTI labels only cover image_2's view).

The torch ``Dataset`` of detection samples that applies it is
:class:`perception3d.lidar.dataset.LidarDetectionDataset` (it voxelizes, a LiDAR-stage step).
"""

from __future__ import annotations

import numba
import numpy as np

from perception3d.data.sample import LidarSample
from perception3d.geometry.fov import FovRule, fov_mask

# Image size of KITTI image_2 (REFERENCE.md), used for the FOV crop when a frame has no image.
KITTI_IMAGE_HW = (375, 1242)


def crop_to_fov(sample: LidarSample, rule: FovRule = "image") -> LidarSample:
    """Keep the points in front of camera 2 that project inside its image.

    Needs ``sample.calib``; the image size is ``sample.image_shape`` or KITTI's 375 x 1242.
    ``rule``: see :mod:`perception3d.geometry.fov` (``image`` runs a fused kernel here).
    """
    if sample.calib is None:
        raise ValueError(f"frame {sample.frame_id}: the FOV crop needs a calibration")
    h, w = sample.image_shape or KITTI_IMAGE_HW
    if rule != "image":
        return sample.with_(
            points=sample.points[fov_mask(sample.points, sample.calib, (h, w), rule)]
        )
    # LiDAR -> image_2 in one (3, 4) matrix, P2 @ R0_rect @ Tr_velo_to_cam (calib.py's chain),
    # in one pass: a sweep has 120k points and this runs for every training sample
    proj = sample.calib.P2 @ sample.calib.lidar_to_rect_matrix
    keep = _in_image_kernel(np.ascontiguousarray(sample.points[:, :3]), proj, float(w), float(h))
    return sample.with_(points=sample.points[keep])


@numba.njit(cache=True)
def _in_image_kernel(xyz, proj, width, height):
    keep = np.zeros(xyz.shape[0], dtype=np.bool_)
    for i in range(xyz.shape[0]):
        x, y, z = xyz[i, 0], xyz[i, 1], xyz[i, 2]
        d = proj[2, 0] * x + proj[2, 1] * y + proj[2, 2] * z + proj[2, 3]
        if d <= 0:
            continue
        u = (proj[0, 0] * x + proj[0, 1] * y + proj[0, 2] * z + proj[0, 3]) / d
        v = (proj[1, 0] * x + proj[1, 1] * y + proj[1, 2] * z + proj[1, 3]) / d
        keep[i] = (u >= 0) & (u < width) & (v >= 0) & (v < height)
    return keep
