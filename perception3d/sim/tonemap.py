"""The default camera model that turns linear radiance into the 8-bit sRGB ``image_2``.

    exposure = clip(key / log-mean luminance, 1e-3, max_exposure)   (auto exposure)
    linear   = clip(exposure * radiance, 0, 1)                       (highlights clip)
    srgb     = smoothstep(srgb_oetf(linear)),  smoothstep(x) = 3x^2 - 2x^3
    png      = round(255 * srgb)                                      (linear rounded to 16 bits)

The order (clip, gamma, then a smoothstep "S" tone curve) is the forward camera that Brooks et
al. (CVPR 2019, "Unprocessing images for learned raw denoising") invert, so their
unprocessing applies to our images unchanged. No noise, no mosaic: sensor effects are the ISP
stage's job (it trains on ``radiance_2``).

Example:
    >>> rad = np.full((3, 2, 2), 0.18, np.float32)
    >>> img, exposure = radiance_to_srgb8(rad, key=0.18)
    >>> round(exposure, 3), int(img[0, 0, 0])
    (1.0, 113)
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["auto_exposure", "radiance_to_srgb8", "srgb_oetf"]

_LEVELS = 65535  # linear values are quantized to 16 bits before the tone curve
_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)  # Rec. 709 / sRGB luminance weights


def srgb_oetf(linear: np.ndarray) -> np.ndarray:
    """sRGB encoding (IEC 61966-2-1) of linear values in [0, 1]."""
    x = np.clip(linear, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def auto_exposure(radiance: np.ndarray, key: float = 0.18, max_exposure: float = 3000.0) -> float:
    """Exposure mapping the log-mean luminance of (3, H, W) ``radiance`` to ``key``."""
    rad = radiance.astype(np.float32, copy=False)
    lum = _LUMA[0] * rad[0] + _LUMA[1] * rad[1] + _LUMA[2] * rad[2]
    log_mean = float(np.exp(np.mean(np.log(lum + np.float32(1e-8)), dtype=np.float64)))
    return float(np.clip(key / log_mean, 1e-3, max_exposure))


@lru_cache(maxsize=1)
def _curve_lut() -> np.ndarray:
    """uint8 image value of each 16-bit linear level: round(255 * smoothstep(oetf(x)))."""
    x = srgb_oetf(np.arange(_LEVELS + 1, dtype=np.float64) / _LEVELS)
    return np.round(255.0 * x * x * (3.0 - 2.0 * x)).astype(np.uint8)


def radiance_to_srgb8(
    radiance: np.ndarray, key: float = 0.18, max_exposure: float = 3000.0
) -> tuple[np.ndarray, float]:
    """Expose, clip, encode and quantize a radiance image.

    The exposed linear value is rounded to 16 bits before the (tabulated) tone curve.

    Args:
        radiance: (3, H, W) float linear radiance.
        key, max_exposure: auto-exposure target and cap.

    Returns:
        (H, W, 3) uint8 sRGB image and the exposure used.
    """
    exposure = auto_exposure(radiance, key, max_exposure)
    linear = radiance * np.float32(exposure * _LEVELS)  # channel-first: contiguous passes
    np.clip(linear, 0, _LEVELS, out=linear)
    linear += np.float32(0.5)
    levels = linear.astype(np.int32)
    image = np.empty((*radiance.shape[1:], 3), np.uint8)
    for c in range(3):
        image[:, :, c] = np.take(_curve_lut(), levels[c])
    return image, exposure
