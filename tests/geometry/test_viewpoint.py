"""The ObjectNet3D viewpoint camera: rotation, projection, geodesic error."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from scipy.spatial.transform import Rotation

from perception3d.geometry.viewpoint import (
    camera_center,
    geodesic_distance_rad,
    project_to_image,
    rotation_from_viewpoint,
    viewpoint_from_rotation,
)


def _toolbox_project_3d(x3d, a_deg, e_deg, d, f, theta_deg, principal, viewport):
    """Transcription of the toolbox's other projection, project_3d.m (MIT licence, cited):
    rotation without theta, P = diag(M f, M f, -1) [R, -R C], theta applied as a 2D rotation
    of the projected points, then y flipped. Used only as an independent reference."""
    a, e, t = np.deg2rad([a_deg, e_deg, theta_deg])
    c = np.array([d * np.cos(e) * np.sin(a), -d * np.cos(e) * np.cos(a), d * np.sin(e)])
    a2, e2 = -a, -(np.pi / 2 - e)
    rz = np.array([[np.cos(a2), -np.sin(a2), 0], [np.sin(a2), np.cos(a2), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(e2), -np.sin(e2)], [0, np.sin(e2), np.cos(e2)]])
    r = rx @ rz
    p = np.diag([viewport * f, viewport * f, -1.0]) @ np.hstack([r, -(r @ c)[:, None]])
    x = p @ np.hstack([x3d, np.ones((len(x3d), 1))]).T
    x = x[:2] / x[2]
    r2 = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    x = (r2 @ x).T
    x[:, 1] *= -1
    return x + np.asarray(principal)


def test_rotation_is_orthonormal_and_camera_looks_at_object(rng):
    a, e, t = rng.uniform(-np.pi, np.pi, 50), rng.uniform(-1.4, 1.4, 50), rng.uniform(-1, 1, 50)
    r = rotation_from_viewpoint(a, e, t)
    assert r.shape == (50, 3, 3)
    np.testing.assert_allclose(
        r @ np.swapaxes(r, 1, 2), np.broadcast_to(np.eye(3), r.shape), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-12)
    # the object origin is straight ahead of the camera at depth d
    c = camera_center(a, e, 7.0)
    origin_cam = np.einsum("nij,nj->ni", r, -c)
    np.testing.assert_allclose(origin_cam, np.tile([0.0, 0.0, 7.0], (50, 1)), atol=1e-12)


def test_up_is_up_in_the_image_at_zero_theta():
    # object +z projects above (smaller v than) the object origin for any azimuth
    for a in np.deg2rad([0, 45, 135, 270]):
        uv, _ = project_to_image([[0, 0, 0], [0, 0, 1]], a, 0.0, 0.0, 5.0, 1.0, 2000, 0, 0)
        assert uv[1, 1] < uv[0, 1]
        assert abs(uv[1, 0] - uv[0, 0]) < 1e-9


def test_viewpoint_round_trip(rng):
    a = rng.uniform(-np.pi + 1e-3, np.pi, 200)
    e = rng.uniform(-1.5, 1.5, 200)
    t = rng.uniform(-np.pi + 1e-3, np.pi, 200)
    a2, e2, t2 = viewpoint_from_rotation(rotation_from_viewpoint(a, e, t))
    np.testing.assert_allclose(a2, a, atol=1e-9)
    np.testing.assert_allclose(e2, e, atol=1e-9)
    np.testing.assert_allclose(t2, t, atol=1e-9)


def test_projection_matches_toolbox_project_3d(rng):
    pts = rng.normal(size=(30, 3))
    for a, e, t, d, f, vp in [
        (30, 10, 5, 5, 1, 2000),
        (200, -8, -20, 9, 1.3, 3000),
        (0, 0, 0, 4, 1, 2000),
    ]:
        uv, depth = project_to_image(pts, *np.deg2rad([a, e, t]), d, f, vp, 250.5, 180.0)
        ref = _toolbox_project_3d(pts, a, e, d, f, t, [250.5, 180.0], vp)
        np.testing.assert_allclose(uv, ref, rtol=1e-9, atol=1e-7)
        assert (depth > 0).all()


def test_projection_hand_computed():
    # a = 90 deg: camera on +x looking towards -x; object +y then goes to the image right
    uv, depth = project_to_image([[0.0, 1.0, 0.0]], np.pi / 2, 0.0, 0.0, 4.0, 1.0, 1000, 10, 20)
    np.testing.assert_allclose(uv, [[10 + 1000 * 1 / 4, 20]], atol=1e-9)
    np.testing.assert_allclose(depth, [4.0], atol=1e-12)


def test_projection_rejects_bad_input():
    with pytest.raises(ValueError, match=r"points_obj must be \(N, 3\)"):
        project_to_image(np.zeros((4, 2)), 0, 0, 0, 5, 1, 2000, 0, 0)
    with pytest.raises(ValueError, match="distance must be a positive"):
        project_to_image(np.zeros((4, 3)), 0, 0, 0, 0.0, 1, 2000, 0, 0)


def test_geodesic_matches_matrix_logarithm(rng):
    rots = Rotation.random(40, random_state=1).as_matrix()
    rots2 = Rotation.random(40, random_state=2).as_matrix()
    ours = geodesic_distance_rad(rots, rots2)
    for i in range(40):
        ref = np.linalg.norm(scipy.linalg.logm(rots[i].T @ rots2[i]), "fro") / np.sqrt(2)
        assert ours[i] == pytest.approx(float(np.real(ref)), abs=1e-7)


def test_geodesic_of_known_angles():
    r = rotation_from_viewpoint(0.4, -0.2, 0.1)
    for angle in (0.0, 1e-8, 0.5, np.pi / 6, 3.0, np.pi):
        r2 = r @ Rotation.from_rotvec(angle * np.array([0.6, 0.0, 0.8])).as_matrix()
        assert geodesic_distance_rad(r, r2) == pytest.approx(angle, abs=1e-9)
    # azimuth alone: the error is the azimuth difference
    assert geodesic_distance_rad(
        rotation_from_viewpoint(0.0, 0.3, 0.0), rotation_from_viewpoint(0.7, 0.3, 0.0)
    ) == pytest.approx(0.7, abs=1e-12)
