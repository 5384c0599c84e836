"""Voxelization: every point lands in the voxel that contains it, nothing is invented or lost
beyond the documented caps, and the result does not depend on chance."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from perception3d.lidar.voxelize import VoxelGridConfig, crop_to_range, voxelize

GRID = VoxelGridConfig((0, -8, -3, 16, 8, 1), (0.5, 0.5, 4.0), 5, 10_000, 10_000)


def _points(rng, n=4000):
    xyz = rng.uniform([-2, -10, -4], [18, 10, 2], (n, 3))
    return np.concatenate([xyz, rng.uniform(0, 1, (n, 1))], 1).astype(np.float32)


def test_matches_brute_force_grouping(rng):
    pts = _points(rng)
    v = voxelize(pts, GRID, GRID.max_voxels_infer)
    # brute force: group by voxel index in input order
    groups = defaultdict(list)
    for p in pts[crop_to_range(pts, GRID.point_range_m)]:
        i, j, k = np.floor((p[:3] - np.array([0, -8, -3])) / np.array([0.5, 0.5, 4.0])).astype(int)
        groups[(k, j, i)].append(p)
    assert len(v.coords_zyx) == len(groups)
    for coords, n, vp in zip(v.coords_zyx, v.num_points, v.points):
        expected = np.array(groups[tuple(coords)])
        assert n == min(len(expected), 5)
        np.testing.assert_array_equal(vp[:n], expected[:n])
        assert not vp[n:].any()  # zero padding


def test_voxel_of_each_point_contains_it(rng):
    v = voxelize(_points(rng), GRID, GRID.max_voxels_infer)
    lo = np.array([0, -8, -3]) + v.coords_zyx[:, ::-1] * np.array([0.5, 0.5, 4.0])
    for pts, n, low in zip(v.points, v.num_points, lo):
        assert ((pts[:n, :3] >= low - 1e-6) & (pts[:n, :3] < low + [0.5, 0.5, 4.0] + 1e-6)).all()


def test_grid_size_and_pillars():
    assert GRID.grid_size_xyz == (32, 32, 1) and GRID.is_pillar_grid


def test_max_voxels_keeps_fullest_or_random_subset(rng):
    pts = _points(rng)
    full = voxelize(pts, GRID, 10_000)
    capped = voxelize(pts, GRID, 50)
    assert len(capped.num_points) == 50
    assert capped.num_points.min() >= np.sort(full.num_points)[-50]
    a = voxelize(pts, GRID, 50, np.random.default_rng(3))
    b = voxelize(pts, GRID, 50, np.random.default_rng(3))
    np.testing.assert_array_equal(a.coords_zyx, b.coords_zyx)


def test_point_on_max_edge_is_outside():
    pts = np.array([[16.0, 0, 0, 0], [15.999999, 0, 0, 0]], dtype=np.float32)
    assert len(voxelize(pts, GRID, 10).num_points) == 1


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="whole number"):
        VoxelGridConfig((0, 0, 0, 1, 1, 1), (0.3, 0.5, 1.0), 5, 10, 10)
    with pytest.raises(ValueError, match="max > min"):
        VoxelGridConfig((0, 0, 0, 0, 1, 1), (0.5, 0.5, 1.0), 5, 10, 10)
    with pytest.raises(ValueError, match=r"\(N, C>=3\)"):
        voxelize(np.zeros((4, 2)), GRID, 10)
