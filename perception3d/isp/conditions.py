"""Degraded captures with perfect references, for training and evaluating ISP stages.

Three conditions (plus ``"normal"`` daylight raw for training the raw stage broadly):

- ``"lowlight"`` / ``"normal"``: the sensor model at high ISO (1600-12800) / low ISO
  (100-800), auto-exposed; input a raw frame + metadata, reference the ideal linear image
  ``radiance x linear_scale``;
- ``"hdr"``: the scene exposed so that its brightest 1-5 % clip, through a random camera
  response (gamma 1.8-2.6 or sRGB), 8-bit; input that LDR sRGB image, reference the linear HDR
  at the same exposure (1.0 = the clipping level);
- ``"haze"``: ``I = J t + A (1 - t)`` with MOR 50-150 m and an airlight near the scene's bright
  sky, auto-exposed on the hazy scene, 8-bit sRGB; reference the haze-free linear image at the
  same exposure.

All randomness comes from the ``numpy`` generator passed in (same seed, same bytes).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np
import torch

from perception3d.isp.color import linear_to_srgb, luminance, rgb_to_cam_matrix
from perception3d.isp.meta import RawMeta
from perception3d.isp.sensor import SensorParams, apply_haze, auto_exposure_s, capture

Condition = Literal["normal", "lowlight", "hdr", "haze"]
CONDITIONS: tuple[str, ...] = ("normal", "lowlight", "hdr", "haze")


@dataclasses.dataclass
class RawSample:
    """A raw capture and its ideal linear sRGB reference (B, 3, H, W)."""

    raw: torch.Tensor
    meta: RawMeta
    reference_linear: torch.Tensor


@dataclasses.dataclass
class ImageSample:
    """A degraded sRGB image (B, 3, H, W) and its linear reference; ``extras`` holds known
    latent quantities (``transmission``, ``airlight`` for haze)."""

    input_srgb: torch.Tensor
    reference_linear: torch.Tensor
    extras: dict[str, torch.Tensor] = dataclasses.field(default_factory=dict)


def quantize8(srgb: torch.Tensor) -> torch.Tensor:
    """Round to 8-bit levels (what a camera JPEG/PNG stores)."""
    return torch.round(srgb.clamp(0, 1) * 255.0) / 255.0


def random_sensor(rng: np.random.Generator, condition: Condition) -> SensorParams:
    """A random camera for ``condition`` (ranges: Brooks et al. 2019, Wei et al. 2020)."""
    lo, hi = (1600.0, 12800.0) if condition == "lowlight" else (100.0, 800.0)
    weights = torch.from_numpy(rng.uniform(1e-3, 1.0, 4))
    rgb_to_cam = rgb_to_cam_matrix(weights).flatten().tolist()
    return SensorParams(
        iso=float(math.exp(rng.uniform(math.log(lo), math.log(hi)))),
        full_well_e=float(rng.uniform(6000, 15000)),
        read_noise_e=float(rng.uniform(1.0, 4.0)),
        read_noise_dn=float(rng.uniform(0.5, 2.0)),
        read_tukey_lambda=float(rng.uniform(-0.15, 0.1)) if rng.random() < 0.5 else None,
        row_noise_dn=float(rng.uniform(0.0, 1.0)),
        dark_current_e_per_s=float(rng.uniform(0.0, 20.0)),
        dsnu_e=float(rng.uniform(0.0, 1.0)),
        prnu=float(rng.uniform(0.0, 0.01)),
        fpn_seed=int(rng.integers(0, 2**31)),
        vignetting=float(rng.uniform(0.0, 0.4)),
        wb_gains=(float(rng.uniform(1.9, 2.4)), 1.0, float(rng.uniform(1.5, 1.9))),
        rgb_to_cam=tuple(rgb_to_cam),
    )


def make_raw_sample(
    radiance: torch.Tensor, rng: np.random.Generator, condition: Condition = "lowlight"
) -> RawSample:
    """Capture ``radiance`` (B, 3, H, W) with a random camera for ``condition``."""
    params = random_sensor(rng, condition)
    target = float(rng.uniform(0.06, 0.2) if condition == "lowlight" else rng.uniform(0.1, 0.3))
    params = dataclasses.replace(params, exposure_s=auto_exposure_s(radiance, params, target))
    gen = torch.Generator().manual_seed(int(rng.integers(0, 2**63)))
    raw, meta = capture(radiance, params, gen)
    return RawSample(raw, meta, radiance * params.linear_scale)


def _exposure_for_percentile(
    linear: torch.Tensor, percentile: float, level: float, use_max: bool = False
) -> float:
    """Scale that maps the ``percentile`` of luminance (or of the max channel) to ``level``."""
    lum = (linear.amax(dim=-3) if use_max else luminance(linear)).flatten()
    value = float(torch.quantile(lum[:: max(1, lum.numel() // 200_000)], percentile / 100.0))
    return level / max(value, 1e-8)


def make_hdr_sample(
    radiance: torch.Tensor,
    rng: np.random.Generator,
    exposure_reference: torch.Tensor | None = None,
) -> ImageSample:
    """LDR capture of ``radiance`` (B, 3, H, W; B = 1 for a per-image exposure) with clipped
    highlights, through a random camera response (``extras["crf_gamma"]``: the gamma of its
    power law, 0 for the sRGB curve). The exposure clips the brightest 1-5 % of
    ``radiance``'s pixels, or, given ``exposure_reference`` (1-D max-channel values of the whole
    frame that ``radiance`` is a crop of), of the whole frame's."""
    percentile = float(rng.uniform(95.0, 99.0))
    if exposure_reference is None:
        k = _exposure_for_percentile(radiance, percentile, 1.0, use_max=True)
    else:
        value = float(torch.quantile(exposure_reference.float(), percentile / 100.0))
        k = 1.0 / max(value, 1e-8)
    hdr = radiance * k
    noisy = (
        hdr
        + float(rng.uniform(0.0, 0.01))
        * torch.randn(
            hdr.shape, generator=torch.Generator().manual_seed(int(rng.integers(0, 2**63)))
        )
        * hdr.clamp(0, 1).sqrt()
    )
    if rng.random() < 0.3:
        ldr, gamma = linear_to_srgb(noisy), 0.0
    else:
        gamma = float(rng.uniform(1.8, 2.6))
        ldr = noisy.clamp(0.0, 1.0).pow(1.0 / gamma)
    # the response: gamma of the power law, 0 for the sRGB curve
    return ImageSample(quantize8(ldr), hdr, {"crf_gamma": torch.tensor([gamma])})


