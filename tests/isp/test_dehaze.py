"""Dark-channel-prior dehazing recovers a hazed scene with known transmission and airlight."""

from __future__ import annotations

import pytest
import torch

from perception3d.isp.dehaze import dark_channel, dehaze_dcp, estimate_airlight
from perception3d.isp.metrics import psnr
from perception3d.isp.sensor import apply_haze


def _scene():
    """Colourful blocks (each with one dark channel, so the prior holds) and a sky strip."""
    g = torch.Generator().manual_seed(0)
    blocks = torch.rand(1, 3, 6, 8, generator=g) * 0.8
    blocks[:, 0] = 0.02  # red channel dark: dark channel ~ 0
    j = torch.nn.functional.interpolate(blocks, size=(96, 128), mode="nearest")
    depth = torch.linspace(10, 80, 96).view(1, 1, 96, 1).expand(1, 1, 96, 128).clone()
    depth[..., :8, :] = float("inf")
    return j, depth


def test_dcp_recovers_transmission_and_airlight():
    j, depth = _scene()
    a_true = torch.tensor([0.9, 0.92, 0.95])
    hazy = apply_haze(j, depth, 100.0, a_true)
    out, _, a = dehaze_dcp(hazy, patch=7, guide_radius=8)
    assert torch.allclose(a[0], a_true, atol=0.02)
    rows = slice(16, None)
    assert (
        float(psnr(out[..., rows, :].clamp(0, 1), j[..., rows, :]))
        > float(psnr(hazy[..., rows, :], j[..., rows, :])) + 6.0
    )


def test_dark_channel_and_airlight_shapes_and_errors():
    x = torch.rand(2, 3, 20, 30)
    d = dark_channel(x, 5)
    assert d.shape == (2, 1, 20, 30) and torch.all(d <= x.min(1, keepdim=True).values)
    assert estimate_airlight(x, d).shape == (2, 3)
    with pytest.raises(ValueError, match="positive odd"):
        dark_channel(x, 4)
