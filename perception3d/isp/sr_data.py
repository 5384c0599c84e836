"""Low/high-resolution training pairs for super-resolution, made with the sensor model.

The low-resolution image is what a camera with ``scale`` times larger pixels records of the
same scene, not a bicubic downsampling of the high-resolution one:

1. optics: the lens's point spread function, a Gaussian of ``psf_sigma_lr_px`` (in
   low-resolution pixels; 0.3-0.7 px, which with the pixel's box gives an MTF50 of about
   0.25-0.4 cycles/pixel, the range of automotive cameras) applied to the linear radiance on
   the fine grid (:func:`optics_blur`);
2. pixel integration: each large pixel collects the light of its ``scale x scale`` area, the
   box average of the fine grid (:func:`pixel_integrate`);
3. the sensor: :func:`perception3d.isp.sensor.capture` with a random daylight camera
   (:func:`perception3d.isp.conditions.random_sensor`, ISO 100-800, shot/read/row noise,
   fixed pattern, vignetting, colour response, RGGB mosaic, 12-bit ADC), auto-exposed to a
   mean raw of 0.1-0.3;
4. the ISP the SR stage sits after: the classical one (lens shading correction, white
   balance, Malvar demosaic, colour matrix; :func:`perception3d.isp.classic.raw_to_linear`),
   sRGB encoding, 8 bits.

The high-resolution reference is the scene as rendered (full resolution), at the same
exposure, without blur or noise, sRGB-encoded and clipped to [0, 1]. All randomness comes
from the numpy generator passed in (same seed, same pair).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from perception3d.isp import classic
from perception3d.isp.color import linear_to_srgb
from perception3d.isp.conditions import quantize8, random_sensor
from perception3d.isp.sensor import auto_exposure_s, capture


@dataclasses.dataclass(frozen=True)
class Degradation:
    """Ranges of the low-resolution capture (each pair draws uniformly within them).

    Attributes:
        psf_sigma_lr_px: Gaussian PSF sigma, low-resolution pixels.
        exposure_target: mean raw value the auto-exposure aims at.
        demosaic: the classical ISP's demosaicing (``malvar`` or ``bilinear``).
    """

    psf_sigma_lr_px: tuple[float, float] = (0.3, 0.7)
    exposure_target: tuple[float, float] = (0.1, 0.3)
    demosaic: Literal["malvar", "bilinear"] = "malvar"

    def __post_init__(self) -> None:
        lo, hi = self.psf_sigma_lr_px
        if not 0 <= lo <= hi:
            raise ValueError(f"psf_sigma_lr_px must be 0 <= low <= high, got {(lo, hi)}")
        lo, hi = self.exposure_target
        if not 0 < lo <= hi < 1:
            raise ValueError(f"exposure_target must be 0 < low <= high < 1, got {(lo, hi)}")


@dataclasses.dataclass
class SrPair:
    """``lr_srgb`` (B, 3, h, w) and ``hr_srgb`` (B, 3, h scale, w scale), float32 in [0, 1]."""

    lr_srgb: torch.Tensor
    hr_srgb: torch.Tensor


def gaussian_kernel1d(sigma_px: float) -> torch.Tensor:
    """Normalized 1-D Gaussian of ``sigma_px`` pixels, radius ``ceil(3 sigma)`` (float32).

    Example:
        >>> k = gaussian_kernel1d(1.0)
        >>> k.shape, round(float(k.sum()), 6)
        (torch.Size([7]), 1.0)
    """
    if sigma_px <= 0:
        return torch.ones(1)
    radius = max(1, math.ceil(3.0 * sigma_px))
    r = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-(r**2) / (2.0 * sigma_px**2))
    return (k / k.sum()).float()


def optics_blur(linear: torch.Tensor, sigma_px: float) -> torch.Tensor:
    """Convolve ``linear`` (B, C, H, W) with a Gaussian PSF of ``sigma_px`` pixels (separable,
    reflected borders); the PSF sums to 1, so flat regions keep their value."""
    if linear.dim() != 4:
        raise ValueError(f"image must be (B, C, H, W), got {tuple(linear.shape)}")
    k = gaussian_kernel1d(sigma_px).to(linear)
    r, c = k.numel() // 2, linear.shape[1]
    if r == 0:
        return linear
    if r >= min(linear.shape[-2:]):
        raise ValueError(f"PSF radius {r} px too large for an image of {tuple(linear.shape[-2:])}")
    x = F.pad(linear, (r, r, r, r), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def pixel_integrate(linear: torch.Tensor, factor: int) -> torch.Tensor:
    """Box-average ``linear`` (B, C, H, W) over ``factor x factor`` blocks: the irradiance a
    pixel ``factor`` times larger collects (its signal is the block's sum; in the
    per-area units of radiance, the mean). H and W must be multiples of ``factor``.

    Example:
        >>> pixel_integrate(torch.arange(16.0).view(1, 1, 4, 4), 2).flatten().tolist()
        [2.5, 4.5, 10.5, 12.5]
    """
    h, w = linear.shape[-2:]
    if h % factor or w % factor:
        raise ValueError(f"image {h} x {w} is not a multiple of the factor {factor}")
    return F.avg_pool2d(linear, factor, factor)


def crop_to_multiple(image: torch.Tensor, multiple: int) -> torch.Tensor:
    """The top-left part of ``image`` (..., H, W) whose sides are multiples of ``multiple``."""
    h, w = image.shape[-2:]
    return image[..., : h - h % multiple, : w - w % multiple]


def degrade(
    radiance: torch.Tensor,
    scale: int,
    rng: np.random.Generator,
    degradation: Degradation = Degradation(),
) -> SrPair:
    """The (low-resolution capture, high-resolution reference) pairs of ``radiance``
    (B, 3, H, W) linear; H and W multiples of ``2 scale`` (the low-resolution mosaic has
    whole 2 x 2 RGGB cells; :func:`crop_to_multiple`). See the module docstring.

    One camera and one PSF per call; each image is auto-exposed on its own (to its own
    target): the camera's exposure is set for a mean of 1 and each image's radiance scaled by
    ``target / mean`` beforehand, which gives the same electrons as exposing it alone."""
    if radiance.dim() != 4 or radiance.shape[1] != 3:
        raise ValueError(f"radiance must be (B, 3, H, W), got {tuple(radiance.shape)}")
    h, w = radiance.shape[-2:]
    if h % (2 * scale) or w % (2 * scale):
        raise ValueError(f"radiance {h} x {w} must be a multiple of 2 x scale = {2 * scale}")
    d, b = degradation, radiance.shape[0]
    sigma = float(rng.uniform(*d.psf_sigma_lr_px)) * scale  # in fine-grid pixels
    params = random_sensor(rng, "normal")
    params = dataclasses.replace(params, exposure_s=auto_exposure_s(torch.ones(1), params, 1.0))
    targets = torch.from_numpy(rng.uniform(*d.exposure_target, b)).float().view(b, 1, 1, 1)
    lr_mean = pixel_integrate(radiance, scale).mean(dim=(1, 2, 3), keepdim=True)
    radiance = radiance * (targets / lr_mean.clamp_min(1e-12))
    lr_radiance = pixel_integrate(optics_blur(radiance, sigma), scale)
    gen = torch.Generator().manual_seed(int(rng.integers(0, 2**63)))
    raw, meta = capture(lr_radiance, params, gen)
    lr_linear = classic.raw_to_linear(raw, meta, d.demosaic)
    lr = quantize8(linear_to_srgb(lr_linear.clamp(0.0, 1.0)))
    hr = linear_to_srgb((radiance * params.linear_scale).clamp(0.0, 1.0))
    return SrPair(lr, hr)
