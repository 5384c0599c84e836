"""Illumination-map low-light enhancer, after Wang, Zhang, Fu, Shen, Zheng, Jia,
"Underexposed Photo Enhancement Using Deep Illumination Estimation", CVPR 2019.

The image is modelled as ``I = S * L`` (Retinex): a small network predicts the illumination
``L`` (3 channels, in [l_min, 1]) at a quarter of the resolution from the downsampled image and
a global context vector; a fast guided filter (Wu et al. 2018, :mod:`perception3d.isp.guided`)
brings it to full resolution along the edges of the input; the output is ``S = I / L``. Wang
et al.'s losses: reconstruction, smoothness of ``L`` where the image is smooth, colour
(angle between output and target colours) (:func:`enhance_loss`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from perception3d.isp.guided import guided_upsample


class IlluminationNet(nn.Module):
    """``forward(srgb (B, 3, H, W)) -> (enhanced (B, 3, H, W), illumination (B, 3, H, W))``.

    Example:
        >>> out, illum = IlluminationNet(width=8)(torch.rand(1, 3, 32, 48))
        >>> out.shape, bool(illum.min() >= 0.05)
        (torch.Size([1, 3, 32, 48]), True)
    """

    def __init__(self, width: int = 16, factor: int = 4, l_min: float = 0.05) -> None:
        super().__init__()
        self.factor, self.l_min = factor, l_min
        self.local = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, width, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, width, 3, padding=2, dilation=2), nn.LeakyReLU(0.2),
        )  # fmt: skip
        self.global_fc = nn.Sequential(nn.Linear(width, width), nn.LeakyReLU(0.2))
        self.head = nn.Conv2d(2 * width, 3, 3, padding=1)
        self.log_eps = nn.Parameter(torch.tensor(-7.0))  # guided-filter ridge

    def forward(self, srgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if srgb.dim() != 4 or srgb.shape[1] != 3:
            raise ValueError(f"srgb must be (B, 3, H, W), got {tuple(srgb.shape)}")
        small = F.avg_pool2d(srgb, self.factor, ceil_mode=True)  # (B, 3, H/f, W/f)
        feat = self.local(small)
        ctx = self.global_fc(feat.mean(dim=(2, 3)))[:, :, None, None].expand_as(feat)
        # illumination at low resolution, at least the brightest channel (so S <= 1)
        illum_lr = torch.sigmoid(self.head(torch.cat([feat, ctx], 1)))
        illum_lr = torch.maximum(illum_lr, small.amax(1, keepdim=True))
        illum = guided_upsample(small, illum_lr, srgb, radius=1, eps=self.log_eps.exp())
        illum = illum.clamp(self.l_min, 1.0)
        return (srgb / illum).clamp(0.0, 1.0), illum


def enhance_loss(out: torch.Tensor, illum: torch.Tensor, srgb: torch.Tensor,
                 target: torch.Tensor, w_smooth: float = 0.05,
                 w_colour: float = 0.2) -> torch.Tensor:  # fmt: skip
    """Wang et al.'s loss: L2 reconstruction + ``w_smooth`` x illumination gradients weighted
    by the inverse input gradients + ``w_colour`` x mean angle (rad) between output and target
    colour vectors."""
    recon = F.mse_loss(out, target)
    smooth = 0.0
    for dim in (2, 3):
        d_illum = torch.diff(illum, dim=dim).abs()
        d_input = torch.diff(srgb.mean(1, keepdim=True), dim=dim).abs()
        smooth = smooth + (d_illum / (d_input + 0.01)).mean()
    cos = F.cosine_similarity(out + 1e-4, target + 1e-4, dim=1).clamp(-0.999999, 0.999999)
    return recon + w_smooth * smooth * 1e-2 + w_colour * torch.acos(cos).mean()
