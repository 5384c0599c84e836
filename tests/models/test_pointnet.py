"""PointNet and PointNet++ blocks: permutation invariance, identity-initialised T-Net,
sampling and grouping against brute force, gradients."""

from __future__ import annotations

import pytest
import torch

from perception3d.models.pointnet import (
    PointNet,
    SetAbstraction,
    TNet,
    ball_query,
    farthest_point_sample,
    group_points,
    orthogonality_loss,
)


@pytest.fixture
def cloud():
    gen = torch.Generator().manual_seed(0)
    return torch.rand(2, 128, 4, generator=gen) * 10


@pytest.mark.parametrize("tnets", [(False, False), (True, True)])
def test_pointnet_is_permutation_invariant(cloud, tnets):
    torch.manual_seed(0)
    net = PointNet(4, (16, 32, 64), *tnets).eval()
    perm = torch.randperm(cloud.shape[1])
    g1, per_point, transforms = net(cloud)
    g2, per_point2, _ = net(cloud[:, perm])
    torch.testing.assert_close(g1, g2)
    torch.testing.assert_close(per_point[:, perm], per_point2)
    assert g1.shape == (2, 64) and per_point.shape == (2, 128, 64)
    assert set(transforms) == ({"input", "feature"} if tnets[0] else set())


def test_tnet_starts_at_identity(cloud):
    tnet = TNet(3).eval()
    matrix = tnet(cloud[..., :3].transpose(1, 2))
    torch.testing.assert_close(matrix, torch.eye(3).expand(2, 3, 3))
    assert orthogonality_loss(matrix).item() == 0.0


def test_fps_picks_the_farthest_points():
    pts = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [10, 0, 0], [5, 5, 0], [0.5, 0.5, 0]]])
    # from 0: farthest is 10 (idx 2); then the point maximising min distance: (5, 5) (idx 3)
    assert farthest_point_sample(pts, 3).tolist() == [[0, 2, 3]]
    assert sorted(farthest_point_sample(pts, 5)[0].tolist()) == [0, 1, 2, 3, 4]


def test_ball_query_matches_brute_force(cloud):
    centers = cloud[:, :16, :3]
    idx = ball_query(cloud[..., :3], centers, 2.0, 8)
    for b in range(2):
        for s in range(16):
            d = (cloud[b, :, :3] - centers[b, s]).norm(dim=1)
            inside = torch.nonzero(d <= 2.0).squeeze(1)[:8].tolist()
            got = idx[b, s].tolist()
            assert got[: len(inside)] == inside
            assert all(g == inside[0] for g in got[len(inside) :])  # padding repeats the first


def test_group_points_gathers():
    feats = torch.arange(12.0).view(1, 4, 3)
    idx = torch.tensor([[[3, 0], [1, 1]]])
    assert group_points(feats, idx)[0, 0, 0].tolist() == [9.0, 10.0, 11.0]


def test_set_abstraction_shapes_and_gradients(cloud):
    sa = SetAbstraction(
        num_centers=32, radius_m=3.0, max_samples=16, in_channels=1, channels=(8, 16)
    )
    xyz = cloud[..., :3].clone().requires_grad_(True)
    centers, feats = sa(xyz, cloud[..., 3:])
    assert centers.shape == (2, 32, 3) and feats.shape == (2, 32, 16)
    feats.sum().backward()
    assert xyz.grad is not None and torch.isfinite(xyz.grad).all()


def test_errors():
    with pytest.raises(ValueError, match=r"\(B, N, C>=3\)"):
        farthest_point_sample(torch.zeros(10, 3), 2)
    with pytest.raises(ValueError, match="num_samples"):
        farthest_point_sample(torch.zeros(1, 4, 3), 5)
