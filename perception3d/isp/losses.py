"""Training losses of the learned ISP stages (pure functions of prediction and target).

A perceptual (VGG/LPIPS) term is not offered: its weights would have to be downloaded, which
the project forbids; MS-SSIM stands in for the structural part."""

from __future__ import annotations

import torch

from perception3d.isp.color import linear_to_srgb, mu_law, srgb_to_linear
from perception3d.isp.metrics import hdr_normalizer, ms_ssim


def l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error."""
    return (pred - target).abs().mean()


def ms_ssim_l1(pred: torch.Tensor, target: torch.Tensor, alpha: float = 0.84) -> torch.Tensor:
    """``alpha (1 - MS-SSIM) + (1 - alpha) L1`` (Zhao et al., "Loss functions for image
    restoration with neural networks", 2017, alpha = 0.84)."""
    return alpha * (1.0 - ms_ssim(pred, target).mean()) + (1.0 - alpha) * l1(pred, target)


def srgb_loss(pred_linear: torch.Tensor, target_linear: torch.Tensor, alpha: float = 0.2):
    """:func:`ms_ssim_l1` after the sRGB encoding (errors weighted as they are seen).

    ``alpha`` = 0.2, not Zhao et al.'s 0.84: with the MS-SSIM term dominant our raw model kept
    a colour cast (MS-SSIM's luminance term barely sees offsets) and reached 18 dB where
    L1-dominant training reaches 28 dB on the same crops.
    """
    return ms_ssim_l1(linear_to_srgb(pred_linear), linear_to_srgb(target_linear), alpha)


def log_l1(pred_hdr: torch.Tensor, target_hdr: torch.Tensor, eps: float = 1e-3):
    """L1 of log radiance (HDR reconstruction losses are taken in the log domain)."""
    return l1(torch.log(pred_hdr.clamp_min(0) + eps), torch.log(target_hdr.clamp_min(0) + eps))


def mu_law_l1(pred_hdr: torch.Tensor, target_hdr: torch.Tensor, mu: float = 5000.0):
    """L1 of mu-law tone-mapped images normalized by the target's maximum."""
    n = hdr_normalizer(target_hdr)
    return l1(mu_law((pred_hdr / n).clamp(0, 1.5), mu), mu_law(target_hdr / n, mu))


def masked_log_l1(pred_hdr, target_hdr, mask: torch.Tensor, eps: float = 1e-3):
    """:func:`log_l1` averaged over the pixels weighted by ``mask`` (B, 1, H, W) only, so that a
    few per cent of clipped pixels are not drowned by the rest."""
    err = (torch.log(pred_hdr.clamp_min(0) + eps) - torch.log(target_hdr.clamp_min(0) + eps)).abs()
    w = mask.expand_as(err)
    return (err * w).sum() / w.sum().clamp_min(1.0)


def hdr_loss(pred_hdr, target_hdr, saturation: torch.Tensor, mu_law_weight: float = 4.0):
    """The HDR stage's training loss: :func:`log_l1` + ``mu_law_weight`` x :func:`mu_law_l1`
    + :func:`masked_log_l1` over the saturated pixels (``saturation`` (B, 1, H, W) in [0, 1])."""
    mu = mu_law_weight * mu_law_l1(pred_hdr, target_hdr)
    return log_l1(pred_hdr, target_hdr) + mu + masked_log_l1(pred_hdr, target_hdr, saturation)


def crf_pixel_loss(
    w_srgb: torch.Tensor,
    gamma: torch.Tensor,
    ldr_px: torch.Tensor,
    ref_px: torch.Tensor,
    peak: torch.Tensor,
    mu: float = 5000.0,
) -> torch.Tensor:
    """Cost of an estimated camera response where the HDR stage is measured: L1 of the
    mu-law images (normalized by each capture's reference peak, as :func:`mu_psnr` does) of
    the linearization ``w srgb^-1(v) + (1 - w) v^gamma`` against the reference, on sampled
    unsaturated pixels. A wrong gamma costs most where it matters to the metric (dark frames
    whose peak is near the clip level), and an unsure estimator learns to hedge ``w``.

    Args:
        w_srgb, gamma: (B, 1) the estimate.
        ldr_px: (B, K) 8-bit sRGB-like code values in [0, 1] of K pixels (channels flattened).
        ref_px: (B, K) their linear reference values (1.0 = the clip level).
        peak: (B,) or (B, 1) each capture's reference maximum.
    """
    lin = w_srgb * srgb_to_linear(ldr_px) + (1.0 - w_srgb) * ldr_px.clamp(1e-6, 1.0).pow(gamma)
    n = peak.view(-1, 1).clamp_min(1e-8)
    return l1(mu_law((lin / n).clamp(0, 1), mu), mu_law((ref_px / n).clamp(0, 1), mu))
