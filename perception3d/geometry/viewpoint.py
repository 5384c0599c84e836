"""The viewpoint camera of PASCAL3D+ / ObjectNet3D annotations.

An annotation places a virtual camera on a sphere around the CAD model (object frame: the CAD
file's own axes, z up) and projects the model into the image:

- camera centre ``C = d (cos e sin a, -cos e cos a, sin e)`` for azimuth ``a``, elevation
  ``e`` and distance ``d`` (azimuth 0, elevation 0 looks from -y towards +y);
- rotation object -> camera ``R = Rz(-theta) Rx(pi/2 + e) Rz(-a)`` (``theta``: in-plane
  rotation); the camera frame is x right, y down, z forward (depth);
- pinhole projection ``uv = viewport * focal * (x / z, y / z) + (px, py)``, in the image's
  1-based MATLAB pixel coordinates (pixel (row 0, col 0) of a numpy image has its centre at
  ``(1, 1)``).

This is the model of the ObjectNet3D toolbox (github.com/yuxng/ObjectNet3D_toolbox:
``rotation_matrix.m``, ``project_3d_msid.m``; its ``project_3d.m`` applies theta as a 2D
rotation after projection and flips y, which is the same mapping). The official evaluation
compares rotations of this form by the geodesic distance ``||logm(R1^T R2)||_F / sqrt(2)``
(``VOCevaldetview_validation.m``).

Angles here are radians (``_rad``); the annotation files store degrees.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def _rot_z(angle: np.ndarray) -> np.ndarray:
    """(...,) -> (..., 3, 3) rotation about z by ``angle`` (counter-clockwise)."""
    c, s = np.cos(angle), np.sin(angle)
    zero, one = np.zeros_like(c), np.ones_like(c)
    return np.stack(
        [np.stack([c, -s, zero], -1), np.stack([s, c, zero], -1), np.stack([zero, zero, one], -1)],
        -2,
    )


def _rot_x(angle: np.ndarray) -> np.ndarray:
    """(...,) -> (..., 3, 3) rotation about x by ``angle``."""
    c, s = np.cos(angle), np.sin(angle)
    zero, one = np.zeros_like(c), np.ones_like(c)
    return np.stack(
        [np.stack([one, zero, zero], -1), np.stack([zero, c, -s], -1), np.stack([zero, s, c], -1)],
        -2,
    )


def rotation_from_viewpoint(
    azimuth_rad: ArrayLike, elevation_rad: ArrayLike, theta_rad: ArrayLike
) -> np.ndarray:
    """Object -> camera rotation of a viewpoint annotation.

    Args:
        azimuth_rad, elevation_rad, theta_rad: broadcastable arrays (or floats), radians.

    Returns:
        (..., 3, 3) float64 rotation matrices ``Rz(-theta) Rx(pi/2 + e) Rz(-a)``.

    Example:
        >>> np.round(rotation_from_viewpoint(0.0, 0.0, 0.0), 6) + 0.0  # object +y is depth
        array([[ 1.,  0.,  0.],
               [ 0.,  0., -1.],
               [ 0.,  1.,  0.]])
    """
    a, e, t = np.broadcast_arrays(
        np.asarray(azimuth_rad, dtype=np.float64),
        np.asarray(elevation_rad, dtype=np.float64),
        np.asarray(theta_rad, dtype=np.float64),
    )
    return _rot_z(-t) @ _rot_x(np.pi / 2 + e) @ _rot_z(-a)


def viewpoint_from_rotation(rotation: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of ``rotation_from_viewpoint``.

    Args:
        rotation: (..., 3, 3) object -> camera rotations.

    Returns:
        ``(azimuth_rad, elevation_rad, theta_rad)``, each (...,): azimuth and theta in
        (-pi, pi], elevation in [-pi/2, pi/2]. At elevation +-pi/2 (looking straight down or
        up) azimuth and theta are not separable and the split returned is arbitrary.

    Raises:
        ValueError: the input is not (..., 3, 3).

    Example:
        >>> a, e, t = viewpoint_from_rotation(rotation_from_viewpoint(0.5, 0.2, -0.1))
        >>> [round(float(v), 6) for v in (a, e, t)]
        [0.5, 0.2, -0.1]
    """
    r = np.asarray(rotation, dtype=np.float64)
    if r.shape[-2:] != (3, 3):
        raise ValueError(f"rotation must be (..., 3, 3), got {r.shape}")
    # third row = viewing direction in the object frame: (-cos e sin a, cos e cos a, -sin e)
    elevation = np.arcsin(np.clip(-r[..., 2, 2], -1.0, 1.0))
    azimuth = np.arctan2(-r[..., 2, 0], r[..., 2, 1])
    # third column = (-sin t cos e, -cos t cos e, -sin e)
    theta = np.arctan2(-r[..., 0, 2], -r[..., 1, 2])
    return azimuth, elevation, theta


