"""Camera field-of-view masks of LiDAR points, by the rule each framework crops its KITTI
points with (the labels only cover image_2's view).

- ``image`` (ours): the point is in front of camera 2 (depth along its axis > 0) and projects
  into ``[0, W) x [0, H)`` through ``P2 @ R0_rect @ Tr_velo_to_cam``, in float64.
- ``openpcdet``: OpenPCDet's ``FOV_POINTS_ONLY`` (``get_fov_flag`` of its KITTI dataset), in
  float32 as it parses the calibration: ``u, v`` are the first two projected coordinates divided
  by the *rectified* depth ``z_rect`` (not by the projected depth ``z_rect + P2[2, 3]``), kept
  when ``0 <= u < W``, ``0 <= v < H`` and ``z_rect >= 0``.
- ``mmdet3d``: mmdetection3d's ``velodyne_reduced`` (its KITTI converter): the points strictly
  inside the image frustum from 0.001 m to 100 m of depth along camera 2's axis, i.e.
  ``0 < u < W``, ``0 < v < H``, ``0.001 < w < 100`` with ``(u w, v w, w) = P2 @ p_rect``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from perception3d.geometry.calib import Calibration

FovRule = Literal["image", "openpcdet", "mmdet3d"]
FOV_RULES = ("image", "openpcdet", "mmdet3d")
# mmdetection3d's frustum for velodyne_reduced: near and far clip along camera 2's axis, metres
MMDET3D_NEAR_M, MMDET3D_FAR_M = 0.001, 100.0


def _xyz(points_lidar: np.ndarray) -> np.ndarray:
    pts = np.asarray(points_lidar)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points_lidar must be (N, 3) or (N, >=3), got {pts.shape}")
    return pts[:, :3]


def fov_mask(
    points_lidar: np.ndarray,
    calib: Calibration,
    image_hw: tuple[int, int],
    rule: FovRule = "image",
) -> np.ndarray:
    """(N,) bool mask of the points inside image_2's field of view.

    Args:
        points_lidar: (N, 3+) LiDAR-frame points, metres.
        calib: the frame's calibration.
        image_hw: (H, W) of image_2, pixels.
        rule: ``image``, ``openpcdet`` or ``mmdet3d`` (see the module docstring).

    Example:
        >>> calib = Calibration(np.array([[100.0, 0, 50, 0], [0, 100, 20, 0], [0, 0, 1, 0]]),
        ...     np.eye(3), np.array([[0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0]], dtype=float))
        >>> pts = np.array([[10.0, 0, 0], [10, 8, 0], [-10, 0, 0]])
        >>> [fov_mask(pts, calib, (40, 100), r).tolist() for r in FOV_RULES]
        [[True, False, False], [True, False, False], [True, False, False]]
    """
    xyz = _xyz(points_lidar)
    h, w = image_hw
    if rule == "image":
        proj = calib.P2 @ calib.lidar_to_rect_matrix  # (3, 4) LiDAR -> image_2
        uvw = xyz.astype(np.float64) @ proj[:, :3].T + proj[:, 3]
        d = uvw[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u, v = uvw[:, 0] / d, uvw[:, 1] / d
        return (d > 0) & (u >= 0) & (u < w) & (v >= 0) & (v < h)
    elif rule == "openpcdet":
        return _openpcdet_mask(xyz, calib, h, w)
    elif rule == "mmdet3d":
        uvw = calib.lidar_to_rect(xyz) @ calib.P2[:, :3].T + calib.P2[:, 3]
        d = uvw[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u, v = uvw[:, 0] / d, uvw[:, 1] / d
        inside = (u > 0) & (u < w) & (v > 0) & (v < h)
        return inside & (d > MMDET3D_NEAR_M) & (d < MMDET3D_FAR_M)
    else:
        raise ValueError(f"fov rule must be one of {FOV_RULES}, got {rule!r}")


def _openpcdet_mask(xyz: np.ndarray, calib: Calibration, h: int, w: int) -> np.ndarray:
    f32 = np.float32
    p2, r0, tr = (m.astype(f32) for m in (calib.P2, calib.R0_rect, calib.Tr_velo_to_cam))
    hom = np.concatenate([xyz.astype(f32), np.ones((len(xyz), 1), f32)], axis=1)  # (N, 4)
    rect = hom @ (tr.T @ r0.T)  # (N, 3) float32, the association OpenPCDet uses
    uvw = np.concatenate([rect, np.ones((len(xyz), 1), f32)], axis=1) @ p2.T  # (N, 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        u, v = uvw[:, 0] / rect[:, 2], uvw[:, 1] / rect[:, 2]
    depth = uvw[:, 2] - p2[2, 3]
    return (u >= 0) & (u < w) & (v >= 0) & (v < h) & (depth >= 0)
