"""Image metrics against hand values and scikit-image's SSIM; losses are differentiable."""

from __future__ import annotations

import math

import pytest
import torch

from perception3d.isp import losses, metrics


def test_psnr_hand_value_and_identity():
    x = torch.zeros(2, 3, 8, 8)
    assert torch.allclose(metrics.psnr(x, x + 0.01), torch.full((2,), 40.0))
    assert float(metrics.psnr(x, x)[0]) > 150


def test_ssim_matches_scikit_image():
    skm = pytest.importorskip("skimage.metrics")
    g = torch.Generator().manual_seed(0)
    a = torch.rand(1, 3, 48, 64, generator=g, dtype=torch.float64)
    b = (a + 0.1 * torch.randn(a.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    ref = skm.structural_similarity(
        a[0].numpy(),
        b[0].numpy(),
        channel_axis=0,
        data_range=1.0,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )
    # scikit-image averages over the image minus a 5-pixel border; we use 'valid' windows
    assert float(metrics.ssim(a, b)[0]) == pytest.approx(ref, abs=5e-3)


def test_ms_ssim_is_one_for_identical_images_and_falls_with_noise():
    g = torch.Generator().manual_seed(1)
    a = torch.rand(1, 3, 200, 200, generator=g)
    assert float(metrics.ms_ssim(a, a)[0]) == pytest.approx(1.0, abs=1e-5)
    s1 = float(metrics.ms_ssim(a, (a + 0.05 * torch.randn(a.shape, generator=g)).clamp(0, 1))[0])
    s2 = float(metrics.ms_ssim(a, (a + 0.2 * torch.randn(a.shape, generator=g)).clamp(0, 1))[0])
    assert 1.0 > s1 > s2
    with pytest.raises(ValueError, match="scales need images"):
        metrics.ms_ssim(a[..., :40, :40], a[..., :40, :40], scales=5)


def test_hdr_metrics():
    ref = torch.rand(1, 3, 32, 32) * 10
    assert float(metrics.mu_psnr(ref, ref)[0]) > 100
    assert float(metrics.mu_psnr(ref.clamp(max=1), ref)[0]) < float(
        metrics.mu_psnr(ref.clamp(max=5), ref)[0]
    )
    # a uniform relative error of 10 % in radiance: log10(1.1) in a log10 range
    lr = torch.log10(ref + 1e-4)
    peak = float(lr.max() - lr.min())
    expect = 20 * math.log10(peak / math.log10(1.1))
    assert float(metrics.log_psnr(ref * 1.1 - 1e-5, ref)[0]) == pytest.approx(expect, abs=0.1)


def test_losses_are_differentiable_and_zero_at_the_target():
    t = torch.rand(2, 3, 64, 64) + 0.01
    p = t.clone().requires_grad_()
    for fn in (losses.l1, losses.srgb_loss, losses.log_l1, losses.mu_law_l1, losses.ms_ssim_l1):
        assert float(fn(p, t).detach()) == pytest.approx(0.0, abs=1e-5)
        fn(p + 0.1, t).backward()
        assert p.grad is not None and torch.isfinite(p.grad).all()
        p.grad = None
