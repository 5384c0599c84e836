"""A compact image semantic segmentation network for PointPainting (``SegNet``), the mapping
from the synthetic scenes' semantic ids to its classes, and its weight files.

The network is a small U-Net (Ronneberger et al., MICCAI 2015): three stride-2 encoder stages
and a decoder with skip connections, batch norm + ReLU, about 0.3 M parameters at width 16;
or (``encoder="mobilenet_v2"``) the ImageNet MobileNetV2 features at strides 2-16
(:mod:`perception3d.models.mobilenet_v2`, optionally frozen) under the same kind of decoder. It
runs on images downscaled by ``input_scale`` (0.5: KITTI's 375 x 1242 -> 188 x 621) and
returns class logits upsampled back to the input image size, so a pixel of ``image_2`` always
has a score vector.

Classes (``SEG_CLASSES``): ``background``, ``Car``, ``Pedestrian``, ``Cyclist``. The synthetic
ids of :mod:`perception3d.sim.semantics` map as: car and van -> Car (KITTI's Van is an
"ignore" for the Car metric, so painting vans as cars costs no false positives there), pedestrian
-> Pedestrian, cyclist (rider and bicycle) -> Cyclist, everything else (road, buildings, truck,
sky, ...) -> background.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from perception3d.checkpoint import (
    CheckpointError,
    make_checkpoint,
    read_checkpoint,
    write_checkpoint,
)
from perception3d.models.mobilenet_v2 import MobileNetV2Features
from perception3d.sim.semantics import SEMANTIC_CLASSES, SEMANTIC_ID

SEG_CLASSES: tuple[str, ...] = ("background", "Car", "Pedestrian", "Cyclist")

# synthetic semantic name -> index into SEG_CLASSES (names not listed: background)
_SEMANTIC_TO_SEG = {"car": 1, "van": 1, "pedestrian": 2, "cyclist": 3}


def semantic_to_seg_lut() -> np.ndarray:
    """(len(SEMANTIC_CLASSES),) uint8 lookup table: synthetic semantic id -> SEG_CLASSES index.

    Example:
        >>> lut = semantic_to_seg_lut()
        >>> [SEG_CLASSES[lut[SEMANTIC_ID[n]]] for n in ("road", "car", "van", "truck", "cyclist")]
        ['background', 'Car', 'Car', 'background', 'Cyclist']
    """
    lut = np.zeros(len(SEMANTIC_CLASSES), np.uint8)
    for name, k in _SEMANTIC_TO_SEG.items():
        lut[SEMANTIC_ID[name]] = k
    return lut


def _block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class SegNet(nn.Module):
    """Small U-Net: sRGB image -> per-pixel class logits.

    Args:
        num_classes: output classes (``len(SEG_CLASSES)``).
        width: channels of the first stage; stages have width x (1, 2, 4, 6).
        input_scale: the image is resized by this factor before the network (logits are
            resized back to the input size).
        encoder: ``unet`` (its own stages, from scratch) or ``mobilenet_v2`` (MobileNetV2
            features at strides 2, 4, 8, 16 and a decoder of widths 4w, 2w, w; call
            :meth:`load_imagenet` for the ImageNet weights).
        freeze_encoder: keep the mobilenet_v2 encoder's weights and statistics fixed.

    ``forward(image_srgb (B, 3, H, W) float32 in [0, 1]) -> logits (B, num_classes, H, W)``.

    Example:
        >>> net = SegNet().eval()
        >>> net(torch.rand(1, 3, 37, 90)).shape
        torch.Size([1, 4, 37, 90])
    """

    def __init__(
        self,
        num_classes: int = len(SEG_CLASSES),
        width: int = 16,
        input_scale=0.5,
        encoder: str = "unet",
        freeze_encoder: bool = False,
    ):
        super().__init__()
        if not 0 < input_scale <= 1:
            raise ValueError(f"input_scale must be in (0, 1], got {input_scale}")
        self.num_classes, self.width, self.input_scale = num_classes, width, float(input_scale)
        self.encoder_name, self.freeze_encoder = encoder, bool(freeze_encoder)
        c1, c2, c3, c4 = width, 2 * width, 4 * width, 6 * width
        if encoder == "mobilenet_v2":
            self.encoder = MobileNetV2Features(frozen=freeze_encoder)
            m1, m2, m3, m4 = MobileNetV2Features.channels
            self.dec3 = _block(m4 + m3, c3)  # stride 8
            self.dec2 = _block(c3 + m2, c2)  # stride 4
            self.dec1 = _block(c2 + m1, c1)  # stride 2
            self.classifier = nn.Conv2d(c1, num_classes, 1)
            return
        if encoder != "unet":
            raise ValueError(f"encoder must be 'unet' or 'mobilenet_v2', got {encoder!r}")
        self.enc1 = _block(3, c1)
        self.enc2 = _block(c1, c2, 2)
        self.enc3 = _block(c2, c3, 2)
        self.enc4 = _block(c3, c4, 2)
        self.dec3 = _block(c4 + c3, c3)
        self.dec2 = _block(c3 + c2, c2)
        self.dec1 = _block(c2 + c1, c1)
        self.classifier = nn.Conv2d(c1, num_classes, 1)
        # per-channel normalization of sRGB inputs (fixed, not learned)
        self.register_buffer("mean", torch.tensor([0.4, 0.4, 0.4]).view(1, 3, 1, 1), False)
        self.register_buffer("std", torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1), False)

    def load_imagenet(self) -> None:
        """Initialise a ``mobilenet_v2`` encoder with the ImageNet weights."""
        if self.encoder_name != "mobilenet_v2":
            raise ValueError(
                f"only the mobilenet_v2 encoder has ImageNet weights, not {self.encoder_name!r}"
            )
        self.encoder.load_imagenet()

    def _forward_mobilenet(self, image_srgb: torch.Tensor) -> torch.Tensor:
        h, w = image_srgb.shape[-2:]
        pad_h, pad_w = (-h) % 16, (-w) % 16  # four stride-2 stages
        x = F.pad(image_srgb, (0, pad_w, 0, pad_h), mode="replicate")
        return self.decode_features(self.encoder(x))[..., :h, :w]

    def decode_features(self, feats) -> torch.Tensor:
        """Logits at the input resolution (the encoder's stride 1) from the ``mobilenet_v2``
        encoder's features at strides 2, 4, 8, 16 (of an input in multiples of 16 px)."""
        e1, e2, e3, e4 = feats
        d3 = self.dec3(torch.cat([F.interpolate(e4, size=e3.shape[-2:]), e3], 1))
        d2 = self.dec2(torch.cat([F.interpolate(d3, size=e2.shape[-2:]), e2], 1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, size=e1.shape[-2:]), e1], 1))
        logits = self.classifier(d1)  # (B, C, H/2, W/2)
        return F.interpolate(logits, scale_factor=2.0, mode="bilinear", align_corners=False)

    def forward_scaled(self, image_srgb: torch.Tensor) -> torch.Tensor:
        """Logits at the network's own resolution (the input already resized)."""
        if self.encoder_name == "mobilenet_v2":
            return self._forward_mobilenet(image_srgb)
        h, w = image_srgb.shape[-2:]
        pad_h, pad_w = (-h) % 8, (-w) % 8  # three stride-2 stages
        x = F.pad((image_srgb - self.mean) / self.std, (0, pad_w, 0, pad_h), mode="replicate")
        e1 = self.enc1(x)  # (B, c1, H, W)
        e2 = self.enc2(e1)  # (B, c2, H/2, W/2)
        e3 = self.enc3(e2)  # (B, c3, H/4, W/4)
        e4 = self.enc4(e3)  # (B, c4, H/8, W/8)
        d3 = self.dec3(torch.cat([F.interpolate(e4, size=e3.shape[-2:]), e3], 1))
        d2 = self.dec2(torch.cat([F.interpolate(d3, size=e2.shape[-2:]), e2], 1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, size=e1.shape[-2:]), e1], 1))
        return self.classifier(d1)[..., :h, :w]

    def forward(self, image_srgb: torch.Tensor) -> torch.Tensor:
        if image_srgb.ndim != 4 or image_srgb.shape[1] != 3:
            raise ValueError(f"image_srgb must be (B, 3, H, W), got {tuple(image_srgb.shape)}")
        h, w = image_srgb.shape[-2:]
        x = image_srgb
        if self.input_scale != 1.0:
            x = F.interpolate(x, size=scaled_size((h, w), self.input_scale), mode="area")
        logits = self.forward_scaled(x)
        if logits.shape[-2:] != (h, w):
            logits = F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)
        return logits


