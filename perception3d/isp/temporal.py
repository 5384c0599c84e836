"""Temporal low-light ISP: a recurrent multi-frame raw denoise + demosaic network and the
classical temporal baseline, both aligned by a backward flow per frame
(:mod:`perception3d.isp.flow_warp`, :mod:`perception3d.isp.temporal_data`).

- :class:`TemporalRawUNet`: the single-frame :class:`~perception3d.isp.models.RawUNet` with
  two more inputs: its own previous output warped onto the current frame (packed to half
  resolution, 12 channels) and where that warp is valid. Recurrent: frame t sees everything
  before it through its previous output (as in recurrent video denoisers, e.g. FastDVDnet's
  and EMVD's use of the previous estimate; Maggioni et al. 2021). Its new input channels
  start at zero weight, so initialised from the single-frame stage it starts as that stage
  (with ``blend``, up to the starting blend weight ``blend_init``). The shipped
  ``isp_temporal.pt`` blends its single-frame estimate with the warped previous output
  (``fusion: output``).
- :func:`recursive_average`: motion-compensated recursive averaging: the previous result
  warped onto the frame, blended with the frame with a per-pixel count that restarts where the
  local residual is large against the frame's noise level (the classical temporal filter of
  video cameras; Dubois and Sabri 1984 for the motion-compensated recursive filter).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from perception3d.checkpoint import read_model_checkpoint
from perception3d.isp.bayer import pack, pad_multiple, pad_to_even
from perception3d.isp.color import apply_color_matrix
from perception3d.isp.demosaic import demosaic_bilinear
from perception3d.isp.denoise import estimate_noise_sigma
from perception3d.isp.flow_warp import warp
from perception3d.isp.meta import RawMeta
from perception3d.isp.models import UNet, _low_precision
from perception3d.isp.weights import prepare_raw

KIND = "isp_temporal"


@dataclasses.dataclass(frozen=True)
class TemporalModelConfig:
    """``model:`` of the temporal raw stage.

    Attributes:
        width: the U-Net's base width (16: the single-frame stage's, whose weights can start
            it).
        recurrent: feed the previous output (False: the same network on single frames, the
            ablation that separates the temporal gain from the training data's).
        blend: the residual is added to a per-pixel blend of the bilinear demosaic and the
            warped previous output, with a predicted weight (4 more output channels: one per
            Bayer position; 0 where the warp is invalid), so that carrying the previous
            output over is the easy thing to learn; false: the residual over the bilinear
            demosaic alone (the single-frame stage's form).
        fusion: where ``blend`` mixes in the warped previous output: ``base``, into the
            bilinear demosaic before the residual is added (above); ``output``, after it:
            ``out = single + a (prev - single)`` with ``single`` the residual over the
            demosaic, a learned recursive filter of the network's own single-frame estimate
            (as in EMVD's fusion stage, Maggioni et al., CVPR 2021).
        blend_init: the blend weight ``a`` at the start (the predicting layer's bias is
            ``logit(blend_init)``, its weights 0). A small weight starts as the single-frame
            stage but, under Adam at the learning rates used here (each parameter moves at
            most about the learning rate per step), ``a`` leaves 0.25 % only slowly.
    """

    width: int = 16
    recurrent: bool = True
    blend: bool = False
    fusion: Literal["base", "output"] = "base"
    blend_init: float = 0.0025

    def __post_init__(self) -> None:
        if self.fusion not in ("base", "output"):
            raise ValueError(f"model.fusion must be base or output, got {self.fusion!r}")
        if not 0.0 < self.blend_init < 1.0:
            raise ValueError(f"model.blend_init must be in (0, 1), got {self.blend_init}")


class TemporalRawUNet(nn.Module):
    """Recurrent raw denoise + demosaic.

    ``forward(raw, noise_var, prev, valid)``: ``raw`` (B, 1, H, W) and ``noise_var`` (B, 2) as
    :class:`~perception3d.isp.models.RawUNet` takes them (:func:`prepare_raw`); ``prev``
    (B, 3, H, W) the previous output (white-balanced camera RGB, the output's domain) warped
    onto this frame, ``valid`` (B, 1, H, W) 1 where it is (0 everywhere for a first frame).
    Returns white-balanced linear camera RGB (B, 3, H, W).
    """

    def __init__(
        self,
        width: int = 16,
        recurrent: bool = True,
        blend: bool = False,
        fusion: str = "base",
        blend_init: float = 0.0025,
    ) -> None:
        super().__init__()
        self.recurrent = recurrent
        self.blend = blend
        self.fusion = fusion
        self.blend_init = blend_init
        # packed raw (4) + noise std (4) + packed previous output (12) + its validity (1);
        # out: 3 colours x 2 x 2 positions (+ a blend weight per position)
        self.unet = UNet(21, 16 if blend else 12, width)

    def forward(self, raw, noise_var, prev, valid) -> torch.Tensor:
        if not self.recurrent:
            prev, valid = torch.zeros_like(prev), torch.zeros_like(valid)
        x, (h, w) = pad_to_even(raw)
        x, _ = pad_multiple(x, 8)
        packed = pack(x)
        shot, read = noise_var[:, 0].view(-1, 1, 1, 1), noise_var[:, 1].view(-1, 1, 1, 1)
        std = (shot * packed.clamp_min(0) + read).clamp_min(1e-10).sqrt()
        pv = pad_multiple(F.pad(prev * valid, _even_pad(prev)), 8)[0]
        vv = pad_multiple(F.pad(valid, _even_pad(valid)), 8)[0]
        extra = [F.pixel_unshuffle(pv, 2), F.avg_pool2d(vv, 2)]
        with _low_precision(self, packed):
            out, _ = self.unet(torch.cat([packed, std * 10.0, *extra], 1))
        out = out.float().contiguous()
        residual = F.pixel_shuffle(out[:, :12], 2)
        base = demosaic_bilinear(x)
        if not self.blend:
            return (base + residual)[..., :h, :w]
        alpha = torch.sigmoid(F.pixel_shuffle(out[:, 12:], 2)) * vv
        if self.fusion == "output":
            single = base + residual
            return (single + alpha * (pv - single))[..., :h, :w]
        return (base + alpha * (pv - base) + residual)[..., :h, :w]

    def load_single_frame(self, raw_unet_state: dict) -> None:
        """Start from a single-frame :class:`RawUNet`'s weights: the same layers, the new
        input channels at zero weight (the network then computes what the single frame's
        does, whatever the previous output)."""
        state = dict(raw_unet_state)
        key = "unet.enc1.0.0.weight"
        w = state[key]
        grown = torch.zeros(w.shape[0], 21, *w.shape[2:], dtype=w.dtype)
        grown[:, : w.shape[1]] = w
        state[key] = grown
        if self.blend:  # blend weights start at blend_init, whatever the input
            w, b = state["unet.out.weight"], state["unet.out.bias"]
            logit = math.log(self.blend_init / (1.0 - self.blend_init))
            state["unet.out.weight"] = torch.cat([w, w.new_zeros(4, *w.shape[1:])])
            state["unet.out.bias"] = torch.cat([b, b.new_full((4,), logit)])
        self.load_state_dict(state)


def _even_pad(x: torch.Tensor) -> tuple[int, int, int, int]:
    h, w = x.shape[-2:]
    return (0, w % 2, 0, h % 2)


def build_temporal_model(cfg: TemporalModelConfig) -> TemporalRawUNet:
    return TemporalRawUNet(cfg.width, cfg.recurrent, cfg.blend, cfg.fusion, cfg.blend_init)


def load_temporal_stage(path: str | Path) -> TemporalRawUNet:
    """The temporal stage from its weight file (kind ``isp_temporal``), eval mode,
    channels-last.

    Raises:
        FileNotFoundError: the file is missing. CheckpointError: a file of another kind, or
            its model config does not load.
    """
    ckpt, cfg = read_model_checkpoint(path, KIND, TemporalModelConfig, "the temporal ISP stage")
    model = build_temporal_model(cfg)
    model.load_state_dict(ckpt["model"])
    return model.eval().to(memory_format=torch.channels_last)


def temporal_step(
    model: nn.Module,
    raw: torch.Tensor,
    meta: RawMeta,
    prev: torch.Tensor | None,
    backward: torch.Tensor | None = None,
    aligned: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One frame of the recurrent stage (streaming use): ``raw`` (B, 1, H, W) with ``meta``;
    ``prev`` the previous call's second output (None for a first frame), brought onto this
    frame by ``backward`` (B, 2, H, W), valid where ``aligned`` (B, 1, H, W) is 1. Returns the
    linear sRGB output (B, 3, H, W) and the state for the next frame (camera RGB)."""
    x, noise = prepare_raw(raw, meta)
    b, _, h, w = x.shape
    if prev is None:
        p, v = x.new_zeros(b, 3, h, w), x.new_zeros(b, 1, h, w)
    else:
        p, inside = warp(prev, backward)
        v = inside if aligned is None else aligned * inside
    cam = model(x, noise, p, v)
    return apply_color_matrix(cam, meta.cam_to_rgb.to(x)), cam


def run_temporal(
    model: nn.Module,
    raws: Sequence[torch.Tensor],
    metas: Sequence[RawMeta],
    backward: Sequence[torch.Tensor],
    aligned: Sequence[torch.Tensor],
) -> list[torch.Tensor]:
    """The recurrent stage over a clip: per frame t, ``raws[t]`` (B, 1, H, W), ``metas[t]``
    (batch B), ``backward[t]`` (B, 2, H, W) its flow into frame t-1 and ``aligned[t]``
    (B, 1, H, W) its validity (unused for t = 0). Returns the linear sRGB outputs (B, 3, H, W)
    per frame."""
    outs, prev = [], None
    for t, (raw, meta) in enumerate(zip(raws, metas)):
        out, prev = temporal_step(model, raw, meta, prev, backward[t], aligned[t])
        outs.append(out)
    return outs


def _box(x: torch.Tensor, size: int) -> torch.Tensor:
    return F.avg_pool2d(x, size, 1, size // 2, count_include_pad=False)


def recursive_average(
    frames: torch.Tensor,
    backward: torch.Tensor,
    aligned: torch.Tensor,
    max_frames: int = 8,
    threshold: float = 2.0,
    window: int = 5,
) -> torch.Tensor:
    """Motion-compensated recursive averaging of a frame sequence (T, 3, H, W) (display
    domain, e.g. sRGB, where the noise is closer to uniform).

    Per frame t: the previous result and its per-pixel count are warped onto the frame by
    ``backward[t]`` (T, 2, H, W); the count is kept where the warp is valid (``aligned``,
    (T, 1, H, W)) and the ``window`` x ``window`` mean residual between frame and warped result
    is small against the frame's noise: a weight ``exp(-r^2 / (2 (threshold sigma_r)^2))``,
    ``sigma_r`` = the frame's noise sigma (wavelet estimate) / ``window``; then ``count =
    1 + min(weight x count, max_frames - 1)`` and ``result = warped + (frame - warped) /
    count`` (a running mean of up to ``max_frames`` aligned frames, restarting at motion the
    flow did not explain).

    Example:
        >>> x = torch.rand(1, 3, 16, 16).expand(4, -1, -1, -1)  # a static scene
        >>> out = recursive_average(x, torch.zeros(4, 2, 16, 16), torch.ones(4, 1, 16, 16))
        >>> bool(torch.allclose(out, x, atol=1e-6))
        True
    """
    state, count = frames[:1], frames.new_ones(1, 1, *frames.shape[-2:])
    outs = [state]
    for t in range(1, len(frames)):
        x = frames[t : t + 1]
        prev, inside = warp(state, backward[t : t + 1])
        n_prev, _ = warp(count, backward[t : t + 1])
        sigma = estimate_noise_sigma(x).view(-1, 1, 1, 1).clamp_min(1e-4)
        r2 = _box(x - prev, window).pow(2).mean(dim=1, keepdim=True)
        weight = torch.exp(-r2 / (2 * (threshold * sigma / window) ** 2))
        kept = weight * aligned[t : t + 1] * inside * n_prev
        count = 1.0 + kept.clamp(max=max_frames - 1)
        state = prev + (x - prev) / count
        outs.append(state)
    return torch.cat(outs)
