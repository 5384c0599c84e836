"""Super-resolution of display images for far objects: the bicubic baseline, SRCNN and ESPCN,
and their weight files (training: :mod:`perception3d.engine.tasks.sr`).

All three take an sRGB image ``(B, 3, h, w)`` float32 in [0, 1] (the ISP's output) and return
``(B, 3, h * scale, w * scale)``:

- :func:`bicubic_upscale`: bicubic interpolation (Keys' cubic, a = -0.75, as torch and OpenCV);
- :class:`SRCNN` (Dong et al., "Learning a Deep Convolutional Network for Image
  Super-Resolution", ECCV 2014): three convolutions 9-1-5 (64 and 32 channels) on the
  bicubic-upscaled image, so every layer runs at the output resolution;
- :class:`ESPCN` (Shi et al., "Real-Time Single Image and Video Super-Resolution Using an
  Efficient Sub-Pixel Convolutional Neural Network", CVPR 2016): convolutions 5-3-3 at the
  input resolution, the last one giving ``3 scale^2`` channels that the sub-pixel shuffle
  rearranges into the larger image; ``scale^2`` times fewer positions than SRCNN's.

One change from both papers: the networks predict a residual added to the bicubic image
(global residual learning, Kim et al., VDSR, CVPR 2016), so that a network at its random
initialisation is already the baseline and training for minutes on a CPU gains on it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from perception3d.checkpoint import read_model_checkpoint

SrArch = Literal["srcnn", "espcn"]
SR_KIND = "isp_sr"  # the checkpoint kind of an SR network


def _check_image(x: torch.Tensor) -> None:
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"image must be (B, 3, H, W), got {tuple(x.shape)}")


def bicubic_upscale(srgb: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic upscaling of ``srgb`` (B, 3, h, w) to (B, 3, h scale, w scale), clipped to
    [0, 1] (pixel centres aligned, ``align_corners=False``).

    Example:
        >>> bicubic_upscale(torch.full((1, 3, 4, 5), 0.5), 2).shape
        torch.Size([1, 3, 8, 10])
    """
    _check_image(srgb)
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    up = F.interpolate(srgb, scale_factor=scale, mode="bicubic", align_corners=False)
    return up.clamp(0.0, 1.0)


class _ResidualOverBicubic(nn.Module):
    """What the SR networks share: ``body`` predicts a residual added to the bicubic image,
    and its last convolution starts at zero, so an untrained network is bicubic."""

    def __init__(self, scale: int, body: nn.Sequential) -> None:
        super().__init__()
        self.scale = scale
        self.body = body
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def _bicubic(self, srgb: torch.Tensor) -> torch.Tensor:
        _check_image(srgb)
        return F.interpolate(srgb, scale_factor=self.scale, mode="bicubic", align_corners=False)


class SRCNN(_ResidualOverBicubic):
    """SRCNN 9-1-5 (Dong et al. 2014) as a residual over the bicubic image.

    Args:
        scale: upscaling factor.
        channels: widths of the first two layers (the paper's 64, 32).
    """

    def __init__(self, scale: int, channels: tuple[int, int] = (64, 32)) -> None:
        c1, c2 = channels
        body = nn.Sequential(
            nn.Conv2d(3, c1, 9, padding=4, padding_mode="replicate"),
            nn.ReLU(inplace=True),
            nn.Conv2d(c1, c2, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c2, 3, 5, padding=2, padding_mode="replicate"),
        )
        super().__init__(scale, body)

    def forward(self, srgb: torch.Tensor) -> torch.Tensor:
        """(B, 3, h, w) sRGB -> (B, 3, h scale, w scale) sRGB (not clipped: the loss sees the
        raw output; :func:`super_resolve` clips)."""
        up = self._bicubic(srgb)
        return up + self.body(up)


class ESPCN(_ResidualOverBicubic):
    """ESPCN (Shi et al. 2016): 5-3-3 convolutions with tanh at the input resolution and a
    sub-pixel shuffle, as a residual over the bicubic image; ``scale`` and ``channels`` as in
    :class:`SRCNN`."""

    def __init__(self, scale: int, channels: tuple[int, int] = (64, 32)) -> None:
        c1, c2 = channels
        body = nn.Sequential(
            nn.Conv2d(3, c1, 5, padding=2, padding_mode="replicate"),
            nn.Tanh(),
            nn.Conv2d(c1, c2, 3, padding=1, padding_mode="replicate"),
            nn.Tanh(),
            nn.Conv2d(c2, 3 * scale * scale, 3, padding=1, padding_mode="replicate"),
        )
        super().__init__(scale, body)

    def forward(self, srgb: torch.Tensor) -> torch.Tensor:
        """(B, 3, h, w) sRGB -> (B, 3, h scale, w scale) sRGB (not clipped)."""
        up = self._bicubic(srgb)
        # from (B, 3 s^2, h, w) to (B, 3, h s, w s)
        return up + F.pixel_shuffle(self.body(srgb), self.scale)


@dataclasses.dataclass(frozen=True)
class SrModelConfig:
    """``model:`` of an SR network.

    Attributes:
        arch: ``srcnn`` or ``espcn``.
        scale: upscaling factor (2 for full frames, 4 for far-object crops).
        channels: widths of the first two convolutions.
    """

    arch: SrArch = "espcn"
    scale: int = 2
    channels: tuple[int, int] = (64, 32)

    def __post_init__(self) -> None:
        if self.arch not in ("srcnn", "espcn"):
            raise ValueError(f"model.arch must be srcnn or espcn, got {self.arch!r}")
        if self.scale not in (2, 3, 4):
            raise ValueError(f"model.scale must be 2, 3 or 4, got {self.scale}")
        if len(self.channels) != 2 or min(self.channels) < 1:
            raise ValueError(f"model.channels must be two positive widths, got {self.channels}")


def build_sr_model(cfg: SrModelConfig) -> nn.Module:
    """A freshly initialised SR network of ``cfg`` (at initialisation: bicubic).

    Example:
        >>> net = build_sr_model(SrModelConfig("espcn", 4))
        >>> net(torch.rand(2, 3, 6, 7)).shape
        torch.Size([2, 3, 24, 28])
    """
    if cfg.arch == "srcnn":
        return SRCNN(cfg.scale, cfg.channels)
    if cfg.arch == "espcn":
        return ESPCN(cfg.scale, cfg.channels)
    raise ValueError(f"arch must be srcnn or espcn, got {cfg.arch!r}")


def load_sr_model(path: str | Path) -> nn.Module:
    """An SR network from its weight file (kind ``isp_sr``), in eval mode, channels-last.

    Raises:
        FileNotFoundError: the file is missing.
        CheckpointError: not an SR file, or its model config does not load.
    """
    ckpt, cfg = read_model_checkpoint(path, SR_KIND, SrModelConfig, "the SR stage")
    model = build_sr_model(cfg)
    model.load_state_dict(ckpt["model"])
    return model.eval().to(memory_format=torch.channels_last)


@torch.inference_mode()
def super_resolve(model: nn.Module | None, srgb: torch.Tensor, scale: int | None = None):
    """Upscale ``srgb`` (B, 3, h, w) with ``model`` (None: bicubic at ``scale``), clipped to
    [0, 1]."""
    if model is None:
        if scale is None:
            raise ValueError("bicubic upscaling needs a scale")
        return bicubic_upscale(srgb, scale)
    if scale is not None and scale != model.scale:
        raise ValueError(f"the model upscales x{model.scale}, asked for x{scale}")
    x = srgb.contiguous(memory_format=torch.channels_last)
    return model(x).clamp(0.0, 1.0)
