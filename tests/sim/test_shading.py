"""The camera's numba shading kernels give exactly the float32 results of the numpy
expressions they replaced (the generated dataset's bytes depend on it)."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.sim.camera import _diffuse_radiance, _gather_hits, _scatter_columns
from perception3d.sim.raycast import _face_rays
from perception3d.sim.shading import offset_rays


def _unit_rows(rng, num: int) -> np.ndarray:
    v = rng.normal(size=(num, 3))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def hits(rng):
    num = 5000
    p = rng.uniform(-80, 80, size=(num, 3)).astype(np.float32)
    t = rng.uniform(0.5, 120, size=num).astype(np.float32)
    return p, _unit_rows(rng, num), t


@pytest.mark.parametrize("per_row", [False, True])
def test_offset_rays_matches_numpy(hits, rng, per_row):
    p, n, t = hits
    rows = np.sort(rng.choice(len(p), 1000, replace=False))
    d = _unit_rows(rng, len(rows)) if per_row else _unit_rows(rng, 1)[0]
    eps = 1e-3 + 2e-4 * t[rows]  # the numpy reference (float32 throughout)
    expected = np.empty((len(rows), 6), np.float32)
    for k in range(3):
        expected[:, k] = p[rows, k] + eps * n[rows, k]
    expected[:, 3:6] = d
    np.testing.assert_array_equal(offset_rays(p, n, d, t, rows), expected)
    assert offset_rays(p, n, _unit_rows(rng, 1)[0], t).shape == (len(p), 6)


def test_diffuse_radiance_matches_numpy(hits, rng):
    _, n, _ = hits
    num = len(n)
    albedo = rng.uniform(0, 1, size=(num, 3)).astype(np.float32)
    cos_s, n_up = n[:, 0].copy(), n[:, 2].copy()
    cos_s[:3] = [-0.0, 0.0, -1.0]  # the clip's edge cases
    sun_vis = (rng.uniform(size=num) < 0.5).astype(np.float32)
    sky_vis = np.where(rng.uniform(size=num) < 0.2, 0.35, 1.0).astype(np.float32)
    sun, sky_k, ground_k = (rng.uniform(0, 1, size=3).astype(np.float32) for _ in range(3))
    w_sun = np.clip(cos_s, 0, None) * sun_vis
    w_sky = (1 + n_up) * np.float32(0.5) * sky_vis
    w_ground = (1 - n_up) * np.float32(0.5)
    expected = np.empty((num, 3), np.float32)
    for k in range(3):
        expected[:, k] = albedo[:, k] * (w_sun * sun[k] + w_sky * sky_k[k] + w_ground * ground_k[k])
    got = _diffuse_radiance(albedo, cos_s, sun_vis, n_up, sky_vis, sun, sky_k, ground_k)
    np.testing.assert_array_equal(got, expected)
    assert not np.signbit(got).any()


def test_face_rays_and_gathers_match_numpy(hits, rng):
    p, n, t = hits
    num = len(t)
    t = np.where(rng.uniform(size=num) < 0.2, np.inf, t).astype(np.float32)
    prim = rng.integers(0, 2**31, size=num).astype(np.uint32)
    rays = np.concatenate([p, _unit_rows(rng, num)], 1)
    normal = n.copy()
    tri = _face_rays(t, prim, normal, rays)
    expected_tri = prim.astype(np.int64)
    np.putmask(expected_tri, ~np.isfinite(t), -1)
    expected_n = n.copy()
    flip = np.einsum("ij,ij->i", n, rays[:, 3:6]) > 0
    np.negative(expected_n, out=expected_n, where=flip[:, None])
    np.testing.assert_array_equal(tri, expected_tri)
    np.testing.assert_array_equal(normal, expected_n)

    idx = np.flatnonzero(tri >= 0)
    origin, dirs = p[0], rays[:, 3:6].copy()
    t_hit, points, n_hit, tri_hit = _gather_hits(t, normal, tri, origin, dirs, idx)
    np.testing.assert_array_equal(t_hit, t[idx])
    np.testing.assert_array_equal(points, origin + t[idx, None] * dirs[idx])
    np.testing.assert_array_equal(n_hit, normal[idx])
    np.testing.assert_array_equal(tri_hit, tri[idx])

    image = np.zeros((3, num), np.float32)
    _scatter_columns(image, idx, points)
    np.testing.assert_array_equal(image[:, idx], points.T)
