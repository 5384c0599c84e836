"""Noise level of an 8-bit image against its intensity, from flat blocks (no reference needed).

The noise of a processed image is what is left after removing the local mean; textured blocks
add to it, so per intensity bin only the flattest blocks count (a low percentile of the block
values, as noise-level-function estimators do, e.g. Liu et al., "Automatic estimation and
removal of noise from a single image", PAMI 2008). The estimate is biased low for pure noise
(the 10th percentile of 64-sample standard deviations is about 0.9 sigma) and high where no
block is flat; both biases are the same for two images of the same content, which is how
:mod:`perception3d.experiments.isp_effect_noise` uses it (real frames against the sensor
model's captures of the same frames).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import ndimage

LUMA = (0.2126, 0.7152, 0.0722)  # Rec. 709 weights on the sRGB-encoded channels


def block_noise(srgb: np.ndarray, block: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Per ``block`` x ``block`` tile of ``srgb`` (3, H, W) in [0, 1]: the mean luma and the
    noise standard deviation, both in 8-bit codes (1-D arrays over tiles, row-major).

    The noise is the standard deviation of ``luma - mean_3x3(luma)`` times ``sqrt(9 / 8)``
    (for independent pixels that residual has variance ``8 / 9 sigma^2``).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> img = np.clip(0.5 + rng.normal(0, 4 / 255, (1, 64, 64)), 0, 1).repeat(3, 0)
        >>> level, sigma = block_noise(img)
        >>> round(float(np.median(level))), round(float(np.median(sigma)), 1)
        (127, 3.9)
    """
    if srgb.ndim != 3 or srgb.shape[0] != 3:
        raise ValueError(f"srgb must be (3, H, W), got {srgb.shape}")
    luma = 255.0 * np.tensordot(np.asarray(LUMA), srgb.astype(np.float64), axes=1)
    resid = (luma - ndimage.uniform_filter(luma, 3, mode="reflect")) * np.sqrt(9.0 / 8.0)
    h, w = (luma.shape[0] // block) * block, (luma.shape[1] // block) * block
    # (H, W) -> (H/b, b, W/b, b) -> (tiles, b*b)
    tiles = lambda x: x[:h, :w].reshape(h // block, block, w // block, block).swapaxes(1, 2)  # noqa: E731
    level = tiles(luma).reshape(-1, block * block).mean(1)
    sigma = tiles(resid).reshape(-1, block * block).std(1)
    return level, sigma


def noise_level_curve(
    levels: np.ndarray,
    sigmas: np.ndarray,
    bins: int = 12,
    percentile: float = 10.0,
    min_blocks: int = 30,
    max_level: float = 240.0,
) -> list[dict]:
    """Noise against intensity from tiles (:func:`block_noise` of one or more images): per
    equal-width bin of mean luma over [0, ``max_level``) (clipped highlights above it), the
    ``percentile`` of the tiles' noise, with the bin's centre and tile count; bins with fewer
    than ``min_blocks`` tiles are left out.

    Example:
        >>> curve = noise_level_curve(np.full(50, 100.0), np.linspace(1, 5, 50), bins=4)
        >>> [(c["level"], round(c["sigma"], 2), c["blocks"]) for c in curve]
        [(90.0, 1.4, 50)]
    """
    if not 0 < percentile < 100:
        raise ValueError(f"percentile must be in (0, 100), got {percentile}")
    edges = np.linspace(0.0, max_level, bins + 1)
    out = []
    for lo, hi in itertools.pairwise(edges):
        sel = (levels >= lo) & (levels < hi)
        if sel.sum() >= min_blocks:
            out.append(
                {
                    "level": float((lo + hi) / 2),
                    "sigma": float(np.percentile(sigmas[sel], percentile)),
                    "blocks": int(sel.sum()),
                }
            )
    return out


__all__ = ["block_noise", "noise_level_curve"]
