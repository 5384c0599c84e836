"""Training losses of the learned ISP stages (pure functions of prediction and target).

A perceptual (VGG/LPIPS) term is not offered: its weights would have to be downloaded, which
the project forbids; MS-SSIM stands in for the structural part."""

from __future__ import annotations

import torch

from perception3d.isp.color import linear_to_srgb, mu_law
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
