"""Colour and tone: sRGB transfer function, colour matrices, white balance, tone curves.

Every function is pure torch, batched over leading dimensions, and differentiable. Images are
``(B, 3, H, W)`` (or ``(3, H, W)``) float tensors; ``linear`` images are proportional to
radiance, ``srgb`` images are display encoded in [0, 1].
"""

from __future__ import annotations

import math
from typing import Literal

import torch

# Linear sRGB (D65) -> CIE XYZ, IEC 61966-2-1.
RGB_TO_XYZ = torch.tensor(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)

# XYZ -> camera matrices of four cameras (Adobe DNG ColorMatrix values, as listed by Brooks et
# al., "Unprocessing Images for Learned Raw Denoising", CVPR 2019); their random convex mix
# gives plausible camera colour responses.
XYZ_TO_CAMS = torch.tensor(
    [
        [[1.0234, -0.2969, -0.2266], [-0.5625, 1.6328, -0.0469], [-0.0703, 0.2188, 0.6406]],
        [[0.4913, -0.0541, -0.0202], [-0.6130, 1.3513, 0.2906], [-0.1564, 0.2151, 0.7183]],
        [[0.8380, -0.2630, -0.0639], [-0.2887, 1.0725, 0.2496], [-0.0627, 0.1427, 0.5438]],
        [[0.6596, -0.2079, -0.0562], [-0.4782, 1.3016, 0.1933], [-0.0970, 0.1581, 0.5181]],
    ]
)

LUMA_WEIGHTS = (0.2126, 0.7152, 0.0722)  # Rec. 709 luminance of linear sRGB


def _check_rgb(image: torch.Tensor, name: str = "image") -> None:
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(image).__name__}")
    if image.dim() < 3 or image.shape[-3] != 3:
        raise ValueError(f"{name} must be (..., 3, H, W), got {tuple(image.shape)}")


def linear_to_srgb(linear: torch.Tensor) -> torch.Tensor:
    """sRGB opto-electronic transfer function (IEC 61966-2-1) of ``linear`` clipped to [0, 1].

    Example:
        >>> round(float(linear_to_srgb(torch.tensor(0.18))), 4)
        0.4614
    """
    x = linear.clamp(0.0, 1.0)
    # The small floor keeps the power's gradient finite at 0.
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-8).pow(1.0 / 2.4) - 0.055)


