"""A compact image network estimating (azimuth, elevation, theta) of an object in a box crop.

Viewpoint as classification into angle bins with class-specific heads, as Render for CNN
(Su et al., ICCV 2015) and SubCNN (Xiang et al., WACV 2017) do on PASCAL3D+/ObjectNet3D:
bins cope with the near-symmetric shapes whose posterior has two modes, where a regressed
mean would fall between them. The training target is a soft label (a circular Gaussian over
the bins around the true angle, in the spirit of Render for CNN's geometric-aware loss); the
decoded angle refines the winning bin with its two neighbours.

All three angles use ``num_bins`` bins over [-pi, pi) (elevation only fills part of them).
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn


def _stage(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
    )


class ViewpointNet(nn.Module):
    """(B, 3, S, S) sRGB crops in [0, 1] + class indices -> angle-bin logits (B, 3, num_bins).

    Args:
        num_classes: classes, one head each.
        num_bins: bins per angle over [-pi, pi).
        widths: channels of the stride-2 stages.

    Example:
        >>> net = ViewpointNet(num_classes=2).eval()
        >>> net(torch.rand(4, 3, 64, 64), torch.tensor([0, 1, 1, 0])).shape
        torch.Size([4, 3, 36])
    """

    def __init__(
        self, num_classes: int, num_bins: int = 36, widths: tuple[int, ...] = (32, 64, 128, 256)
    ) -> None:
        super().__init__()
        self.num_classes, self.num_bins = num_classes, num_bins
        channels = (3, *widths)
        self.backbone = nn.Sequential(*(_stage(a, b) for a, b in itertools.pairwise(channels)))
        self.head = nn.Sequential(
            nn.Linear(widths[-1], 256),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(256, num_classes * 3 * num_bins),
        )

    def forward(self, crops_srgb: torch.Tensor, class_index: torch.Tensor) -> torch.Tensor:
        if crops_srgb.ndim != 4 or crops_srgb.shape[1] != 3:
            raise ValueError(f"crops_srgb must be (B, 3, S, S), got {tuple(crops_srgb.shape)}")
        feature = self.backbone(crops_srgb - 0.5).mean(dim=(2, 3))  # (B, C)
        logits = self.head(feature).view(-1, self.num_classes, 3, self.num_bins)
        return logits[torch.arange(len(logits), device=logits.device), class_index]


def bin_centers(num_bins: int) -> torch.Tensor:
    """(num_bins,) centres of bins tiling [-pi, pi)."""
    width = 2 * math.pi / num_bins
    return -math.pi + width * (torch.arange(num_bins, dtype=torch.float64) + 0.5)


def _wrap(angle: torch.Tensor) -> torch.Tensor:
    return torch.remainder(angle + math.pi, 2 * math.pi) - math.pi


def soft_targets(angles_rad: torch.Tensor, num_bins: int, sigma_bins: float) -> torch.Tensor:
    """(B, 3) angles -> (B, 3, num_bins) circular Gaussian label distributions."""
    width = 2 * math.pi / num_bins
    diff = _wrap(bin_centers(num_bins).to(angles_rad) - angles_rad[..., None]) / width
    weight = torch.exp(-0.5 * (diff / sigma_bins) ** 2)
    return weight / weight.sum(-1, keepdim=True)


def viewpoint_loss(logits: torch.Tensor, angles_rad: torch.Tensor, sigma_bins: float = 1.0):
    """Cross-entropy against soft targets, averaged over the batch and the three angles."""
    target = soft_targets(angles_rad, logits.shape[-1], sigma_bins).to(logits.dtype)
    return -(target * F.log_softmax(logits, dim=-1)).sum(-1).mean()


def decode_angles(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 3, num_bins) logits -> angles (B, 3) radians in [-pi, pi) and a confidence (B,).

    The angle is the probability-weighted mean of the winning bin and its two neighbours
    (circular offsets); the confidence is the product of the three winning-bin probabilities
    (their sums over the same three bins).

    Example:
        >>> logits = torch.full((1, 3, 36), -20.0); logits[0, :, 20] = 0.0
        >>> angles, conf = decode_angles(logits)
        >>> [round(math.degrees(float(a))) for a in angles[0]], round(float(conf), 3)
        ([25, 25, 25], 1.0)
    """
    num_bins = logits.shape[-1]
    prob = logits.softmax(-1).double()
    best = prob.argmax(-1)  # (B, 3)
    offsets = torch.tensor([-1, 0, 1], device=logits.device)
    idx = torch.remainder(best[..., None] + offsets, num_bins)  # (B, 3, 3 neighbours)
    weight = prob.gather(-1, idx)
    width = 2 * math.pi / num_bins
    centre = bin_centers(num_bins).to(prob.device)[best]
    angle = centre + (weight * offsets.to(prob) * width).sum(-1) / weight.sum(-1)
    return _wrap(angle), weight.sum(-1).prod(-1)
