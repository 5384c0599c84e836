"""Ground-truth optical flow of image_02 between consecutive frames of a drive.

Each pixel of frame k with a finite depth is lifted to 3D (LiDAR frame of frame k), carried
rigidly with what it lies on (the static world stays in place; a road user's point moves with
its box from t_k to t_{k+1}), and projected into frame k+1 through P2. Sky pixels are carried
as directions (points at infinity: only the rotation moves them).

Stored per pixel (``flow_02``): (du, dv) in pixels (the point's position in frame k+1 minus
(u, v)) and its depth in frame k+1's camera (metres along the optical axis; inf for the sky).
A pixel is visible in frame k+1 where that depth is not behind frame k+1's own depth map at the
target pixel (:func:`perception3d.geometry.flow.flow_visible`).
"""

from __future__ import annotations

import numpy as np

from perception3d.geometry.calib import Calibration
from perception3d.geometry.flow import flow_visible
from perception3d.sim.world import Transform

__all__ = ["flow_visible", "image_flow"]

_SKY_DISTANCE_M = 1e6


def image_flow(
    depth_m: np.ndarray,
    instance: np.ndarray,
    calib: Calibration,
    lidar_k_to_next: Transform,
    object_motion: dict[int, Transform],
) -> np.ndarray:
    """The flow of image_02 from frame k to frame k+1.

    Args:
        depth_m: (H, W) float32 depth along the optical axis in frame k, inf for the sky.
        instance: (H, W) int32 scene object seen (k + 1 for object k), 0 for the static world.
        calib: the rig's calibration (P2 at the image size).
        lidar_k_to_next: LiDAR frame k -> LiDAR frame k+1 for static points.
        object_motion: scene instance id -> LiDAR frame k -> LiDAR frame k+1 for its points.

    Returns:
        (3, H, W) float32 [du_px, dv_px, depth_next_m].
    """
    h, w = depth_m.shape
    v, u = np.mgrid[0:h, 0:w]
    uv = np.stack([u.ravel(), v.ravel()], 1).astype(np.float64)  # (H*W, 2) pixel centres
    depth = depth_m.ravel().astype(np.float64)
    sky = ~np.isfinite(depth)
    pts_rect = calib.image_to_rect(uv, np.where(sky, _SKY_DISTANCE_M, depth))
    pts = calib.rect_to_lidar(pts_rect)  # (H*W, 3) LiDAR frame k
    moved = lidar_k_to_next.apply(pts)
    if sky.any():  # directions: rotate only, from the camera's centre
        centre = calib.rect_to_lidar(calib.image_to_rect(np.zeros((1, 2)), np.zeros(1)))
        rays = pts[sky] - centre
        moved[sky] = rays @ lidar_k_to_next.rotation.T + centre
    ids = instance.ravel()
    for inst, motion in object_motion.items():
        sel = ids == inst
        if sel.any():
            moved[sel] = motion.apply(pts[sel])
    uv_next, depth_next = calib.lidar_to_image(moved)
    out = np.empty((3, h * w), np.float32)
    out[0:2] = (uv_next - uv).T
    out[2] = np.where(sky, np.inf, depth_next)
    return out.reshape(3, h, w)
