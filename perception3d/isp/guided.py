"""Guided upsampling of a low-resolution prediction (the fast guided filter of He and Sun 2015,
used as a trainable layer in Wu, Zheng, Zhang, Huang, "Fast end-to-end trainable guided
filter", CVPR 2018).

A network that works at low resolution predicts ``target_lr`` from ``guide_lr`` (the input,
downsampled). Per channel and window, the local linear model ``target ~ a guide + b`` is fitted
at low resolution (ridge ``eps`` on ``a``), the window-averaged ``(a, b)`` are upsampled
bilinearly and applied to the full-resolution guide. Edges of the output thus follow the edges
of the full-resolution input instead of the blocks of the low-resolution grid.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over the ``(2 radius + 1)^2`` window around each pixel of ``x`` (B, C, H, W),
    windows cut at the border (only pixels inside are averaged).

    Example:
        >>> box_mean(torch.arange(3.0).view(1, 1, 1, 3), 1).flatten().tolist()
        [0.5, 1.0, 1.5]
    """
    k = 2 * radius + 1
    return F.avg_pool2d(x, k, stride=1, padding=radius, count_include_pad=False)


def guided_coefficients(
    guide_lr: torch.Tensor,
    target_lr: torch.Tensor,
    radius: int,
    eps: torch.Tensor | float,
    prior_a: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Window-averaged ``(a, b)`` (B, C, h, w) of ``target ~ a guide + b`` per channel;
    ``guide_lr`` (B, C or 1, h, w), ``target_lr`` (B, C, h, w).

    The ridge term ``eps (a - prior_a)^2`` pulls the slope towards ``prior_a`` (window mean
    taken here; default 0, the guided filter's) where the guide is flat: with a prior gain, the
    detail of low-contrast regions is amplified instead of averaged away."""
    mean_g = box_mean(guide_lr, radius)
    mean_t = box_mean(target_lr, radius)
    cov = box_mean(guide_lr * target_lr, radius) - mean_g * mean_t
    var = box_mean(guide_lr * guide_lr, radius) - mean_g * mean_g
    if prior_a is not None:
        cov = cov + eps * box_mean(prior_a, radius)
    a = cov / (var.clamp_min(0.0) + eps)
    b = mean_t - a * mean_g
    return box_mean(a, radius), box_mean(b, radius)


def guided_upsample(
    guide_lr: torch.Tensor,
    target_lr: torch.Tensor,
    guide_hr: torch.Tensor,
    radius: int = 1,
    eps: torch.Tensor | float = 1e-4,
    prior_a: torch.Tensor | None = None,
) -> torch.Tensor:
    """Full-resolution version (B, C, H, W) of ``target_lr`` (B, C, h, w), edge-aligned with
    ``guide_hr`` (B, C or 1, H, W), whose downsampled version is ``guide_lr``; ``prior_a``
    (B, C, h, w): see :func:`guided_coefficients`.

    Example:
        >>> g = torch.rand(1, 3, 16, 16)
        >>> lr = F.avg_pool2d(g, 4)
        >>> out = guided_upsample(lr, 2 * lr + 0.1, g, eps=1e-8)  # an affine map is kept
        >>> bool(torch.allclose(out, 2 * g + 0.1, atol=1e-3))
        True
    """
    a, b = guided_coefficients(guide_lr, target_lr, radius, eps, prior_a)
    ab = F.interpolate(torch.cat([a, b], 1), size=guide_hr.shape[-2:], mode="bilinear")
    c = a.shape[1]
    return torch.addcmul(ab[:, c:], ab[:, :c], guide_hr)  # one upsampling, one fused pass
