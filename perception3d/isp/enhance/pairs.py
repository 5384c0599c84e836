"""Under-exposed / well-exposed sRGB pairs rendered from linear scene radiance.

The reference exposure puts the 97th percentile of luminance at 0.85; the dark image is the
same scene 2-5 stops under (uniform in stops), with Poisson-Gaussian noise in the linear domain
(shot variance 1e-4-1e-3 per unit signal, read variance 1e-6-1e-4: the range of Brooks et al.
2019's noise model), both encoded with the sRGB curve and rounded to 8 bits, as a camera that
writes JPEG/PNG would store them.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from perception3d.isp.color import linear_to_srgb, luminance


def quantize8(srgb: torch.Tensor) -> torch.Tensor:
    """Round to 8-bit levels."""
    return torch.round(srgb.clamp(0, 1) * 255.0) / 255.0


def make_exposure_pair(
    radiance: torch.Tensor, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(dark sRGB, reference sRGB, stops under) of ``radiance`` (B, 3, H, W) linear, >= 0.

    Example:
        >>> dark, ref, stops = make_exposure_pair(torch.rand(1, 3, 8, 8), np.random.default_rng(0))
        >>> bool(dark.mean() < ref.mean()) and 2.0 <= stops <= 5.0
        True
    """
    if radiance.dim() != 4 or radiance.shape[1] != 3:
        raise ValueError(f"radiance must be (B, 3, H, W), got {tuple(radiance.shape)}")
    lum = luminance(radiance).flatten()
    k_ref = 0.85 / max(float(torch.quantile(lum[:: max(1, lum.numel() // 100_000)], 0.97)), 1e-8)
    stops = float(rng.uniform(2.0, 5.0))
    dark = radiance * (k_ref * 2.0**-stops)
    shot = math.exp(rng.uniform(math.log(1e-4), math.log(1e-3)))
    read = math.exp(rng.uniform(math.log(1e-6), math.log(1e-4)))
    gen = torch.Generator().manual_seed(int(rng.integers(0, 2**63)))
    z = torch.randn(dark.shape, generator=gen, dtype=dark.dtype)
    dark = dark + torch.sqrt(shot * dark.clamp(0, 1) + read) * z
    return quantize8(linear_to_srgb(dark)), quantize8(linear_to_srgb(radiance * k_ref)), stops
