"""Pillar feature net and BEV scatter: invariance to point order and padding, features land
at their pillar's cell."""

from __future__ import annotations

import numpy as np
import torch

from perception3d.lidar.voxelize import VoxelGridConfig, voxelize
from perception3d.models.pillars import PillarEncoder, PillarFeatureNet, scatter_to_bev

GRID = VoxelGridConfig((0, -4, -3, 8, 4, 1), (0.5, 0.5, 4.0), 16, 1000, 1000)


def _batch(rng, max_points=16):
    pts = np.concatenate(
        [rng.uniform([0, -4, -2], [8, 4, 0], (600, 3)), rng.uniform(0, 1, (600, 1))], 1
    )
    grid = VoxelGridConfig(GRID.point_range_m, GRID.voxel_size_m, max_points, 1000, 1000)
    v = voxelize(pts.astype(np.float32), grid, 1000)
    coords = np.concatenate([np.zeros((len(v.coords_zyx), 1), np.int32), v.coords_zyx], 1)
    return torch.from_numpy(v.points), torch.from_numpy(v.num_points), torch.from_numpy(coords)


def test_pillar_features_ignore_point_order(rng):
    torch.manual_seed(0)
    net = PillarFeatureNet(GRID, 4, (16,)).eval()
    points, num, coords = _batch(rng)
    out = net(points, num, coords)
    # shuffle the valid points inside each pillar
    shuffled = points.clone()
    for i, n in enumerate(num.tolist()):
        shuffled[i, :n] = points[i, torch.randperm(n)]
    torch.testing.assert_close(net(shuffled, num, coords), out)


def test_scatter_places_features_at_their_cell(rng):
    torch.manual_seed(0)
    points, num, coords = _batch(rng)
    enc = PillarEncoder(PillarFeatureNet(GRID, 4, (8,)), GRID).eval()
    bev = enc(points, num, coords, 1)
    assert bev.shape == (1, 8, 16, 16)
    occupied = torch.zeros(16, 16, dtype=torch.bool)
    occupied[coords[:, 2].long(), coords[:, 3].long()] = True
    assert (bev[0].abs().sum(0) > 0)[~occupied].sum() == 0
    feats = enc.feature_net(points, num, coords)
    torch.testing.assert_close(bev[0, :, coords[5, 2], coords[5, 3]], feats[5])


def test_scatter_batches_separately():
    f = torch.ones(2, 3)
    c = torch.tensor([[0, 0, 0, 0], [1, 0, 0, 0]])
    assert scatter_to_bev(f, c, 2, (1, 2)).sum(dim=(1, 2, 3)).tolist() == [3.0, 3.0]


def test_read_intensity_false_makes_features_blind_to_intensity(rng):
    """A geometry-only pillar net gives the same features whatever the intensities; the
    default one does not (so the check can fail)."""
    points, num, coords = _batch(rng)
    other = points.clone()
    other[..., 3] = torch.rand(other.shape[:2]) * (other[..., 3] != 0)
    for read, same in ((False, True), (True, False)):
        torch.manual_seed(0)
        net = PillarFeatureNet(GRID, 4, (16,), read_intensity=read).eval()
        a, b = net(points, num, coords), net(other, num, coords)
        assert torch.allclose(a, b) is same
