"""PointNet classification of point clouds, with an optional input T-Net (Qi et al., CVPR 2017).

A shared per-point MLP (1x1 convolutions) and a symmetric max-pool make the output invariant
to the order of the points; the T-Net regresses a 3x3 matrix from the cloud and applies it to
the points first, so the network can undo a rotation of its input. Widths are smaller than
the paper's (64-128-1024) so the model trains on a CPU in minutes.

This module is the ObjectNet3D workstream's stand-in; when the detectors' PointNet
(``perception3d/models/pointnet.py``) lands, the classifier is to be built on its encoder.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn


def _shared_mlp(channels: tuple[int, ...]) -> nn.Sequential:
    """Per-point MLP: (B, C_in, N) -> (B, C_out, N), 1x1 conv + BN + ReLU per layer."""
    layers: list[nn.Module] = []
    for c_in, c_out in itertools.pairwise(channels):
        layers += [nn.Conv1d(c_in, c_out, 1, bias=False), nn.BatchNorm1d(c_out), nn.ReLU()]
    return nn.Sequential(*layers)


class TNet(nn.Module):
    """Regress a (k, k) transform from a point set; starts as the identity.

    Args:
        k: dimension of the points (3 for xyz).
        widths: per-point MLP widths before the max-pool.
    """

    def __init__(self, k: int = 3, widths: tuple[int, ...] = (64, 128, 256)) -> None:
        super().__init__()
        self.k = k
        self.mlp = _shared_mlp((k, *widths))
        hidden = widths[-1] // 2
        self.head = nn.Sequential(
            nn.Linear(widths[-1], hidden, bias=False),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Linear(hidden, k * k),
        )
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """points (B, k, N) -> transforms (B, k, k), identity plus a learned residual."""
        feature = self.mlp(points).amax(dim=2)  # (B, C): symmetric in the points
        eye = torch.eye(self.k, dtype=points.dtype, device=points.device)
        return self.head(feature).view(-1, self.k, self.k) + eye


class PointNetClassifier(nn.Module):
    """Classify (B, N, 3) point clouds into ``num_classes``.

    Args:
        num_classes: output classes.
        input_transform: use the input T-Net.
        widths: per-point MLP widths; the last one is the global feature size.
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
        self.tnet = TNet(3, widths) if input_transform else None
        self.mlp = _shared_mlp((3, *widths))
        hidden = widths[-1] // 2
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
        x = points.transpose(1, 2)  # from (B, N, 3) to (B, 3, N)
        if self.tnet is not None:
            x = torch.bmm(self.tnet(x), x)  # (B, 3, 3) @ (B, 3, N)
        feature = self.mlp(x).amax(dim=2)  # (B, C): max over points, order invariant
        return self.head(feature)
