"""Slanted-edge e-SFR against the closed form of a Gaussian-blurred edge."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ndtr

from perception3d.isp.iq.sfr import mtf50, slanted_edge_sfr


def gaussian_edge(sigma: float, angle_deg: float, size: int = 96, noise: float = 0.0):
    """An ideal edge (0.2 -> 0.8) blurred by a Gaussian of ``sigma`` px, point-sampled."""
    y, x = np.mgrid[0:size, 0:size] + 0.5
    t = math.radians(angle_deg)
    d = (x - (size / 2 + (y - size / 2) * math.tan(t))) * math.cos(t)
    img = 0.2 + 0.6 * ndtr(d / sigma)
    return img + np.random.default_rng(0).normal(0.0, noise, img.shape)


@pytest.mark.parametrize("sigma", [0.8, 1.0, 1.5, 2.0])
@pytest.mark.parametrize("angle", [3.0, 5.0, 8.0])
def test_mtf50_of_gaussian_edge(sigma, angle):
    expected = math.sqrt(math.log(2.0) / 2.0) / (math.pi * sigma)  # exp(-2 pi^2 s^2 f^2) = 1/2
    sfr = slanted_edge_sfr(gaussian_edge(sigma, angle))
    assert sfr.mtf50_cy_px == pytest.approx(expected, rel=0.02)
    assert sfr.edge_angle_deg == pytest.approx(angle, abs=0.05)


def test_whole_curve_and_noise():
    sigma = 1.2
    sfr = slanted_edge_sfr(gaussian_edge(sigma, 5.0, noise=0.005))
    keep = sfr.freq_cy_px <= 0.3
    ideal = np.exp(-2 * math.pi**2 * sigma**2 * sfr.freq_cy_px[keep] ** 2)
    np.testing.assert_allclose(sfr.mtf[keep], ideal, atol=0.03)
    assert sfr.mtf[0] == pytest.approx(1.0)


def test_polarity_and_errors():
    dark_right = slanted_edge_sfr(1.0 - gaussian_edge(1.0, 5.0))
    assert dark_right.mtf50_cy_px == pytest.approx(
        slanted_edge_sfr(gaussian_edge(1.0, 5.0)).mtf50_cy_px, rel=1e-6
    )
    with pytest.raises(ValueError, match="flat"):
        slanted_edge_sfr(np.ones((32, 32)))
    with pytest.raises(ValueError, match="16 x 16"):
        slanted_edge_sfr(np.ones((8, 32)))


def test_mtf50_interpolates():
    assert mtf50(np.array([0.0, 0.1, 0.2]), np.array([1.0, 0.6, 0.4])) == pytest.approx(0.15)
    assert math.isnan(mtf50(np.array([0.0, 0.1]), np.array([1.0, 0.9])))
