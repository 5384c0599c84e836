"""PointNet classification of point clouds, with an optional input T-Net (Qi et al., CVPR 2017).

A shared per-point MLP (1x1 convolutions) and a symmetric max-pool make the output invariant
to the order of the points; the T-Net regresses a 3x3 matrix from the cloud and applies it to
the points first, so the network can undo a rotation of its input. The encoder is the
detectors' :class:`perception3d.models.pointnet.PointNet`, with widths smaller than the
paper's (64-128-1024 and T-Net 512-256) so the model trains on a CPU in minutes.
"""

from __future__ import annotations

import torch
from torch import nn

from perception3d.models.pointnet import PointNet


class PointNetClassifier(nn.Module):
    """Classify (B, N, 3) point clouds into ``num_classes``.

    Args:
        num_classes: output classes.
        input_transform: use the input T-Net.
        widths: per-point MLP widths (of the encoder and of its T-Net); the last one is the
            global feature size.
        dropout: before the last layer of the head.

    Example:
        >>> net = PointNetClassifier(4).eval()
        >>> net(torch.rand(2, 100, 3)).shape
        torch.Size([2, 4])
    """

    def __init__(
        self,
        num_classes: int,
        input_transform: bool = True,
        widths: tuple[int, ...] = (64, 128, 256),
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        hidden = widths[-1] // 2
        self.encoder = PointNet(
            3,
            widths,
            input_transform=input_transform,
            tnet_widths=widths,
            tnet_hidden=(hidden,),
        )
        self.head = nn.Sequential(
            nn.Linear(widths[-1], hidden, bias=False),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """points (B, N, 3) float -> class logits (B, num_classes)."""
        if points.ndim != 3 or points.shape[2] != 3:
            raise ValueError(f"points must be (B, N, 3), got {tuple(points.shape)}")
        feature, _, _ = self.encoder(points)  # (B, C): max over points, order invariant
        return self.head(feature)