def camera_center(azimuth_rad: ArrayLike, elevation_rad: ArrayLike, distance: ArrayLike):
    """Camera centre in the object frame: ``d (cos e sin a, -cos e cos a, sin e)``, (..., 3).

    Example:
        >>> camera_center(0.0, 0.0, 5.0) + 0.0
        array([ 0., -5.,  0.])
    """
    a, e, d = np.broadcast_arrays(
        np.asarray(azimuth_rad, dtype=np.float64),
        np.asarray(elevation_rad, dtype=np.float64),
        np.asarray(distance, dtype=np.float64),
    )
    return np.stack([d * np.cos(e) * np.sin(a), -d * np.cos(e) * np.cos(a), d * np.sin(e)], -1)


def project_to_image(
    points_obj: ArrayLike,
    azimuth_rad: float,
    elevation_rad: float,
    theta_rad: float,
    distance: float,
    focal: float,
    viewport: float,
    px: float,
    py: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Project points of a CAD model into the image with a viewpoint annotation.

    Args:
        points_obj: (N, 3) points in the CAD model's frame.
        azimuth_rad, elevation_rad, theta_rad: the viewpoint, radians.
        distance: camera distance from the object origin, CAD units (> 0).
        focal, viewport: the focal length in pixels is ``focal * viewport``.
        px, py: principal point, 1-based MATLAB pixel coordinates.

    Returns:
        ``(uv_img, depth_cam)``: (N, 2) float64 pixel coordinates (1-based, x right, y down)
        and (N,) depth along the optical axis (positive in front of the camera).

    Raises:
        ValueError: points are not (N, 3), or distance, focal or viewport is not positive.

    Example:
        >>> uv, z = project_to_image([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]], 0, 0, 0, 5, 1, 2000,
        ...                          100, 50)
        >>> uv.round(6) + 0.0, z
        (array([[100.,  50.],
               [500.,  50.]]), array([5., 5.]))
    """
    pts = np.asarray(points_obj, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f"points_obj must be (N, 3), got {pts.shape}")
    for name, value in (("distance", distance), ("focal", focal), ("viewport", viewport)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    rot = rotation_from_viewpoint(azimuth_rad, elevation_rad, theta_rad)
    center = camera_center(azimuth_rad, elevation_rad, distance)
    pts_cam = (pts - center) @ rot.T  # (N, 3) [x right, y down, z forward]
    depth = pts_cam[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = focal * viewport * pts_cam[:, :2] / depth[:, None]
    uv += np.array([px, py], dtype=np.float64)
    return uv, depth


def geodesic_distance_rad(rotation_a: ArrayLike, rotation_b: ArrayLike) -> np.ndarray:
    """Angle of the rotation taking ``rotation_a`` to ``rotation_b``, radians in [0, pi].

    Equals ``||logm(R_a^T R_b)||_F / sqrt(2)``, the error of the ObjectNet3D evaluation,
    computed as ``atan2(sin, cos)`` of the relative rotation (accurate near 0 and pi, where
    ``arccos`` of the trace and a matrix logarithm lose precision).

    Args:
        rotation_a, rotation_b: broadcastable (..., 3, 3) rotation matrices.

    Returns:
        (...,) float64 angles.

    Example:
        >>> r = rotation_from_viewpoint(0.3, 0.1, 0.0)
        >>> float(geodesic_distance_rad(r, rotation_from_viewpoint(0.3, 0.1, 0.25))).__round__(9)
        0.25
    """
    ra = np.asarray(rotation_a, dtype=np.float64)
    rb = np.asarray(rotation_b, dtype=np.float64)
    if ra.shape[-2:] != (3, 3) or rb.shape[-2:] != (3, 3):
        raise ValueError(f"rotations must be (..., 3, 3), got {ra.shape} and {rb.shape}")
    rel = np.swapaxes(ra, -1, -2) @ rb
    cos = (np.trace(rel, axis1=-2, axis2=-1) - 1.0) / 2.0
    skew = np.stack(
        [
            rel[..., 2, 1] - rel[..., 1, 2],
            rel[..., 0, 2] - rel[..., 2, 0],
            rel[..., 1, 0] - rel[..., 0, 1],
        ],
        -1,
    )
    sin = np.linalg.norm(skew, axis=-1) / 2.0
    return np.arctan2(sin, cos)
