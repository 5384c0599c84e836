"""Frustums of LiDAR points behind 2D image boxes (Frustum PointNets, Qi et al., CVPR 2018).

A 2D box ``[x1, y1, x2, y2]`` (image_2 pixels) selects the LiDAR points in front of the camera
(depth > 0 along camera 2's axis) whose image_2 projection lies in the box (edges inclusive).
The points are expressed in the *frustum frame*: the rectified camera frame rotated about its
y axis by ``-angle``, where ``angle = atan2(x, z)`` of the ray through the box centre, so that
ray becomes +z (the paper's "frustum rotation", Fig. 4b). Boxes in that frame are
``(cx, cy, cz, l, h, w, ry)`` with the geometric centre (see ``models/frustum.py``).
"""

from __future__ import annotations

import numpy as np

from perception3d.geometry.calib import Calibration, limit_period


def frustum_mask(
    points_lidar: np.ndarray, box_2d_img: np.ndarray, calib: Calibration
) -> np.ndarray:
    """Which points lie in the frustum of one 2D box.

    Args:
        points_lidar: (N, 3+) LiDAR frame, metres.
        box_2d_img: (4,) ``[x1, y1, x2, y2]`` image_2 pixels.
        calib: the frame's calibration.

    Returns:
        (N,) bool: depth > 0 and x1 <= u <= x2 and y1 <= v <= y2.
    """
    uv, depth = calib.lidar_to_image(points_lidar)
    return frustum_mask_uv(uv, depth, box_2d_img)


def frustum_mask_uv(uv_img: np.ndarray, depth_m: np.ndarray, box_2d_img: np.ndarray) -> np.ndarray:
    """:func:`frustum_mask` on already projected points (``uv_img`` (N, 2), ``depth_m`` (N,))."""
    x1, y1, x2, y2 = np.asarray(box_2d_img, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return (
            (depth_m > 0)
            & (uv_img[:, 0] >= x1)
            & (uv_img[:, 0] <= x2)
            & (uv_img[:, 1] >= y1)
            & (uv_img[:, 1] <= y2)
        )


def frustum_angle(
    box_2d_img: np.ndarray, calib: Calibration, reference_depth_m: float = 50.0
) -> float:
    """Azimuth (radians, about the rect y axis, ``atan2(x, z)``) of the point at
    ``reference_depth_m`` on the ray through the 2D box's centre.

    Camera 2 sits about 6 cm beside the rectified frame's origin, so its rays do not pass
    exactly through that origin: the angle is the one of a point at a typical object depth.
    """
    x1, y1, x2, y2 = np.asarray(box_2d_img, dtype=np.float64)
    centre = np.array([[(x1 + x2) / 2, (y1 + y2) / 2]])
    p = calib.image_to_rect(centre, np.array([reference_depth_m]))[0]
    return float(np.arctan2(p[0], p[2]))


def rotate_y(points: np.ndarray, angle_rad: float) -> np.ndarray:
    """Rotate (N, 3+) rect/frustum-frame points about +y by ``angle_rad``: a point in
    direction ``(sin a, 0, cos a)`` goes to ``(sin(a + angle), 0, cos(a + angle))``. Extra
    columns are kept.

    Example:
        >>> np.round(rotate_y(np.array([[1.0, 2.0, 0.0]]), -np.pi / 2), 6).tolist()
        [[0.0, 2.0, 1.0]]
    """
    out = np.array(points, dtype=np.float64, copy=True)
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    x, z = out[:, 0].copy(), out[:, 2].copy()
    out[:, 0] = c * x + s * z
    out[:, 2] = -s * x + c * z
    return out


def boxes_cam_to_frustum(boxes_cam: np.ndarray, angle_rad: float) -> np.ndarray:
    """KITTI ``boxes_cam`` (M, 7) ``[x, y, z, l, h, w, ry]`` (bottom centre) -> frustum-frame
    boxes (geometric centre) of the frustum at ``angle_rad``."""
    b = np.asarray(boxes_cam, dtype=np.float64).reshape(-1, 7).copy()
    b[:, 1] -= b[:, 4] / 2  # bottom centre -> geometric centre (y points down)
    b[:, :3] = rotate_y(b[:, :3], -angle_rad)
    b[:, 6] = limit_period(b[:, 6] - angle_rad)
    return b


def boxes_frustum_to_cam(boxes_frustum: np.ndarray, angle_rad: float) -> np.ndarray:
    """Inverse of :func:`boxes_cam_to_frustum`."""
    b = np.asarray(boxes_frustum, dtype=np.float64).reshape(-1, 7).copy()
    b[:, :3] = rotate_y(b[:, :3], angle_rad)
    b[:, 1] += b[:, 4] / 2
    b[:, 6] = limit_period(b[:, 6] + angle_rad)
    return b


def frustum_points(
    points_lidar: np.ndarray, box_2d_img: np.ndarray, calib: Calibration
) -> tuple[np.ndarray, np.ndarray, float]:
    """The frustum of one 2D box in the frustum frame.

    Returns:
        points_frustum: (F, 4) float32 ``[x, y, z, intensity]`` (frustum frame, metres),
        index: (F,) int64 indices into ``points_lidar``,
        angle_rad: the frustum's rotation (:func:`frustum_angle`).
    """
    index = np.flatnonzero(frustum_mask(points_lidar, box_2d_img, calib))
    angle = frustum_angle(box_2d_img, calib)
    rect = calib.lidar_to_rect(points_lidar[index])
    pts = np.concatenate([rotate_y(rect, -angle), points_lidar[index, 3:4]], axis=1)
    return pts.astype(np.float32), index, angle


def sample_points(num_points: int, count: int, rng: np.random.Generator | None) -> np.ndarray:
    """Indices choosing ``num_points`` of ``count`` points: a random subset (with repetition
    only when ``count < num_points``); ``rng=None`` takes them evenly spaced (deterministic)."""
    if count <= 0:
        raise ValueError("cannot sample from an empty frustum")
    if rng is None:
        if count >= num_points:
            return (np.arange(num_points) * count) // num_points
        return np.arange(num_points) % count
    if count >= num_points:
        return rng.choice(count, num_points, replace=False)
    return np.concatenate([rng.permutation(count), rng.choice(count, num_points - count)])
