"""Illumination-map low-light enhancer, after Wang, Zhang, Fu, Shen, Zheng, Jia,
"Underexposed Photo Enhancement Using Deep Illumination Estimation", CVPR 2019 (DeepUPE).

The image is modelled as ``I = S * L`` (Retinex): a small network predicts the illumination
``L`` (3 channels, in [l_min, 1]) at ``1 / factor`` of the resolution from the downsampled
image and a global context vector; a fast guided filter (Wu et al. 2018,
:mod:`perception3d.isp.guided`) brings it to full resolution along the edges of the input; the
enhanced image is ``S = I / L``.

One addition to Wang et al.: dividing by ``L`` amplifies the sensor noise of a dark capture by
up to ``1 / l_min``, which costs more structure (SSIM) than the brightening wins. A residual
denoiser (:class:`ResidualDenoiser`) cleans ``S`` after the division, given ``L`` (which says
how much each pixel's noise was amplified); its last layer starts at zero, so the untrained
network is the plain division. ``denoise_width: 0`` removes it (Wang et al.'s network).

Losses (:func:`enhance_loss`): Wang et al.'s reconstruction, illumination smoothness where the
image is smooth, and colour angle; the reconstruction is L1 + (1 - SSIM) (Zhao et al., "Loss
functions for image restoration with neural networks", 2017) rather than their L2.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from perception3d.checkpoint import read_model_checkpoint
from perception3d.isp.guided import guided_upsample
from perception3d.isp.metrics import ssim

ENHANCE_KIND = "isp_lowlight"  # the checkpoint kind of a low-light enhancer


@dataclasses.dataclass(frozen=True)
class EnhanceModelConfig:
    """``model:`` of ``configs/isp/train_lowlight.yaml``.

    Attributes:
        width: channels of the illumination network.
        factor: the illumination is predicted at 1 / factor of the resolution.
        l_min: lowest illumination (the largest gain is 1 / l_min).
        denoise_width: channels of the residual denoiser (0: none, Wang et al.'s network).
        denoise_depth: its 3 x 3 convolutions at half resolution (>= 2).
    """

    width: int = 16
    factor: int = 4
    l_min: float = 0.03
    denoise_width: int = 32
    denoise_depth: int = 6

    def __post_init__(self) -> None:
        if self.width < 1 or self.factor < 1 or self.denoise_width < 0:
            raise ValueError(f"width, factor >= 1 and denoise_width >= 0, got {self}")
        if self.denoise_width and self.denoise_depth < 2:
            raise ValueError(f"denoise_depth must be >= 2, got {self.denoise_depth}")
        if not 0 < self.l_min < 1:
            raise ValueError(f"l_min must be in (0, 1), got {self.l_min}")


def _check_image(x: torch.Tensor) -> None:
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"srgb must be (B, 3, H, W), got {tuple(x.shape)}")


class ResidualDenoiser(nn.Module):
    """``forward(image (B, 3, H, W), illum (B, 3, H, W)) -> image + residual``: convolutions
    at half resolution (pixel unshuffle: (B, 6, H, W) -> (B, 24, H/2, W/2); odd sides are
    padded by replication and cropped back), dilations 1, 2, 4, ... in the middle layers."""

    def __init__(self, width: int = 32, depth: int = 6) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(24, width, 3, padding=1), nn.ReLU(inplace=True)]
        for i in range(depth - 2):
            d = 2 ** (i % 3)
            layers += [nn.Conv2d(width, width, 3, padding=d, dilation=d), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(width, 12, 3, padding=1))
        nn.init.zeros_(layers[-1].weight)
        nn.init.zeros_(layers[-1].bias)
        self.body = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor, illum: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        x = torch.cat([image, illum], 1)
        x = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
        residual = F.pixel_shuffle(self.body(F.pixel_unshuffle(x, 2)), 2)  # (B, 3, H', W')
        return image + residual[..., :h, :w]


class IlluminationNet(nn.Module):
    """``forward(srgb (B, 3, H, W) in [0, 1]) -> (enhanced (B, 3, H, W) in [0, 1],
    illumination (B, 3, H, W))``.

    Example:
        >>> out, illum = IlluminationNet(EnhanceModelConfig(width=8))(torch.rand(1, 3, 32, 48))
        >>> out.shape, bool(illum.min() >= 0.03)
        (torch.Size([1, 3, 32, 48]), True)
    """

    def __init__(self, cfg: EnhanceModelConfig = EnhanceModelConfig()) -> None:
        super().__init__()
        self.cfg, w = cfg, cfg.width
        self.local = nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(w, w, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(w, w, 3, padding=2, dilation=2), nn.LeakyReLU(0.2),
        )  # fmt: skip
        self.global_fc = nn.Sequential(nn.Linear(w, w), nn.LeakyReLU(0.2))
        self.head = nn.Conv2d(2 * w, 3, 3, padding=1)
        self.log_eps = nn.Parameter(torch.tensor(-7.0))  # guided-filter ridge
        self.denoiser = (
            ResidualDenoiser(cfg.denoise_width, cfg.denoise_depth) if cfg.denoise_width else None
        )

    def illumination(self, srgb: torch.Tensor) -> torch.Tensor:
        """The full-resolution illumination map (B, 3, H, W) in [l_min, 1]."""
        _check_image(srgb)
        small = F.avg_pool2d(srgb, self.cfg.factor, ceil_mode=True)  # (B, 3, H/f, W/f)
        feat = self.local(small)
        ctx = self.global_fc(feat.mean(dim=(2, 3)))[:, :, None, None].expand_as(feat)
        # illumination at low resolution, at least the brightest channel (so S <= 1)
        illum_lr = torch.sigmoid(self.head(torch.cat([feat, ctx], 1)))
        illum_lr = torch.maximum(illum_lr, small.amax(1, keepdim=True))
        illum = guided_upsample(small, illum_lr, srgb, radius=1, eps=self.log_eps.exp())
        return illum.clamp(self.cfg.l_min, 1.0)

    def forward(self, srgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        illum = self.illumination(srgb)
        out = srgb / illum
        if self.denoiser is not None:
            out = self.denoiser(out.clamp(0.0, 1.0), illum)
        return out.clamp(0.0, 1.0), illum


@dataclasses.dataclass(frozen=True)
class EnhanceLoss:
    """``loss:`` weights of :func:`enhance_loss` (the L1 term has weight 1).

    Attributes:
        ssim: weight of ``1 - SSIM`` of the output.
        smooth: weight of Wang et al.'s illumination smoothness.
        colour: weight of the mean colour angle (rad) between output and target.
    """

    ssim: float = 0.5
    smooth: float = 5e-4
    colour: float = 0.2

    def __post_init__(self) -> None:
        if min(self.ssim, self.smooth, self.colour) < 0:
            raise ValueError(f"loss weights must be >= 0, got {self}")


def enhance_loss(
    out: torch.Tensor,
    illum: torch.Tensor,
    srgb: torch.Tensor,
    target: torch.Tensor,
    weights: EnhanceLoss = EnhanceLoss(),
) -> tuple[torch.Tensor, dict[str, float]]:
    """The training loss of ``out`` (B, 3, H, W) against ``target`` and its parts (for the
    logs): L1 + ``ssim`` (1 - SSIM) + ``smooth`` x the illumination's gradients weighted by
    the inverse gradients of the input ``srgb`` (Wang et al.'s smoothness) + ``colour`` x the
    mean angle (rad) between output and target colour vectors."""
    recon = (out - target).abs().mean()
    structure = 1.0 - ssim(out, target).mean()
    smooth = out.new_zeros(())
    for dim in (2, 3):
        d_illum = torch.diff(illum, dim=dim).abs()
        d_input = torch.diff(srgb.mean(1, keepdim=True), dim=dim).abs()
        smooth = smooth + (d_illum / (d_input + 0.01)).mean()
    cos = F.cosine_similarity(out + 1e-4, target + 1e-4, dim=1).clamp(-0.999999, 0.999999)
    colour = torch.acos(cos).mean()
    w = weights
    total = recon + w.ssim * structure + w.smooth * smooth + w.colour * colour
    parts = {"l1": recon.item(), "ssim": 1.0 - structure.item(), "colour_rad": colour.item()}
    return total, parts


def load_enhancer(path: str | Path) -> IlluminationNet:
    """The enhancer of a weight file (kind ``isp_lowlight``: a ``perception3d train`` output of
    ``task: lowlight``), in eval mode.

    Raises:
        FileNotFoundError: the file is missing.
        CheckpointError: not an enhancer file, or its model config does not load.
    """
    ckpt, cfg = read_model_checkpoint(
        path, ENHANCE_KIND, EnhanceModelConfig, "the low-light enhancer"
    )
    model = IlluminationNet(cfg)
    model.load_state_dict(ckpt["model"])
    return model.eval()


@torch.inference_mode()
def enhance(model: IlluminationNet, srgb: torch.Tensor) -> torch.Tensor:
    """The enhanced image (B, 3, H, W) in [0, 1] of ``srgb`` (B, 3, H, W) 8-bit sRGB in [0, 1]."""
    return model(srgb)[0]
