"""Anchor head: per feature-map cell and anchor, class logits, box deltas and direction
logits (SECOND / PointPillars single-stage head)."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn


class HeadOutput(NamedTuple):
    """Raw head outputs, anchors in the order of :func:`perception3d.models.anchors.make_anchors`.

    Attributes:
        cls_logits: (B, A, num_classes) sigmoid logits.
        box_deltas: (B, A, 7) encoded boxes (see :mod:`perception3d.models.box_coder`).
        dir_logits: (B, A, 2) direction-bin logits.
    """

    cls_logits: torch.Tensor
    box_deltas: torch.Tensor
    dir_logits: torch.Tensor


class AnchorHead(nn.Module):
    """1x1 convolutions from the neck's features to per-anchor outputs.

    Args:
        in_channels: channels of the feature map.
        anchors_per_cell: K, anchors at each cell.
        num_classes: classifier outputs per anchor.
        code_size: box code length (7).
        prior_prob: initial foreground probability of the classifier (RetinaNet's focal-loss
            initialisation, Lin et al., ICCV 2017: bias = -log((1 - p) / p) with p = 0.01).
    """

    def __init__(
        self,
        in_channels: int,
        anchors_per_cell: int,
        num_classes: int,
        code_size: int = 7,
        prior_prob: float = 0.01,
    ) -> None:
        super().__init__()
        self.k, self.num_classes, self.code_size = anchors_per_cell, num_classes, code_size
        self.cls = nn.Conv2d(in_channels, anchors_per_cell * num_classes, 1)
        self.box = nn.Conv2d(in_channels, anchors_per_cell * code_size, 1)
        self.dir = nn.Conv2d(in_channels, anchors_per_cell * 2, 1)
        nn.init.constant_(self.cls.bias, -math.log((1 - prior_prob) / prior_prob))
        nn.init.normal_(self.box.weight, std=0.001)
        nn.init.zeros_(self.box.bias)

    def _per_anchor(self, x: torch.Tensor, width: int) -> torch.Tensor:
        b, _, h, w = x.shape
        # from (B, K * width, H, W) to (B, H, W, K, width) to (B, H * W * K, width)
        return x.view(b, self.k, width, h, w).permute(0, 3, 4, 1, 2).reshape(b, -1, width)

    def forward(self, features: torch.Tensor) -> HeadOutput:
        return HeadOutput(
            cls_logits=self._per_anchor(self.cls(features), self.num_classes),
            box_deltas=self._per_anchor(self.box(features), self.code_size),
            dir_logits=self._per_anchor(self.dir(features), 2),
        )