def scaled_size(hw: tuple[int, int], scale: float) -> tuple[int, int]:
    """(H, W) of an image resized by ``scale`` (rounded, at least 1).

    Example:
        >>> scaled_size((375, 1242), 0.5)
        (188, 621)
    """
    return max(1, round(hw[0] * scale)), max(1, round(hw[1] * scale))


@torch.inference_mode()
def predict_scores(net: SegNet, image_srgb: np.ndarray) -> np.ndarray:
    """Softmax class scores of one image.

    Args:
        net: the network (put in eval mode by the caller).
        image_srgb: (3, H, W) float32 sRGB in [0, 1].

    Returns:
        (C, H, W) float32 scores summing to 1 over C.
    """
    if image_srgb.ndim != 3 or image_srgb.shape[0] != 3:
        raise ValueError(f"image_srgb must be (3, H, W), got {image_srgb.shape}")
    logits = net(torch.from_numpy(np.ascontiguousarray(image_srgb, np.float32))[None])
    return torch.softmax(logits[0], 0).numpy()


def save_segnet(net: SegNet, path: str | Path, info: dict | None = None) -> Path:
    """Write the network's weights as a ``segnet`` checkpoint (weights only; ``info`` in its
    ``extra``) atomically."""
    model = {"width": net.width, "input_scale": net.input_scale, "encoder": net.encoder_name,
             "freeze_encoder": net.freeze_encoder}  # fmt: skip
    ckpt = make_checkpoint("segnet", net.state_dict(), {"task": "segnet", "model": model},
                           extra=info)  # fmt: skip
    return write_checkpoint(path, ckpt)


def load_segnet(path: str | Path) -> SegNet:
    """The :class:`SegNet` of a ``segnet`` checkpoint (a training run's or
    :func:`save_segnet`'s), in eval mode.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a SegNet checkpoint (another kind is named).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"segmentation weights not found: {path} (no such file)")
    try:
        ckpt = read_checkpoint(path, "segnet")
    except CheckpointError as exc:
        raise CheckpointError(f"not a SegNet file: {exc}") from exc
    model = ckpt["config"].get("model", {})
    net = SegNet(len(SEG_CLASSES), int(model.get("width", 16)),
                 float(model.get("input_scale", 0.5)), str(model.get("encoder", "unet")),
                 bool(model.get("freeze_encoder", False)))  # fmt: skip
    net.load_state_dict(ckpt["model"])
    return net.eval()
