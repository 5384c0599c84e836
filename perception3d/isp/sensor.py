"""Forward camera model: linear scene radiance (and depth) -> noisy, clipped, quantized Bayer raw.

Steps, in the order light meets them (each a small function, all differentiable torch except
the Poisson draw, which has a Gaussian reparametrized alternative):

1. haze, ``I = J t + A (1 - t)``, ``t = exp(-beta d)``, ``beta = ln(20) / MOR``
   (Koschmieder; :func:`apply_haze`);
2. lens vignetting, ``1 - k r^2`` with r = 1 at the image corner (:func:`vignetting_map`);
3. colour response: linear sRGB -> camera RGB (``rgb_to_cam``), divided by the white-balance
   gains (the sensor's relative channel sensitivity; Brooks et al. 2019);
4. RGGB mosaic; photo-electrons ``e = radiance x flux x exposure`` with pixel response
   non-uniformity (PRNU), dark current and dark-signal non-uniformity (DSNU);
5. photon shot noise (Poisson in electrons), full-well clipping;
6. gain (ISO) to digital numbers, read noise (Gaussian or Tukey-lambda tails; Wei et al.,
   "A Physics-based Noise Formation Model for Extreme Low-light Raw Denoising", CVPR 2020),
   row noise, black level, quantization to ``bits``, clipping at the white level;
7. normalization ``(DN - black) / (white - black)`` clipped to [0, 1] (the contract's raw).

The parameters and what they imply travel with the raw frame as :class:`RawMeta`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import torch

from perception3d.isp.bayer import cfa_gains, mosaic
from perception3d.isp.color import apply_color_matrix
from perception3d.isp.meta import RawMeta

__all__ = [
    "RawMeta",
    "SensorParams",
    "apply_haze",
    "auto_exposure_s",
    "capture",
    "transmission",
    "tukey_lambda_noise",
    "vignetting_map",
]

# The noise and fixed-pattern parameters of SensorParams (each >= 0; 0 switches its source off).
_NOISE_PARAMETERS = (
    "read_noise_e",
    "read_noise_dn",
    "row_noise_dn",
    "dark_current_e_per_s",
    "dsnu_e",
    "prnu",
)


@dataclasses.dataclass(frozen=True)
class SensorParams:
    """Physical camera parameters with their units and the range the model is meant for.

    Ranges follow Brooks et al. 2019 (noise of phone/DSLR raw) and Wei et al. 2020 (system
    gain K ~ 0.1-30 DN/e-, heavy-tailed read noise, row noise).

    Attributes:
        exposure_s: exposure time, seconds (1e-5 .. 0.5).
        iso: ISO speed; analog gain = iso / 100 (100 .. 25600).
        flux_e_per_s: photo-electrons per second per pixel at radiance 1.0 (relative radiance
            units of the scene; sets the optical throughput x quantum efficiency), > 0.
        full_well_e: full-well capacity, electrons (2,000 .. 60,000).
        base_gain_e_per_dn: conversion gain at ISO 100, electrons per DN; the photon transfer
            curve (DN variance vs DN mean) has slope ``iso / 100 / base_gain_e_per_dn``.
            ``None``: ``0.9 full_well_e / (white - black)``, so the ADC clips (exactly at the
            white level) a little before the full well, at every ISO.
        read_noise_e: read noise before the amplifier, electrons rms (0.5 .. 10).
        read_noise_dn: read noise after the amplifier (ADC), DN rms (0 .. 5).
        read_tukey_lambda: shape of the read-noise distribution; ``None`` = Gaussian; Tukey
            lambda (-0.3 .. 0.2, heavier tails below 0.14) as in Wei et al. 2020.
        row_noise_dn: std of a per-row offset, DN (0 .. 2).
        dark_current_e_per_s: mean dark current, electrons per second (0 .. 100).
        dsnu_e: dark-signal non-uniformity (per-pixel offset, fixed), electrons rms (0 .. 5).
        prnu: photo-response non-uniformity (per-pixel gain, fixed), relative std (0 .. 0.02).
        fpn_seed: seed of the fixed pattern (the same camera gives the same PRNU/DSNU).
        black_level_dn: black level, DN (typ. 64 for 10-bit, 256 for 12-bit, 1024 for 14-bit).
        bits: ADC bit depth, 12 or 14.
        vignetting: lens fall-off ``k`` of ``1 - k r^2`` (0 .. 0.6).
        wb_gains: white-balance gains (R, G, B) the scene illuminant needs on this sensor;
            red 1.9-2.4, blue 1.5-1.9 (Brooks et al. 2019).
        rgb_to_cam: linear sRGB -> camera RGB, row-major 9 values, rows summing to 1.
        quantize: round to integer DN (straight-through gradient).
        shot_noise: ``"poisson"`` (exact), ``"gaussian"`` (reparametrized, differentiable) or
            ``"none"``; all other noise sources are switched off with their parameters.
    """

    exposure_s: float = 0.01
    iso: float = 100.0
    flux_e_per_s: float = 1.0e6
    full_well_e: float = 9000.0
    base_gain_e_per_dn: float | None = None
    read_noise_e: float = 2.0
    read_noise_dn: float = 1.0
    read_tukey_lambda: float | None = None
    row_noise_dn: float = 0.3
    dark_current_e_per_s: float = 5.0
    dsnu_e: float = 0.5
    prnu: float = 0.005
    fpn_seed: int = 0
    black_level_dn: float = 256.0
    bits: int = 12
    vignetting: float = 0.3
    wb_gains: tuple[float, float, float] = (2.1, 1.0, 1.7)
    rgb_to_cam: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    quantize: bool = True
    shot_noise: Literal["poisson", "gaussian", "none"] = "poisson"

    def __post_init__(self) -> None:
        positive = ("exposure_s", "iso", "flux_e_per_s", "full_well_e")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"SensorParams.{name} must be > 0, got {getattr(self, name)}")
        for name in (*_NOISE_PARAMETERS, "black_level_dn", "vignetting"):
            if getattr(self, name) < 0:
                raise ValueError(f"SensorParams.{name} must be >= 0, got {getattr(self, name)}")
        if self.bits not in (12, 14):
            raise ValueError(f"SensorParams.bits must be 12 or 14, got {self.bits}")
        if self.black_level_dn >= self.white_level_dn:
            raise ValueError(f"black_level_dn {self.black_level_dn} >= white level")
        if len(self.wb_gains) != 3 or min(self.wb_gains) <= 0:
            raise ValueError(f"wb_gains must be 3 positive values, got {self.wb_gains}")
        if len(self.rgb_to_cam) != 9:
            raise ValueError(f"rgb_to_cam must have 9 values, got {len(self.rgb_to_cam)}")
        if self.shot_noise not in ("poisson", "gaussian", "none"):
            raise ValueError(f"shot_noise must be poisson|gaussian|none, got {self.shot_noise!r}")

    @property
    def white_level_dn(self) -> float:
        return float(2**self.bits - 1)

    @property
    def gain_e_per_dn(self) -> float:
        """Conversion gain at this ISO, electrons per DN."""
        base = self.base_gain_e_per_dn
        if base is None:
            base = 0.9 * self.full_well_e / (self.white_level_dn - self.black_level_dn)
        return base / (self.iso / 100.0)

    @property
    def linear_scale(self) -> float:
        """Radiance -> normalized white-balanced linear value of an ideal capture."""
        dn_range = self.white_level_dn - self.black_level_dn
        return self.flux_e_per_s * self.exposure_s / self.gain_e_per_dn / dn_range

    def noiseless(self) -> SensorParams:
        """The same camera without noise, fixed pattern or quantization."""
        no_noise = dict.fromkeys(_NOISE_PARAMETERS, 0.0)
        return dataclasses.replace(self, **no_noise, quantize=False, shot_noise="none")


def transmission(depth_m: torch.Tensor, mor_m: float | torch.Tensor) -> torch.Tensor:
    """Haze transmission ``exp(-beta d)``, ``beta = ln(20) / MOR`` (5 % contrast at the
    meteorological optical range); ``inf`` depth (sky) gives 0.

    Example:
        >>> round(float(transmission(torch.tensor(100.0), 100.0)), 4)  # 1/20 at the MOR
        0.05
    """
    beta = math.log(20.0) / mor_m
    return torch.exp(-beta * depth_m)


def apply_haze(
    radiance: torch.Tensor,
    depth_m: torch.Tensor,
    mor_m: float | torch.Tensor,
    airlight: torch.Tensor | float,
) -> torch.Tensor:
    """Atmospheric scattering ``I = J t + A (1 - t)``.

    Args:
        radiance: (B, 3, H, W) haze-free linear radiance J.
        depth_m: (B, 1, H, W) or (B, H, W) depth in metres, ``inf`` for sky.
        mor_m: meteorological optical range in metres (fog < 1000 m), scalar or (B, 1, 1, 1).
        airlight: A, linear radiance of the horizon sky, scalar, (3,) or (B, 3).
    """
    if depth_m.dim() == 3:
        depth_m = depth_m[:, None]
    if depth_m.shape[-2:] != radiance.shape[-2:]:
        raise ValueError(
            f"depth {tuple(depth_m.shape)} and radiance {tuple(radiance.shape)} differ in size"
        )
    t = transmission(depth_m, mor_m)
    a = torch.as_tensor(airlight, dtype=radiance.dtype, device=radiance.device)
    if a.dim() == 1:
        a = a.view(1, -1, 1, 1)
    elif a.dim() == 2:
        a = a.view(a.shape[0], -1, 1, 1)
    return radiance * t + a * (1.0 - t)


def vignetting_map(height: int, width: int, strength: float, device=None, dtype=None):
    """(1, 1, H, W) relative illumination ``1 - k r^2``, r = 1 at the corners."""
    ys = torch.linspace(-1.0, 1.0, height, device=device, dtype=dtype)
    xs = torch.linspace(-1.0, 1.0, width, device=device, dtype=dtype)
    r2 = (ys[:, None] ** 2 + xs[None, :] ** 2) / 2.0
    return (1.0 - strength * r2)[None, None]


def tukey_lambda_noise(shape, lam: float, generator=None, device=None, dtype=torch.float32):
    """Unit-variance Tukey-lambda samples, quantile ``(u^l - (1-u)^l) / l`` (logistic at 0)."""
    u = torch.rand(shape, generator=generator, device=device, dtype=torch.float64)
    u = u.clamp(1e-12, 1 - 1e-12)
    if abs(lam) < 1e-6:
        x, var = torch.log(u / (1 - u)), math.pi**2 / 3
    else:
        if lam <= -0.5:
            raise ValueError(f"Tukey lambda must be > -0.5 for a finite variance, got {lam}")
        x = (u**lam - (1 - u) ** lam) / lam
        g = math.exp(2 * math.lgamma(lam + 1) - math.lgamma(2 * lam + 2))
        var = 2.0 / lam**2 * (1.0 / (1 + 2 * lam) - g)
    return (x / math.sqrt(var)).to(dtype)


def auto_exposure_s(radiance: torch.Tensor, params: SensorParams, target: float) -> float:
    """Exposure time (s) that puts the mean white-balanced raw value at ``target`` (0..1)."""
    per_second = params.linear_scale / params.exposure_s
    mean = float(radiance.detach().mean())
    return target / (per_second * max(mean, 1e-12))


def capture(
    radiance: torch.Tensor,
    params: SensorParams,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, RawMeta]:
    """Expose the sensor to ``radiance`` (haze, if any, already applied: :func:`apply_haze`).

    Args:
        radiance: (B, 3, H, W) linear sRGB scene radiance, relative units (>= 0).
        params: the camera.
        generator: torch generator for the noise draws (seeded: same seed, same raw).

    Returns:
        raw (B, 1, H, W) float in [0, 1] (black level removed, RGGB) and its :class:`RawMeta`.
        Noiseless and unclipped, ``raw`` white-balanced, colour corrected and divided by the
        vignetting equals ``radiance * meta.linear_scale`` mosaicked.
    """
    if radiance.dim() != 4 or radiance.shape[1] != 3:
        raise ValueError(f"radiance must be (B, 3, H, W), got {tuple(radiance.shape)}")
    b, _, h, w = radiance.shape
    dev, dt = radiance.device, radiance.dtype
    p = params
    x = radiance * vignetting_map(h, w, p.vignetting, dev, dt)
    rgb_to_cam = torch.tensor(p.rgb_to_cam, device=dev, dtype=dt).view(3, 3)
    gains = torch.tensor(p.wb_gains, device=dev, dtype=dt).expand(b, 3)
    cam = mosaic(apply_color_matrix(x, rgb_to_cam)) / cfa_gains(gains, h, w)
    electrons = cam.clamp_min(0.0) * (p.flux_e_per_s * p.exposure_s)
    if p.prnu > 0 or p.dsnu_e > 0:
        fpn = torch.Generator(device="cpu").manual_seed(p.fpn_seed)
        prnu = torch.randn((1, 1, h, w), generator=fpn).to(dev, dt) * p.prnu
        dsnu = torch.randn((1, 1, h, w), generator=fpn).to(dev, dt).abs() * p.dsnu_e
        electrons = electrons * (1.0 + prnu) + dsnu
    electrons = electrons + p.dark_current_e_per_s * p.exposure_s
    if p.shot_noise == "poisson":
        electrons = torch.poisson(electrons.detach().clamp_min(0), generator=generator).to(dt)
    elif p.shot_noise == "gaussian":
        z = torch.randn(electrons.shape, generator=generator, dtype=dt, device=dev)
        electrons = electrons + electrons.clamp_min(1e-12).sqrt() * z
    electrons = electrons.clamp(max=p.full_well_e)
    dn = electrons / p.gain_e_per_dn
    read_dn = math.hypot(p.read_noise_e / p.gain_e_per_dn, p.read_noise_dn)
    if read_dn > 0:
        if p.read_tukey_lambda is None:
            z = torch.randn(dn.shape, generator=generator, dtype=dt, device=dev)
        else:
            z = tukey_lambda_noise(dn.shape, p.read_tukey_lambda, generator, dev, dt)
        dn = dn + read_dn * z
    if p.row_noise_dn > 0:
        rows = torch.randn((b, 1, h, 1), generator=generator, dtype=dt, device=dev)
        dn = dn + p.row_noise_dn * rows
    dn = dn + p.black_level_dn
    if p.quantize:
        dn = dn + (torch.round(dn) - dn).detach()  # straight-through rounding
    dn = dn.clamp(0.0, p.white_level_dn)
    dn_range = p.white_level_dn - p.black_level_dn
    raw = ((dn - p.black_level_dn) / dn_range).clamp(0.0, 1.0)
    meta = RawMeta.from_sensor(p, batch=b, read_dn=read_dn)
    return raw, meta
