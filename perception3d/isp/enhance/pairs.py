"""Under-exposed / well-exposed 8-bit sRGB pairs made with the sensor model.

What a driving camera stores at night when its exposure time and gain are at their limits:
the scene 2-5 stops under the exposure that would render it well (uniform in stops), captured
by the physical sensor model (:func:`perception3d.isp.sensor.capture`: photon shot noise, read
noise, row noise, fixed pattern, vignetting, colour response, RGGB mosaic, 12-bit ADC) at a
gain of ISO 400-3200, developed by the classical ISP (lens shading correction, white balance,
Malvar demosaic, colour matrix; :func:`perception3d.isp.classic.raw_to_linear`), sRGB-encoded
and rounded to 8 bits. Fewer photons at the same gain: a mean pixel collects about 1.6-100
photo-electrons (``0.9 full_well x 100 / ISO`` electrons per raw unit, full well 6,000-15,000).

The target is the same scene at the well exposed level (mean white-balanced raw value
``reference_mean``), noise-free, clipped, sRGB-encoded and rounded to 8 bits: the rendering
a camera with enough light would have stored. All randomness comes from the numpy generator
passed in (same seed, same pair).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np
import torch

from perception3d.isp import classic
from perception3d.isp.color import linear_to_srgb
from perception3d.isp.conditions import quantize8, random_sensor
from perception3d.isp.sensor import auto_exposure_s, capture


@dataclasses.dataclass(frozen=True)
class LowLight:
    """Ranges of the dark captures (each pair draws within them).

    Attributes:
        stops_under: how far under the reference exposure, stops (uniform).
        iso: the camera's gain, ISO (log-uniform).
        reference_mean: mean linear value of the well-exposed reference (uniform).
        demosaic: the classical ISP's demosaicing (``malvar`` or ``bilinear``).
    """

    stops_under: tuple[float, float] = (2.0, 5.0)
    iso: tuple[float, float] = (400.0, 3200.0)
    reference_mean: tuple[float, float] = (0.15, 0.25)
    demosaic: Literal["malvar", "bilinear"] = "malvar"

    def __post_init__(self) -> None:
        checks = {
            "stops_under": (self.stops_under, 0.0, 16.0),
            "iso": (self.iso, 100.0, 25600.0),
            "reference_mean": (self.reference_mean, 1e-3, 1.0),
        }
        for name, ((lo, hi), low, high) in checks.items():
            if not low <= lo <= hi <= high:
                raise ValueError(f"{name} must be {low} <= low <= high <= {high}, got {(lo, hi)}")


@dataclasses.dataclass
class EnhancePair:
    """``dark_srgb`` and ``reference_srgb`` (B, 3, H, W) float32 8-bit levels in [0, 1];
    ``stops`` (B,) how far under each dark capture is; ``electrons`` (B,) the mean
    photo-electrons per pixel of each dark capture."""

    dark_srgb: torch.Tensor
    reference_srgb: torch.Tensor
    stops: torch.Tensor
    electrons: torch.Tensor


def stored_srgb(linear: torch.Tensor) -> torch.Tensor:
    """What a camera stores of a linear image: clipped to [0, 1], sRGB-encoded, 8-bit levels
    (the enhancer's input and target encoding)."""
    return quantize8(linear_to_srgb(linear.clamp(0.0, 1.0)))


def make_lowlight_pair(
    radiance: torch.Tensor, rng: np.random.Generator, lowlight: LowLight = LowLight()
) -> EnhancePair:
    """The (dark capture, well-exposed reference) pairs of ``radiance`` (B, 3, H, W) linear,
    >= 0, H and W even (whole RGGB cells). See the module docstring.

    One camera per call (noise, colour response, gain); each image has its own reference
    level and its own stops under.

    Example:
        >>> p = make_lowlight_pair(torch.rand(2, 3, 16, 16), np.random.default_rng(0))
        >>> darker = p.dark_srgb.mean((1, 2, 3)) < p.reference_srgb.mean((1, 2, 3))
        >>> p.dark_srgb.shape, bool(darker.all())
        (torch.Size([2, 3, 16, 16]), True)
    """
    if radiance.dim() != 4 or radiance.shape[1] != 3:
        raise ValueError(f"radiance must be (B, 3, H, W), got {tuple(radiance.shape)}")
    if radiance.shape[-2] % 2 or radiance.shape[-1] % 2:
        raise ValueError(f"radiance H and W must be even (RGGB), got {tuple(radiance.shape[-2:])}")
    b = radiance.shape[0]
    iso = math.exp(rng.uniform(math.log(lowlight.iso[0]), math.log(lowlight.iso[1])))
    params = dataclasses.replace(random_sensor(rng, "normal"), iso=iso)
    # exposure that maps a radiance of 1 to a linear value of 1; each image is scaled instead
    params = dataclasses.replace(params, exposure_s=auto_exposure_s(torch.ones(1), params, 1.0))
    ref_mean = torch.from_numpy(rng.uniform(*lowlight.reference_mean, b)).float()
    stops = torch.from_numpy(rng.uniform(*lowlight.stops_under, b)).float()
    mean = radiance.mean(dim=(1, 2, 3)).clamp_min(1e-12)
    reference = radiance * (ref_mean / mean).view(b, 1, 1, 1)  # linear, mean ref_mean
    dark = reference * (2.0**-stops).view(b, 1, 1, 1)
    gen = torch.Generator().manual_seed(int(rng.integers(0, 2**63)))
    raw, meta = capture(dark, params, gen)
    linear = classic.raw_to_linear(raw, meta, lowlight.demosaic)
    e_per_unit = params.gain_e_per_dn * (params.white_level_dn - params.black_level_dn)
    return EnhancePair(
        dark_srgb=stored_srgb(linear),
        reference_srgb=stored_srgb(reference),
        stops=stops,
        electrons=dark.mean(dim=(1, 2, 3)) * e_per_unit,
    )