def true_crf(samples: list[ImageSample]) -> tuple[torch.Tensor, torch.Tensor]:
    """The responses of HDR samples (:func:`make_hdr_sample`) in :class:`HdrNet`'s form:
    ``(w_srgb (B, 1), gamma (B, 1))``, ``w_srgb`` 1 for the sRGB curve (``gamma`` then
    unused, 2.2), 0 for a power law of ``gamma``.

    Example:
        >>> s = [ImageSample(torch.zeros(1), torch.zeros(1), {"crf_gamma": torch.tensor([g])})
        ...      for g in (0.0, 2.4)]
        >>> w, g = true_crf(s)
        >>> w.flatten().tolist(), [round(v, 2) for v in g.flatten().tolist()]
        ([1.0, 0.0], [2.2, 2.4])
    """
    gammas = torch.cat([s.extras["crf_gamma"].float().view(1) for s in samples])
    is_srgb = gammas == 0.0
    w = is_srgb.float().view(-1, 1)
    return w, torch.where(is_srgb, torch.full_like(gammas, 2.2), gammas).view(-1, 1)


def sample_hdr_pixels(
    sample: ImageSample, count: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``count`` random (pixel, channel) values of an HDR capture (:func:`make_hdr_sample`,
    batch of one) among its unsaturated pixels (max channel below 0.95; all pixels if none
    is): (ldr (K,), reference (K,), the reference's peak ()), for losses on the response.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> s = make_hdr_sample(torch.rand(1, 3, 16, 16) * 4, rng)
        >>> ldr, ref, peak = sample_hdr_pixels(s, 64, rng)
        >>> ldr.shape, bool((ldr < 0.95).all()), bool(peak == s.reference_linear.max())
        (torch.Size([64]), True, True)
    """
    ldr, ref = sample.input_srgb[0], sample.reference_linear[0]  # (3, H, W)
    ok = (ldr.amax(0) < 0.95).flatten()
    idx = torch.nonzero(ok).flatten() if ok.any() else torch.arange(ok.numel())
    pick = idx[torch.from_numpy(rng.integers(0, idx.numel(), count))]
    chan = torch.from_numpy(rng.integers(0, 3, count))
    return ldr.flatten(1)[chan, pick], ref.flatten(1)[chan, pick], ref.max()


def make_haze_sample(
    radiance: torch.Tensor, depth_m: torch.Tensor, rng: np.random.Generator
) -> ImageSample:
    """Hazy 8-bit sRGB capture of ``radiance`` (B, 3, H, W) with depth (B, 1, H, W), MOR
    U(50, 150) m; the airlight is a neutral-to-bluish grey at 0.6-1.1 x the scene's 90th
    luminance percentile."""
    mor = float(rng.uniform(50.0, 150.0))
    lum90 = float(torch.quantile(luminance(radiance).flatten()[::7], 0.9))
    tint = torch.tensor([rng.uniform(0.85, 1.0), rng.uniform(0.92, 1.0), 1.0])
    airlight = tint * lum90 * float(rng.uniform(0.6, 1.1))
    hazy = apply_haze(radiance, depth_m, mor, airlight)
    k = _exposure_for_percentile(hazy, 97.0, float(rng.uniform(0.8, 1.0)))
    t = torch.exp(-math.log(20.0) / mor * depth_m)
    extras = {"transmission": t, "airlight": (airlight * k).expand(radiance.shape[0], 3)}
    return ImageSample(quantize8(linear_to_srgb(hazy * k)), radiance * k, extras)
