"""2D bird's-eye-view backbone and its FPN-style neck (SECOND / PointPillars): blocks of 3x3
convolutions, each starting with a strided one; every block's output is upsampled by a
transposed convolution to a common stride and the results are concatenated."""

from __future__ import annotations

import torch
from torch import nn

from perception3d.models.config import BackboneConfig


def _conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out, eps=1e-3),
        nn.ReLU(inplace=True),
    ]


class BEVBackbone(nn.Module):
    """``forward((B, C_in, H, W))`` -> (B, sum(upsample_channels), H / s, W / s), s the
    config's ``output_stride``.

    Args:
        in_channels: channels of the BEV map.
        cfg: block layout.
    """

    def __init__(self, in_channels: int, cfg: BackboneConfig) -> None:
        super().__init__()
        blocks, ups = [], []
        c_prev = in_channels
        for n, s, c, us, uc in zip(
            cfg.layers, cfg.strides, cfg.channels, cfg.upsample_strides, cfg.upsample_channels
        ):
            layers = _conv_bn_relu(c_prev, c, s)
            for _ in range(n):
                layers += _conv_bn_relu(c, c)
            blocks.append(nn.Sequential(*layers))
            ups.append(
                nn.Sequential(
                    nn.ConvTranspose2d(c, uc, us, stride=us, bias=False),
                    nn.BatchNorm2d(uc, eps=1e-3),
                    nn.ReLU(inplace=True),
                )
            )
            c_prev = c
        self.blocks = nn.ModuleList(blocks)
        self.upsample = nn.ModuleList(ups)
        self.out_channels = cfg.out_channels

    def forward(self, bev: torch.Tensor) -> torch.Tensor:
        outs = []
        x = bev
        for block, up in zip(self.blocks, self.upsample):
            x = block(x)
            outs.append(up(x))
        return torch.cat(outs, dim=1)
