"""SNR per grey level and dynamic range on step charts with known noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from perception3d.isp.iq.charts import step_cells, step_levels
from perception3d.isp.iq.noise import dynamic_range_stops, patch_stats, snr_per_level


def noisy_step_image(levels, sigma, offset=0.0, clip=None, size=200, seed=0, gain=1.0):
    cells = step_cells(size, size, len(levels))
    img = np.zeros((size, size))
    for (cx, cy, c), level in zip(cells, levels):
        img[int(cy - c / 2) : int(cy + c / 2), int(cx - c / 2) : int(cx + c / 2)] = gain * level
    img = img + offset + np.random.default_rng(seed).normal(0.0, sigma, img.shape)
    if clip is not None:
        img = np.minimum(img, clip)
    return img, cells


def test_snr_of_known_noise():
    levels = step_levels(24, 0.5)
    img, cells = noisy_step_image(levels, sigma=0.01, offset=0.05)
    means, stds = patch_stats(img, cells)
    np.testing.assert_allclose(stds, 0.01, rtol=0.2)  # 400 samples per patch
    snr = snr_per_level(means, stds)
    # the offset is not signal: SNR = level / sigma
    np.testing.assert_allclose(snr[:8], levels[:8] / 0.01, rtol=0.2)
    assert snr[-1] == 0.0


def test_dynamic_range_known_answer():
    levels = step_levels(24, 0.5)  # 1, 2^-0.5, ..., 2^-11.5, 0
    sigma = 0.9 * 2.0**-7.25  # SNR >= 1 down to level 2^-7 (index 14): 7 stops
    img, cells = noisy_step_image(levels, sigma=sigma / 20, seed=1, gain=0.9)
    means, stds = patch_stats(img, cells)
    stds = np.full_like(stds, sigma)  # exact noise: the DR arithmetic alone
    dr = dynamic_range_stops(levels, means, snr_per_level(means, stds))
    assert dr["stops"] == pytest.approx(7.0)
    assert dr["clipped_patches"] == 0


def test_clipped_top_is_excluded():
    levels = step_levels(12, 1.0)
    img, cells = noisy_step_image(levels, sigma=1e-4, clip=0.25)  # 1 and 0.5 read as 0.25
    means, stds = patch_stats(img, cells)
    dr = dynamic_range_stops(levels, means, snr_per_level(means, stds))
    assert dr["clipped_patches"] == 2
    assert dr["top_level"] == 0.25
    assert dr["stops"] == pytest.approx(math.log2(0.25 / levels[11]))  # SNR 4.9 there


def test_errors():
    with pytest.raises(ValueError, match="black patch"):
        dynamic_range_stops(np.array([1.0, 0.5]), np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        patch_stats(np.ones((3, 8, 8)), [(4, 4, 4)])
