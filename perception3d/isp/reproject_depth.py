"""The current frame's depth for the reprojection alignment (:mod:`perception3d.isp.reproject`)
from its LiDAR sweep: de-skewed (:func:`deskew_sweep`), projected into ``image_2`` on a coarse
grid and completed by Ku et al.'s morphological pipeline (CRV 2018,
:func:`perception3d.geometry.depth_completion.complete_depth`).

A spinning sensor records each return in the sensor frame of its own firing; the synthetic
drives model KITTI's timing (:mod:`perception3d.sim.drive.sweep`). Depths are metres along
camera 2's optical axis, 0 = none.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from scipy import ndimage

from perception3d.geometry.calib import Calibration
from perception3d.geometry.depth_completion import (
    complete_depth,
    sparse_depth_map,
    top_return_rows,
)

__all__ = ["deskew_sweep", "frame_depth", "grid_hw", "lidar_depth", "scaled_calib"]


def deskew_sweep(points_lidar: np.ndarray, lidar_now_from_prev: np.ndarray) -> np.ndarray:
    """A sweep's points moved from the sensor frame of their firing into the sensor frame of
    the frame time, assuming the motion between the previous frame and this one holds.

    Timing (KITTI raw; :mod:`perception3d.sim.drive.sweep`): clockwise spin, facing forward at
    the frame time, one turn per frame period, so a return at azimuth ``a`` (rad) was fired a
    share ``s = a / (2 pi)`` of the period before the frame time, when the sensor had covered
    the share s of the way back to its previous pose: to first order in the motion,
    ``p_now = p + s (M p - p)`` with ``M = lidar_now_from_prev``.

    Args:
        points_lidar: (N, 4+) float32 ``[x, y, z, intensity, ...]``, each in its firing frame.
        lidar_now_from_prev: (4, 4) the previous frame's LiDAR pose in this frame's.

    Returns:
        (N, 4+) float32, a copy with x, y, z in the frame-time sensor frame.

    Example:
        >>> m = np.eye(4); m[0, 3] = -1.0  # the sensor moved 1 m forward since last frame
        >>> pts = np.array([[0.0, 10.0, 0, 1], [10.0, 0, 0, 1]], np.float32)  # left, ahead
        >>> deskew_sweep(pts, m)[:, :3].round(3).tolist()  # the left one fired T/4 earlier
        [[-0.25, 10.0, 0.0], [10.0, 0.0, 0.0]]
    """
    pts = np.asarray(points_lidar)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points_lidar must be (N, 4+), got {pts.shape}")
    m = np.asarray(lidar_now_from_prev, np.float64)
    if m.shape != (4, 4):
        raise ValueError(f"lidar_now_from_prev must be (4, 4), got {m.shape}")
    out = np.array(pts, dtype=np.float32, copy=True)
    x, y, z = (out[:, j].astype(np.float64) for j in range(3))
    share = np.arctan2(y, x) / (2 * np.pi)
    for j in range(3):
        moved = m[j, 0] * x + m[j, 1] * y + m[j, 2] * z + m[j, 3]
        out[:, j] = (out[:, j] + share * (moved - out[:, j])).astype(np.float32)
    return out


def grid_hw(image_hw: tuple[int, int], scale: float) -> tuple[int, int]:
    """The (h, w) of the depth / flow grid ``scale`` times an image of ``image_hw``."""
    return max(1, round(image_hw[0] * scale)), max(1, round(image_hw[1] * scale))


def scaled_calib(calib: Calibration, image_hw: tuple[int, int], grid: tuple[int, int]):
    """``calib`` with P2 mapping into a (h, w) ``grid`` over an image of ``image_hw``, pixel
    centres kept (image pixel u is grid coordinate ``(u + 0.5) w / W - 0.5``, as
    ``F.interpolate(..., align_corners=False)`` has it)."""
    sy, sx = grid[0] / image_hw[0], grid[1] / image_hw[1]
    a = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])
    return dataclasses.replace(calib, P2=a @ calib.P2)


def lidar_depth(
    points_lidar: np.ndarray,
    calib: Calibration,
    height: int,
    width: int,
    support_px: int = 0,
    extend_top: bool = False,
) -> np.ndarray:
    """Dense depth (height, width) float32 metres along camera 2's axis from a sweep: the
    projected returns completed by :func:`~perception3d.geometry.depth_completion.
    complete_depth` (one large-hole pass, no median: the median is 2/3 of its time); 0 where
    no return lies within ``support_px`` pixels (rows and columns) of the pixel (sky, above
    the upper beam) or the completion left it empty; with ``extend_top``, above the upper
    beam the column's top-most depth (Ku et al.'s step 5). ``calib`` maps into this grid
    (:func:`scaled_calib`); ``support_px`` counts this grid's pixels."""
    sparse = sparse_depth_map(points_lidar, calib, height, width)
    if not (sparse > 0).any():
        return sparse
    dense = complete_depth(sparse, extend_top=extend_top, fill_all=False, median=False)
    if support_px > 0:
        near = ndimage.maximum_filter(sparse > 0, size=2 * support_px + 1, mode="constant")
        if extend_top:
            near |= np.arange(height)[:, None] < top_return_rows(sparse)[None, :]
        dense = np.where(near, dense, 0.0).astype(np.float32)
    return dense


def frame_depth(
    points_lidar: np.ndarray,
    calib: Calibration,
    image_hw: tuple[int, int],
    lidar_now_from_prev: np.ndarray | None,
    scale: float = 0.25,
    support_px: int = 8,
    extend_top: bool = True,
) -> torch.Tensor:
    """One frame's :func:`lidar_depth` (h, w) on the grid ``scale`` times the image (``calib``
    and ``image_hw`` (H, W) are the image's; ``support_px`` counts image pixels), its sweep
    de-skewed by the motion ``lidar_now_from_prev`` since the previous frame (None: as
    recorded). Points outside a 50-degree half-angle cone ahead (the camera's is 41) are
    dropped first, for speed."""
    pts = np.asarray(points_lidar)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points_lidar must be (N, 4+), got {pts.shape}")
    pts = pts[(pts[:, 0] > 0.5) & (np.abs(pts[:, 1]) < 1.2 * pts[:, 0] + 1.0)]
    if lidar_now_from_prev is not None:
        pts = deskew_sweep(pts, lidar_now_from_prev)
    grid = grid_hw(image_hw, scale)
    support = round(support_px * grid[0] / image_hw[0])
    dense = lidar_depth(pts, scaled_calib(calib, image_hw, grid), *grid, support, extend_top)
    return torch.from_numpy(dense)