def srgb_to_linear(srgb: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`linear_to_srgb` for ``srgb`` in [0, 1].

    Example:
        >>> round(float(srgb_to_linear(torch.tensor(0.5))), 4)
        0.214
    """
    x = srgb.clamp(0.0, 1.0)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055).pow(2.4))


def luminance(linear: torch.Tensor) -> torch.Tensor:
    """Rec. 709 luminance ``(..., 1, H, W)`` of linear sRGB ``(..., 3, H, W)``."""
    _check_rgb(linear, "linear")
    w = linear.new_tensor(LUMA_WEIGHTS).view(3, 1, 1)
    return (linear * w).sum(dim=-3, keepdim=True)


def apply_color_matrix(image: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """``out[c] = sum_k matrix[c, k] image[k]`` per pixel.

    Args:
        image: (B, 3, H, W) or (3, H, W).
        matrix: (3, 3) or (B, 3, 3).

    Example:
        >>> apply_color_matrix(torch.ones(3, 1, 1), torch.eye(3) * 2).flatten().tolist()
        [2.0, 2.0, 2.0]
    """
    _check_rgb(image)
    if matrix.shape[-2:] != (3, 3):
        raise ValueError(f"matrix must be (3, 3) or (B, 3, 3), got {tuple(matrix.shape)}")
    matrix = matrix.to(image)
    if matrix.dim() == 2:
        return torch.einsum("ck,...khw->...chw", matrix, image)
    return torch.einsum("bck,bkhw->bchw", matrix, image)


def rgb_to_cam_matrix(weights: torch.Tensor) -> torch.Tensor:
    """Linear sRGB -> camera RGB matrix from convex ``weights`` (4,) over :data:`XYZ_TO_CAMS`.

    Rows are normalized to sum to 1 so that white stays white before white balance (Brooks et
    al. 2019).
    """
    if weights.shape != (4,):
        raise ValueError(f"weights must be (4,), got {tuple(weights.shape)}")
    w = weights / weights.sum()
    xyz_to_cam = (w.view(4, 1, 1) * XYZ_TO_CAMS.to(w)).sum(0)
    rgb_to_cam = xyz_to_cam @ RGB_TO_XYZ.to(w)
    return rgb_to_cam / rgb_to_cam.sum(dim=-1, keepdim=True)


def apply_white_balance(image: torch.Tensor, gains_rgb: torch.Tensor) -> torch.Tensor:
    """Multiply channels of ``image`` (B, 3, H, W) by ``gains_rgb`` (3,) or (B, 3)."""
    _check_rgb(image)
    g = gains_rgb.to(image)
    return image * (g.view(-1, 3, 1, 1) if g.dim() == 2 else g.view(3, 1, 1))


def gray_world_gains(image: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """White-balance gains (B, 3) that equalize the channel means (gray-world, Buchsbaum 1980).

    Gains are normalized so that green's gain is 1.

    Example:
        >>> img = torch.stack([torch.full((4, 4), 0.2), torch.full((4, 4), 0.4),
        ...                    torch.full((4, 4), 0.1)])[None]
        >>> gray_world_gains(img).tolist()
        [[2.0, 1.0, 4.0]]
    """
    _check_rgb(image)
    mean = image.reshape(image.shape[0], 3, -1).mean(-1)
    return mean[:, 1:2] / mean.clamp_min(eps)


def white_patch_gains(
    image: torch.Tensor, percentile: float = 99.0, eps: float = 1e-6
) -> torch.Tensor:
    """White-patch (perfect reflector, Land's retinex) gains (B, 3): the ``percentile`` of each
    channel is mapped to the green channel's (a percentile rather than the max resists noise
    and clipped pixels)."""
    _check_rgb(image)
    if not 0.0 < percentile <= 100.0:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    flat = image.reshape(image.shape[0], 3, -1)
    top = torch.quantile(flat, percentile / 100.0, dim=-1)
    return top[:, 1:2] / top.clamp_min(eps)


# -- tone curves ---------------------------------------------------------------------------
def smoothstep(x: torch.Tensor) -> torch.Tensor:
    """Brooks et al.'s global tone curve ``3x^2 - 2x^3`` on [0, 1]."""
    x = x.clamp(0.0, 1.0)
    return 3.0 * x**2 - 2.0 * x**3


def inverse_smoothstep(y: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`smoothstep`: ``0.5 - sin(asin(1 - 2y) / 3)`` (Brooks et al. 2019)."""
    y = y.clamp(0.0, 1.0)
    return 0.5 - torch.sin(torch.asin(1.0 - 2.0 * y) / 3.0)


def mu_law(hdr: torch.Tensor, mu: float = 5000.0) -> torch.Tensor:
    """mu-law compression ``log(1 + mu x) / log(1 + mu)`` of ``hdr`` in [0, 1] (Kalantari and
    Ramamoorthi 2017 use mu = 5000)."""
    return torch.log1p(mu * hdr.clamp_min(0.0)) / math.log1p(mu)


def inverse_mu_law(y: torch.Tensor, mu: float = 5000.0) -> torch.Tensor:
    """Inverse of :func:`mu_law`."""
    return torch.expm1(y * math.log1p(mu)) / mu


def tonemap_reinhard(linear: torch.Tensor, white: float = 4.0) -> torch.Tensor:
    """Extended Reinhard global operator on luminance, ``L (1 + L / white^2) / (1 + L)``
    (Reinhard et al. 2002); ``white`` (linear units) maps to 1. Colour ratios are kept."""
    if white <= 0:
        raise ValueError(f"white must be > 0, got {white}")
    lum = luminance(linear).clamp_min(1e-8)
    out = lum * (1.0 + lum / white**2) / (1.0 + lum)
    return linear * (out / lum)


ToneMap = Literal["clip", "reinhard", "mu_law"]


def render_srgb(linear: torch.Tensor, tonemap: ToneMap = "clip", exposure: float = 1.0):
    """Display rendering shared by references and ISP outputs: exposure, a global tone map,
    then the sRGB transfer function. Returns sRGB in [0, 1].

    Args:
        linear: (..., 3, H, W) linear sRGB.
        tonemap: ``"clip"`` (clip at 1), ``"reinhard"`` (white point 4) or ``"mu_law"``.
        exposure: linear scale applied first.
    """
    x = linear * exposure
    if tonemap == "clip":
        return linear_to_srgb(x)
    if tonemap == "reinhard":
        return linear_to_srgb(tonemap_reinhard(x))
    if tonemap == "mu_law":
        return mu_law(x.clamp(0.0, 1.0)).clamp(0.0, 1.0)
    raise ValueError(f"tonemap must be 'clip', 'reinhard' or 'mu_law', got {tonemap!r}")
