"""The classical ISP, our baseline: lens shading, white balance, demosaic, colour correction,
denoise, and the single-image HDR (inverse CRF) and dehaze (dark channel prior) stages.

Every function takes and returns tensors; :mod:`perception3d.isp.pipeline` composes them.
"""

from __future__ import annotations

from typing import Literal

import torch

from perception3d.isp.bayer import cfa_gains
from perception3d.isp.color import (
    apply_color_matrix,
    gray_world_gains,
    linear_to_srgb,
    srgb_to_linear,
    white_patch_gains,
)
from perception3d.isp.dehaze import dehaze_dcp
from perception3d.isp.demosaic import demosaic, demosaic_bilinear
from perception3d.isp.denoise import DenoiseMethod
from perception3d.isp.denoise import denoise as denoise_srgb
from perception3d.isp.meta import RawMeta
from perception3d.isp.sensor import vignetting_map

WhiteBalance = Literal["metadata", "gray_world", "white_patch"]


def lens_shading_correction(raw: torch.Tensor, meta: RawMeta) -> torch.Tensor:
    """Divide ``raw`` (B, 1, H, W) by the vignetting ``1 - k r^2`` recorded in ``meta``."""
    h, w = raw.shape[-2:]
    maps = torch.cat(
        [vignetting_map(h, w, float(k), raw.device, raw.dtype) for k in meta.vignetting]
    )
    return raw / maps


def white_balance_gains(raw: torch.Tensor, meta: RawMeta, method: WhiteBalance) -> torch.Tensor:
    """(B, 3) gains: from ``meta`` or estimated (gray world / white patch on a bilinear
    demosaic of the camera-RGB raw)."""
    if method == "metadata":
        return meta.wb_gains.to(raw)
    rgb = demosaic_bilinear(raw)
    if method == "gray_world":
        return gray_world_gains(rgb)
    if method == "white_patch":
        return white_patch_gains(rgb)
    raise ValueError(f"white balance must be metadata, gray_world or white_patch, got {method!r}")


def raw_to_linear(
    raw: torch.Tensor,
    meta: RawMeta,
    demosaic_method: str = "malvar",
    white_balance: WhiteBalance = "metadata",
    denoise: DenoiseMethod = "none",
) -> torch.Tensor:
    """Classical raw -> linear sRGB ``(B, 3, H, W)`` (values above 1 kept; negative clipped).

    Denoising (if any) runs on the sRGB-encoded image and the result is decoded back, so the
    output of a denoised frame saturates at 1.
    """
    if raw.dim() != 4 or raw.shape[1] != 1:
        raise ValueError(f"raw must be (B, 1, H, W), got {tuple(raw.shape)}")
    if meta.batch_size != raw.shape[0]:
        raise ValueError(f"meta holds {meta.batch_size} frames, raw {raw.shape[0]}")
    x = lens_shading_correction(raw, meta)
    gains = white_balance_gains(x, meta, white_balance)
    x = x * cfa_gains(gains, *x.shape[-2:])
    rgb = apply_color_matrix(demosaic(x, demosaic_method), meta.cam_to_rgb.to(x)).clamp_min(0.0)
    if denoise != "none":
        rgb = srgb_to_linear(denoise_srgb(linear_to_srgb(rgb), denoise))
    return rgb


def ldr_to_hdr(srgb: torch.Tensor) -> torch.Tensor:
    """Classical single-image HDR: invert the assumed camera response (sRGB); clipped
    highlights stay clipped (there is no classical way to restore them)."""
    return srgb_to_linear(srgb)


def dehaze(linear: torch.Tensor, **kwargs) -> torch.Tensor:
    """Dark-channel-prior dehazing with guided-filter refinement (see
    :func:`perception3d.isp.dehaze.dehaze_dcp`)."""
    return dehaze_dcp(linear, **kwargs)[0]
