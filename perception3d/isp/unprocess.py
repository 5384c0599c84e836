"""Unprocessing (Brooks et al., "Unprocessing Images for Learned Raw Denoising", CVPR 2019):
turn an ordinary sRGB photograph into plausible raw sensor data, so that real images (the
sample KITTI frames) also yield (raw, clean linear) training pairs.

Steps, each inverting one stage of a simple camera pipeline: inverse smoothstep tone curve,
gamma expansion (x^2.2), sRGB -> camera colour matrix (random convex mix of four cameras),
inverse white balance and brightness gains with highlight protection, RGGB mosaic; then
heteroscedastic Gaussian noise of variance ``shot * x + read``.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from perception3d.isp.bayer import mosaic
from perception3d.isp.color import apply_color_matrix, inverse_smoothstep, rgb_to_cam_matrix
from perception3d.isp.meta import RawMeta


@dataclasses.dataclass(frozen=True)
class UnprocessParams:
    """Random camera of one unprocessed image.

    Attributes:
        rgb_to_cam: (3, 3) linear sRGB -> camera RGB (rows sum to 1).
        red_gain, blue_gain: white-balance gains, U(1.9, 2.4) and U(1.5, 1.9).
        rgb_gain: brightness gain, ``1 / N(0.8, 0.1)``.
        shot_noise, read_noise: noise variances of the normalized raw.
    """

    rgb_to_cam: torch.Tensor
    red_gain: float
    blue_gain: float
    rgb_gain: float
    shot_noise: float
    read_noise: float


def random_unprocess_params(generator: torch.Generator | None = None) -> UnprocessParams:
    """Sample the distributions of Brooks et al. 2019 (Sec. 3 and their noise fit:
    log shot ~ U(log 1e-4, log 0.012), log read = 2.18 log shot + 1.20 + N(0, 0.26))."""

    def uniform(lo: float, hi: float) -> float:
        return lo + (hi - lo) * float(torch.rand((), generator=generator))

    weights = torch.rand(4, generator=generator, dtype=torch.float64) + 1e-8
    log_shot = uniform(math.log(1e-4), math.log(0.012))
    log_read = 2.18 * log_shot + 1.20 + 0.26 * float(torch.randn((), generator=generator))
    return UnprocessParams(
        rgb_to_cam=rgb_to_cam_matrix(weights).float(),
        red_gain=uniform(1.9, 2.4),
        blue_gain=uniform(1.5, 1.9),
        rgb_gain=1.0 / (0.8 + 0.1 * float(torch.randn((), generator=generator))),
        shot_noise=math.exp(log_shot),
        read_noise=math.exp(log_read),
    )


def safe_invert_gains(linear_cam: torch.Tensor, gains_rgb: torch.Tensor) -> torch.Tensor:
    """Multiply by the inverse ``gains_rgb`` (3,) but fade to 1 for bright pixels, so that
    highlights do not turn coloured once white balance is re-applied (Brooks et al. 2019)."""
    gray = linear_cam.mean(dim=-3, keepdim=True)
    mask = ((gray - 0.9).clamp_min(0.0) / 0.1) ** 2
    inv = (1.0 / gains_rgb).to(linear_cam).view(3, 1, 1)
    return linear_cam * torch.maximum(mask + (1.0 - mask) * inv, inv)


def unprocess(srgb: torch.Tensor, params: UnprocessParams) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise-free raw of ``srgb`` (B, 3, H, W) in [0, 1].

    Returns:
        raw (B, 1, H, W) in [0, 1] (RGGB) and the clean linear sRGB target (B, 3, H, W) that an
        ideal ISP (white balance, colour correction) recovers from it.
    """
    if srgb.dim() != 4 or srgb.shape[1] != 3:
        raise ValueError(f"srgb must be (B, 3, H, W), got {tuple(srgb.shape)}")
    linear = inverse_smoothstep(srgb).clamp_min(1e-8).pow(2.2)
    target = linear / params.rgb_gain
    cam = apply_color_matrix(linear, params.rgb_to_cam)
    gains = torch.tensor([params.red_gain, 1.0, params.blue_gain]) * params.rgb_gain
    raw = mosaic(safe_invert_gains(cam, gains)).clamp(0.0, 1.0)
    return raw, target


def add_noise(
    raw: torch.Tensor, shot_noise: float, read_noise: float, generator=None
) -> torch.Tensor:
    """Heteroscedastic Gaussian noise of variance ``shot * x + read`` (Brooks et al. 2019),
    clipped to [0, 1]."""
    std = (shot_noise * raw.clamp_min(0.0) + read_noise).sqrt()
    noise = torch.randn(raw.shape, generator=generator, dtype=raw.dtype, device=raw.device)
    return (raw + std * noise).clamp(0.0, 1.0)


def unprocess_meta(params: UnprocessParams, batch: int = 1) -> RawMeta:
    """The :class:`RawMeta` of a raw made by :func:`unprocess` + :func:`add_noise`."""
    full = lambda v: torch.full((batch,), float(v))  # noqa: E731
    return RawMeta(
        wb_gains=torch.tensor([[params.red_gain, 1.0, params.blue_gain]]).repeat(batch, 1),
        cam_to_rgb=torch.linalg.inv(params.rgb_to_cam.double()).float().expand(batch, 3, 3),
        exposure_s=full(float("nan")),
        iso=full(float("nan")),
        shot_noise=full(params.shot_noise),
        read_noise=full(params.read_noise),
        vignetting=full(0.0),
        linear_scale=full(1.0 / params.rgb_gain),
        black_level_dn=full(float("nan")),
        white_level_dn=full(float("nan")),
    )
