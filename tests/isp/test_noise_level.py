"""Noise level against intensity from flat tiles."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.isp.noise_level import block_noise, noise_level_curve


def test_block_noise_recovers_the_noise_of_flat_ramps(rng):
    """Flat patches at four levels (bin centres) with noise of 1, 2, 4 and 8 codes: each tile's
    estimate is within 25 % of its level's sigma in 90 % of tiles (64 samples per tile)."""
    sigmas = (1.0, 2.0, 4.0, 8.0)
    img = np.concatenate(
        [np.full((64, 64), lvl) + rng.normal(0, s, (64, 64)) for lvl, s in
         zip((45.0, 105.0, 165.0, 225.0), sigmas, strict=True)], axis=1
    ) / 255.0  # fmt: skip
    level, sigma = block_noise(np.repeat(img[None], 3, 0))
    assert level.shape == sigma.shape == (8 * 32,)
    # (tile rows, patches, tile columns) -> (patches, tiles); the outer tile columns see the
    # step to the next patch through the 3 x 3 mean and are left out
    per_level = sigma.reshape(8, 4, 8)[:, :, 1:7].transpose(1, 0, 2).reshape(4, -1)
    for s, est in zip(sigmas, per_level, strict=True):
        assert np.mean(np.abs(est / s - 1) < 0.25) > 0.9
    curve = noise_level_curve(level, sigma, bins=8, min_blocks=20)
    assert [c["level"] for c in curve] == [45, 105, 165, 225]  # bin centres (width 30)
    assert all(56 <= c["blocks"] <= 72 for c in curve)  # a patch's 64 tiles, give or take edges
    assert all(0.8 * s < c["sigma"] < s for c, s in zip(curve, sigmas, strict=True))  # 10th pct


def test_errors():
    with pytest.raises(ValueError, match=r"srgb must be \(3, H, W\)"):
        block_noise(np.zeros((8, 8)))
    with pytest.raises(ValueError, match=r"percentile must be in \(0, 100\)"):
        noise_level_curve(np.zeros(3), np.zeros(3), percentile=0)
