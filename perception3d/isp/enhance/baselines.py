"""Classical low-light baselines on sRGB: an automatic gamma curve and CLAHE.

Both act on the brightness (the maximum channel, the V of HSV) and scale the three channels by
the same ratio, so hues are kept.
"""

from __future__ import annotations

import math

import torch


def _scale_by_value(srgb: torch.Tensor, new_value: torch.Tensor) -> torch.Tensor:
    value = srgb.amax(dim=1, keepdim=True)
    return (srgb * new_value / value.clamp_min(1e-4)).clamp(0.0, 1.0)


def gamma_baseline(srgb: torch.Tensor, target_mean: float = 0.45) -> torch.Tensor:
    """Per image, ``V' = V^g`` with ``g`` chosen so that the mean brightness becomes
    ``target_mean``; ``srgb`` (B, 3, H, W) in [0, 1].

    Example:
        >>> out = gamma_baseline(torch.full((1, 3, 4, 4), 0.1))
        >>> round(float(out.mean()), 3)
        0.45
    """
    if srgb.dim() != 4 or srgb.shape[1] != 3:
        raise ValueError(f"srgb must be (B, 3, H, W), got {tuple(srgb.shape)}")
    value = srgb.amax(dim=1, keepdim=True).clamp(1e-4, 1.0)
    mean = value.mean(dim=(1, 2, 3), keepdim=True).clamp(1e-4, 0.999)
    g = math.log(target_mean) / torch.log(mean)
    return _scale_by_value(srgb, value**g)


def clahe_baseline(srgb: torch.Tensor, clip_limit: float = 3.0, grid: int = 8) -> torch.Tensor:
    """Contrast-limited adaptive histogram equalization (Zuiderveld 1994; kornia's
    ``equalize_clahe``) of the brightness, after :func:`gamma_baseline` lifts it (CLAHE alone
    cannot brighten a uniformly dark image enough)."""
    from kornia.enhance import equalize_clahe

    lifted = gamma_baseline(srgb)
    value = lifted.amax(dim=1, keepdim=True)
    return _scale_by_value(lifted, equalize_clahe(value, clip_limit, (grid, grid)))
