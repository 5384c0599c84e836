"""The SR stage's low-resolution captures (perception3d/isp/sr_data.py): PSF, pixel
integration, the whole degradation and its determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perception3d.isp.sr_data import (
    Degradation,
    crop_to_multiple,
    degrade,
    gaussian_kernel1d,
    optics_blur,
    pixel_integrate,
)


def test_box_integration_sums_the_fine_pixels():
    x = torch.rand(2, 3, 12, 20, generator=torch.Generator().manual_seed(0))
    for factor in (2, 4):
        lr = pixel_integrate(x, factor)
        assert lr.shape == (2, 3, 12 // factor, 20 // factor)
        # a large pixel's signal is the sum of the small ones it covers
        assert torch.allclose(
            lr * factor**2, x.unfold(2, factor, factor).unfold(3, factor, factor).sum((-1, -2))
        )
        assert torch.allclose(lr.sum() * factor**2, x.sum(), rtol=1e-5)
    with pytest.raises(ValueError, match="multiple of the factor 4"):
        pixel_integrate(torch.rand(1, 3, 10, 12), 4)


def test_psf_is_normalized_and_keeps_flat_regions():
    for sigma in (0.3, 1.0, 2.4):
        assert float(gaussian_kernel1d(sigma).sum()) == pytest.approx(1.0, abs=1e-6)
    flat = torch.full((1, 3, 16, 16), 0.7)
    assert torch.allclose(optics_blur(flat, 1.4), flat, atol=1e-6)
    dot = torch.zeros(1, 1, 21, 21)
    dot[..., 10, 10] = 1.0
    blurred = optics_blur(dot, 1.0)
    assert float(blurred.sum()) == pytest.approx(1.0, abs=1e-5)
    var = float((blurred[0, 0].sum(0) * (torch.arange(21.0) - 10) ** 2).sum())
    assert var == pytest.approx(1.0, rel=0.02)  # the PSF's sigma, in pixels


@pytest.mark.parametrize("scale", [2, 4])
def test_pair_sizes(scale):
    rad = crop_to_multiple(torch.rand(1, 3, 50, 90) + 0.1, 2 * scale)
    pair = degrade(rad, scale, np.random.default_rng(0))
    h, w = rad.shape[-2:]
    assert pair.hr_srgb.shape == (1, 3, h, w)
    assert pair.lr_srgb.shape == (1, 3, h // scale, w // scale)
    for t in (pair.lr_srgb, pair.hr_srgb):
        assert float(t.min()) >= 0.0 and float(t.max()) <= 1.0
    with pytest.raises(ValueError, match="multiple of 2 x scale"):
        degrade(torch.rand(1, 3, 10, 12), 4, np.random.default_rng(0))


def test_a_constant_scene_stays_constant_up_to_noise():
    rad = torch.full((1, 3, 64, 96), 2.0)
    pair = degrade(rad, 2, np.random.default_rng(3), Degradation(psf_sigma_lr_px=(0.5, 0.5)))
    ref = pair.hr_srgb
    assert float(ref.std()) < 1e-5  # the reference: flat
    lr = pair.lr_srgb[..., 2:-2, 2:-2]  # (demosaic borders aside)
    # the capture: the reference's grey, plus daylight noise (a few 8-bit codes)
    assert (lr.mean((-1, -2)) - ref.mean((-1, -2))).abs().max() < 0.02
    assert 0.0 < float(lr.std()) < 0.03


def test_degradation_is_deterministic_and_seeded():
    rad = torch.rand(2, 3, 32, 48, generator=torch.Generator().manual_seed(1)) * 3
    a = degrade(rad, 2, np.random.default_rng(7))
    b = degrade(rad, 2, np.random.default_rng(7))
    c = degrade(rad, 2, np.random.default_rng(8))
    assert torch.equal(a.lr_srgb, b.lr_srgb) and torch.equal(a.hr_srgb, b.hr_srgb)
    assert not torch.equal(a.lr_srgb, c.lr_srgb)


def test_each_image_is_exposed_on_its_own():
    """A dark and a bright scene in one batch both come out at a mean raw of 0.1-0.3."""
    rad = torch.cat([torch.rand(1, 3, 32, 32) * 0.01, torch.rand(1, 3, 32, 32) * 100])
    pair = degrade(rad, 2, np.random.default_rng(0))
    means = pair.hr_srgb.mean((1, 2, 3))
    assert torch.all(means > 0.2) and torch.all(means < 0.8)
