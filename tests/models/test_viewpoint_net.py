"""Viewpoint network: bins, soft labels, decoding, class-specific heads."""

from __future__ import annotations

import math

import pytest
import torch

from perception3d.models.viewpoint_net import (
    ViewpointNet,
    bin_centers,
    decode_angles,
    soft_targets,
    viewpoint_loss,
)


def test_bins_tile_the_circle():
    centers = bin_centers(36)
    assert centers[0] == pytest.approx(-math.pi + math.pi / 36)
    assert torch.diff(centers).allclose(torch.full((35,), 2 * math.pi / 36, dtype=torch.float64))


def test_decoding_soft_targets_recovers_the_angle():
    torch.manual_seed(0)
    angles = (torch.rand(200, 3, dtype=torch.float64) * 2 - 1) * math.pi
    logits = soft_targets(angles, 36, sigma_bins=1.0).log()
    decoded, conf = decode_angles(logits)
    err = torch.remainder(decoded - angles + math.pi, 2 * math.pi) - math.pi
    # 10-degree bins; the 3-bin refinement leaves a bias of a few tenths of a bin at most
    assert err.abs().max() < math.radians(2.5)
    assert err.abs().mean() < math.radians(1.5)  # bin centres alone: 2.5 deg on average
    assert ((conf > 0) & (conf <= 1)).all()


def test_soft_targets_wrap_around_pi():
    t = soft_targets(torch.tensor([[math.pi - 0.01, 0.0, 0.0]], dtype=torch.float64), 36, 1.0)
    assert float(t[0, 0, 0]) == pytest.approx(float(t[0, 0, -1]), rel=0.1)  # both sides of +-pi
    assert t.sum(-1).allclose(torch.ones(1, 3, dtype=torch.float64))


def test_loss_is_lowest_at_the_target():
    angles = torch.tensor([[0.3, 0.1, -0.2]], dtype=torch.float64)
    good = soft_targets(angles, 36, 1.0).log()
    bad = soft_targets(angles + 1.0, 36, 1.0).log()
    assert viewpoint_loss(good, angles) < viewpoint_loss(bad, angles)


def test_class_specific_heads():
    torch.manual_seed(0)
    net = ViewpointNet(num_classes=3).eval()
    x = torch.rand(2, 3, 64, 64)
    a = net(x, torch.tensor([0, 0]))
    b = net(x, torch.tensor([2, 0]))
    assert a.shape == (2, 3, 36)
    torch.testing.assert_close(a[1], b[1])
    assert not torch.allclose(a[0], b[0])
    with pytest.raises(ValueError, match="crops_srgb must be"):
        net(torch.rand(2, 64, 64), torch.tensor([0, 0]))
