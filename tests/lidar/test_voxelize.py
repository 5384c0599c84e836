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


def test_range_filters():
    from dataclasses import replace

    from perception3d.lidar.voxelize import points_in_range

    pts = np.array([[16.0, 0, 0], [0, -8, 0], [1, 1, 1.0], [1, 1, -3], [1, 8, 5]], np.float32)
    assert points_in_range(pts, GRID).tolist() == [False, True, False, True, False]
    inclusive = replace(GRID, range_filter="inclusive_xy")  # x/y only, both ends in: OpenPCDet
    assert points_in_range(pts, inclusive).tolist() == [True, True, True, True, True]
    strict = replace(GRID, range_filter="strict")  # every axis, both ends out: mmdetection3d
    assert points_in_range(pts, strict).tolist() == [False, False, False, False, False]
    with pytest.raises(ValueError, match="range_filter"):
        replace(GRID, range_filter="open")


def test_first_come_rule_numbers_voxels_by_first_point_and_drops_out_of_grid(rng):
    from dataclasses import replace

    grid = replace(GRID, range_filter="inclusive_xy", rule="first_come", max_points_per_voxel=2)
    pts = np.array(
        [[3.1, 0.1, 0, 1], [0.1, 0.1, 0, 2], [3.2, 0.2, 0, 3], [3.3, 0.3, 0, 4], [16.0, 0, 0, 5]],
        np.float32,
    )  # the last lies on x_max: in the inclusive range, outside the grid
    v = voxelize(pts, grid, 10)
    assert v.coords_zyx[:, 2].tolist() == [6, 0]  # by first point, not by index
    assert v.num_points.tolist() == [2, 1]
    assert v.points[0, :, 3].tolist() == [1.0, 3.0]  # the first two points of the voxel
    assert (
        len(voxelize(pts, grid, 1).num_points) == 1 and voxelize(pts, grid, 1).coords_zyx[0, 2] == 6
    )
    # same voxels as the sorted rule, as a set, on a random cloud
    cloud = _points(rng)
    a, b = voxelize(cloud, GRID, 10_000), voxelize(cloud, replace(GRID, rule="first_come"), 10_000)
    key = lambda v: sorted(map(tuple, v.coords_zyx.tolist()))  # noqa: E731
    assert key(a) == key(b)


def test_no_point_in_range_gives_no_voxel():
    v = voxelize(np.array([[100.0, 0, 0, 1]], np.float32), GRID, 10)
    assert v.points.shape == (0, GRID.max_points_per_voxel, 4) and len(v.coords_zyx) == 0
