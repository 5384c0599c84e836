"""A compact single-stage 2D detector for ``image_2``: CenterNet-style (Zhou et al., "Objects
as Points", 2019) with TTFNet's elliptical Gaussian targets (Liu et al., AAAI 2020).

The image is resized to a fixed ``input_hw`` (192 x 640 by default: about half of KITTI's
375 x 1242, so a moderate object, >= 25 px tall, is >= 12 px tall on the network's input and
>= 3 cells on its stride-4 output). A small conv encoder (strides 2, 4, 8, 16) and a
top-down path with lateral connections give stride-4 features; one head predicts per class a
centre heatmap, and per cell the box size (log of width and height in output cells) and the
sub-cell offset of the centre. Peaks of the heatmap (3 x 3 max-pool) are the detections.

Two encoders: ``small`` (3x3 conv + BN + ReLU stages trained from scratch) and
``mobilenet_v2`` (:mod:`perception3d.models.mobilenet_v2`: ImageNet-pretrained features at
strides 4, 8, 16, optionally frozen, so that the detector trained on rendered images sees real
ones through features learnt on real photographs).

Boxes are ``[x1, y1, x2, y2]`` pixels; ``boxes_img`` are in the original image, ``boxes_in``
on the resized network input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from perception3d.models.mobilenet_v2 import MobileNetV2Features

STRIDE = 4
BACKBONES = ("small", "mobilenet_v2")


def _conv(c_in: int, c_out: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


@dataclass(frozen=True)
class Detections2D:
    """One image's detections.

    Attributes:
        boxes_img: (K, 4) float32 ``[x1, y1, x2, y2]`` image pixels.
        scores: (K,) float32 in [0, 1] (heatmap peak value).
        labels: (K,) int64 class index into the detector's ``classes``.
    """

    boxes_img: np.ndarray
    scores: np.ndarray
    labels: np.ndarray


class CenterNet2D(nn.Module):
    """CenterNet-style detector.

    Args:
        classes: class names (heatmap channels, in order).
        channels: encoder widths at strides 2, 4, 8, 16.
        neck_channels: width of the stride-8 merge of the top-down path.
        head_channels: width of the stride-4 features and head.
        input_hw: (H, W) images are resized to before the network (:func:`detect_2d`).
        score_threshold: minimum peak value kept by :func:`detect_2d`.
        max_detections: top-K peaks per image in :func:`detect_2d`.
        backbone: ``small`` (``channels`` wide, from scratch) or ``mobilenet_v2`` (its own
            widths 24/32/96 at strides 4/8/16; ``channels`` unused).
        freeze_backbone: keep the ``mobilenet_v2`` encoder's weights and batch-norm
            statistics fixed (call :meth:`load_imagenet` first).

    ``forward(images (B, 3, H_in, W_in) sRGB in [0, 1])`` returns a dict of raw head outputs at
    stride 4: ``heatmap`` (B, C, H/4, W/4) logits, ``size`` (B, 2, H/4, W/4) log of
    (width, height) in output cells, ``offset`` (B, 2, H/4, W/4) centre offset in cells.
    """

    def __init__(
        self,
        classes: Sequence[str],
        channels: Sequence[int] = (16, 32, 64, 128),
        neck_channels: int = 64,
        head_channels: int = 32,
        input_hw: tuple[int, int] = (192, 640),
        score_threshold: float = 0.05,
        max_detections: int = 50,
        backbone: str = "small",
        freeze_backbone: bool = False,
    ) -> None:
        super().__init__()
        self.input_hw = tuple(input_hw)
        self.score_threshold, self.max_detections = score_threshold, max_detections
        if len(channels) != 4:
            raise ValueError(f"channels must give 4 widths (strides 2..16), got {channels}")
        self.classes = tuple(classes)
        self.backbone = backbone
        if backbone == "small":
            c1, c2, c3, c4 = channels
            self.stage1 = _conv(3, c1, 2)
            self.stage2 = nn.Sequential(_conv(c1, c2, 2), _conv(c2, c2))
            self.stage3 = nn.Sequential(_conv(c2, c3, 2), _conv(c3, c3))
            self.stage4 = nn.Sequential(_conv(c3, c4, 2), _conv(c4, c4))
        elif backbone == "mobilenet_v2":
            self.encoder = MobileNetV2Features(frozen=freeze_backbone)
            _, c2, c3, c4 = MobileNetV2Features.channels
        else:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {backbone!r}")
        self.top = _conv(c4, neck_channels, kernel=1)
        self.lateral3 = _conv(c3, neck_channels, kernel=1)
        self.merge3 = _conv(neck_channels, neck_channels)
        self.reduce = _conv(neck_channels, head_channels, kernel=1)
        self.lateral2 = _conv(c2, head_channels, kernel=1)
        self.merge2 = _conv(head_channels, head_channels)
        self.head = _conv(head_channels, head_channels)
        self.out = nn.Conv2d(head_channels, len(self.classes) + 4, 1)
        # Heatmap bias so the initial foreground probability is 0.01 (RetinaNet / CenterNet).
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        with torch.no_grad():
            self.out.bias[: len(self.classes)] = -float(np.log(99.0))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
        return self.head_forward(*self.encode(images))

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encoder features at strides 4, 8, 16 of (B, 3, H, W) sRGB images."""
        if self.backbone == "small":
            x = (images - 0.5) / 0.25
            f2 = self.stage2(self.stage1(x))  # stride 4
            f3 = self.stage3(f2)  # stride 8
            f4 = self.stage4(f3)  # stride 16
            return f2, f3, f4
        _, f2, f3, f4 = self.encoder(images)  # strides 4, 8, 16
        return f2, f3, f4

    def head_forward(
        self, f2: torch.Tensor, f3: torch.Tensor, f4: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """The top-down path and head on encoder features (:meth:`encode`): the raw outputs
        of :meth:`forward`."""
        p3 = self.merge3(F.interpolate(self.top(f4), size=f3.shape[-2:]) + self.lateral3(f3))
        p2 = F.interpolate(self.reduce(p3), size=f2.shape[-2:]) + self.lateral2(f2)
        y = self.out(self.head(self.merge2(p2)))  # (B, C + 4, H/4, W/4)
        c = len(self.classes)
        return {"heatmap": y[:, :c], "size": y[:, c : c + 2], "offset": y[:, c + 2 :]}

    def load_imagenet(self) -> None:
        """Initialise a ``mobilenet_v2`` encoder with the ImageNet weights."""
        if self.backbone != "mobilenet_v2":
            raise ValueError(
                f"only the mobilenet_v2 backbone has ImageNet weights, not {self.backbone!r}"
            )
        self.encoder.load_imagenet()


def resize_image(image_srgb: torch.Tensor, input_hw: tuple[int, int]) -> torch.Tensor:
    """(3, H, W) or (B, 3, H, W) float image -> (B, 3, *input_hw), bilinear with antialiasing."""
    x = image_srgb[None] if image_srgb.ndim == 3 else image_srgb
    return F.interpolate(x, size=tuple(input_hw), mode="bilinear", antialias=True)


# -- targets and loss ----------------------------------------------------------------------
def encode_targets_2d(
    boxes_in: np.ndarray,
    labels: np.ndarray,
    ignore_boxes_in: np.ndarray,
    ignore_labels: np.ndarray,
    num_classes: int,
    output_hw: tuple[int, int],
    gaussian_alpha: float = 0.54,
    regression_beta: float = 0.0,
) -> dict[str, np.ndarray]:
    """Training targets of one image.

    Args:
        boxes_in: (M, 4) ``[x1, y1, x2, y2]`` on the network input, pixels.
        labels: (M,) class indices.
        ignore_boxes_in: (G, 4) regions where the heatmap loss is not counted.
        ignore_labels: (G,) class index each ignore region applies to, -1 for all classes.
        num_classes: C.
        output_hw: (Ho, Wo) of the stride-4 output.
        gaussian_alpha: TTFNet's alpha: Gaussian sigma = alpha * box extent / 6 per axis.
        regression_beta: 0: size and offset are regressed at each box's centre cell only;
            > 0: at every cell of the box's central ``beta`` fraction (per axis) too, as
            TTFNet regresses boxes over a Gaussian area (Liu et al., AAAI 2020), each cell
            weighted by the box's heatmap Gaussian, normalised to 1 per box (so every box
            weighs what its centre cell alone did); a cell in several boxes' areas regresses
            the smallest box.

    Returns:
        ``heatmap`` (C, Ho, Wo) float32 in [0, 1], 1 exactly at each centre cell;
        ``weight`` (C, Ho, Wo) float32 1 where the heatmap loss counts;
        ``centers`` (M, 2) int64 (row, col) cells, ``size`` (M, 2) float32 log (w, h) in cells,
        ``offset`` (M, 2) float32 centre minus centre cell (x, y) in cells;
        ``label`` (M,) int64;
        ``reg_cells`` (K, 2) int64 (row, col) cells where size and offset are regressed,
        ``reg_size`` (K, 2), ``reg_offset`` (K, 2) float32 their targets (the box's log size,
        its centre minus the cell), ``reg_weight`` (K,) float32 (K = M when beta is 0).
    """
    ho, wo = output_hw
    heat = np.zeros((num_classes, ho, wo), dtype=np.float32)
    weight = np.ones((num_classes, ho, wo), dtype=np.float32)
    for box, label in zip(np.asarray(ignore_boxes_in).reshape(-1, 4), ignore_labels):
        x1, y1, x2, y2 = (np.asarray(box) / STRIDE).tolist()
        cls = slice(None) if label < 0 else slice(int(label), int(label) + 1)
        weight[
            cls, max(int(y1), 0) : int(np.ceil(y2)) + 1, max(int(x1), 0) : int(np.ceil(x2)) + 1
        ] = 0
    b = np.asarray(boxes_in, dtype=np.float64).reshape(-1, 4) / STRIDE
    ctr = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)
    cell = np.clip(np.floor(ctr), 0, [wo - 1, ho - 1]).astype(np.int64)  # (M, 2) (col, row)
    wh = np.maximum(b[:, 2:] - b[:, :2], 1.0 / STRIDE)
    yy, xx = np.mgrid[0:ho, 0:wo]
    for k, label in enumerate(np.asarray(labels, dtype=np.int64)):
        heat[label] = np.maximum(heat[label], _gaussian(xx, yy, cell[k], wh[k], gaussian_alpha))
    weight[heat > 0.01] = 1.0
    size = np.log(wh).astype(np.float32)
    return {
        "heatmap": heat,
        "weight": weight,
        "centers": cell[:, ::-1].copy(),
        "size": size,
        "offset": (ctr - cell).astype(np.float32),
        "label": np.asarray(labels, dtype=np.int64),
        **_regression_targets(ctr, cell, wh, size, (ho, wo), gaussian_alpha, regression_beta),
    }


def _gaussian(xx: np.ndarray, yy: np.ndarray, cell, wh, alpha: float) -> np.ndarray:
    """TTFNet's heatmap Gaussian of one box at cells (xx, yy): peak 1 at its centre ``cell``
    (col, row), sigma = alpha * extent ``wh`` (w, h) / 6 per axis (at least 0.3 cell)."""
    sx, sy = np.maximum(alpha * np.asarray(wh) / 6, 0.3)
    return np.exp(-((xx - cell[0]) ** 2) / (2 * sx**2) - ((yy - cell[1]) ** 2) / (2 * sy**2))


def _regression_targets(ctr, cell, wh, size, output_hw, alpha: float, beta: float) -> dict:
    """``reg_*`` targets of :func:`encode_targets_2d` (boxes in cells: centres ``ctr`` (M, 2)
    (x, y), centre cells ``cell`` (M, 2) (col, row), extents ``wh`` (M, 2))."""
    m = len(ctr)
    if beta <= 0 or m == 0:
        return {"reg_cells": cell[:, ::-1].copy(), "reg_size": size,
                "reg_offset": (ctr - cell).astype(np.float32),
                "reg_weight": np.ones(m, np.float32)}  # fmt: skip
    ho, wo = output_hw
    owner = np.full((ho, wo), -1, np.int64)
    gauss = np.zeros((ho, wo))
    for k in np.argsort(-(wh[:, 0] * wh[:, 1]), kind="stable"):  # smaller boxes overwrite
        half = np.maximum(beta * wh[k] / 2, 0.5)
        c0, c1 = np.clip(np.floor(ctr[k] - half), 0, [wo - 1, ho - 1]).astype(int)
        e0, e1 = np.clip(np.floor(ctr[k] + half), 0, [wo - 1, ho - 1]).astype(int)
        yy, xx = np.mgrid[c1 : e1 + 1, c0 : e0 + 1]
        owner[c1 : e1 + 1, c0 : e0 + 1] = k
        gauss[c1 : e1 + 1, c0 : e0 + 1] = _gaussian(xx, yy, cell[k], wh[k], alpha)
    for k in np.argsort(-(wh[:, 0] * wh[:, 1]), kind="stable"):  # centre cells: their box's
        owner[cell[k, 1], cell[k, 0]] = k
        gauss[cell[k, 1], cell[k, 0]] = 1.0
    rows, cols = np.nonzero(owner >= 0)
    k = owner[rows, cols]
    w = gauss[rows, cols]
    w = w / np.bincount(k, weights=w, minlength=m)[k]  # each box's weights sum to 1
    col_row = np.stack([cols, rows], axis=1)
    return {
        "reg_cells": np.stack([rows, cols], axis=1),
        "reg_size": size[k],
        "reg_offset": (ctr[k] - col_row).astype(np.float32),
        "reg_weight": w.astype(np.float32),
    }


def focal_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced pixel-wise focal loss (alpha 2, beta 4), summed and divided
    by the number of centres (at least 1)."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    pos_loss = -torch.log(p) * (1 - p) ** 2 * pos
    neg_loss = -torch.log(1 - p) * p**2 * (1 - target) ** 4 * (1 - pos) * weight
    return (pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1.0)


def compute_loss_2d(
    head: dict[str, torch.Tensor], targets: Sequence[dict[str, np.ndarray]]
) -> tuple[torch.Tensor, dict[str, float]]:
    """Focal heatmap loss + L1 on log size and on the centre offset at the regression cells
    (``reg_*`` of :func:`encode_targets_2d`; each box's weights sum to 1), averaged over boxes.

    Args:
        head: ``CenterNet2D.forward`` output for B images.
        targets: B dicts from :func:`encode_targets_2d`.

    Returns:
        (total loss, {"heatmap", "size", "offset"} floats).
    """
    dev = head["heatmap"].device
    heat_t = torch.from_numpy(np.stack([t["heatmap"] for t in targets])).to(dev)
    weight_t = torch.from_numpy(np.stack([t["weight"] for t in targets])).to(dev)
    l_heat = focal_loss(head["heatmap"], heat_t, weight_t)
    size_p, off_p, size_t, off_t, w_t = [], [], [], [], []
    for i, t in enumerate(targets):
        if len(t["label"]) == 0:
            continue
        r, c = torch.from_numpy(t["reg_cells"][:, 0]), torch.from_numpy(t["reg_cells"][:, 1])
        size_p.append(head["size"][i, :, r, c].T)  # from (2, K) to (K, 2)
        off_p.append(head["offset"][i, :, r, c].T)
        size_t.append(torch.from_numpy(t["reg_size"]))
        off_t.append(torch.from_numpy(t["reg_offset"]))
        w_t.append(torch.from_numpy(t["reg_weight"]))
    if size_p:
        w = torch.cat(w_t).to(dev)
        boxes = w.sum()  # each box's weights sum to 1

        def l1(pred, target):
            return ((pred - target.to(dev)).abs().mean(1) * w).sum() / boxes

        l_size = l1(torch.cat(size_p), torch.cat(size_t))
        l_off = l1(torch.cat(off_p), torch.cat(off_t))
    else:
        l_size = l_off = head["size"].sum() * 0.0
    total = l_heat + l_size + l_off
    parts = {"heatmap": l_heat, "size": l_size, "offset": l_off}
    return total, {k: float(v.detach()) for k, v in parts.items()}


# -- decoding ------------------------------------------------------------------------------
@torch.no_grad()
def decode_detections_2d(
    head: dict[str, torch.Tensor],
    input_hw: tuple[int, int],
    image_hw: Sequence[tuple[int, int]],
    score_threshold: float = 0.05,
    max_detections: int = 50,
) -> list[Detections2D]:
    """Heatmap peaks (3 x 3 max-pool) -> boxes in each original image.

    Args:
        head: ``CenterNet2D.forward`` output for B images.
        input_hw: network input size the images were resized to.
        image_hw: B original (H, W), to scale boxes back and clip them.
        score_threshold: minimum peak value kept.
        max_detections: top-K peaks per image over all classes.
    """
    heat = torch.sigmoid(head["heatmap"])
    keep = heat == F.max_pool2d(heat, 3, stride=1, padding=1)
    heat = heat * keep
    b, c, ho, wo = heat.shape
    scores, index = heat.reshape(b, -1).topk(min(max_detections, c * ho * wo), dim=1)
    out = []
    for i in range(b):
        good = scores[i] >= score_threshold
        idx, sc = index[i][good], scores[i][good]
        label, pos = idx // (ho * wo), idx % (ho * wo)
        row, col = pos // wo, pos % wo
        off = head["offset"][i, :, row, col]  # (2, K)
        wh = torch.exp(head["size"][i, :, row, col].clamp(max=8.0))  # (2, K) cells
        cx, cy = col + off[0], row + off[1]
        boxes = torch.stack([cx - wh[0] / 2, cy - wh[1] / 2, cx + wh[0] / 2, cy + wh[1] / 2], 1)
        h, w = image_hw[i]
        scale = torch.tensor(
            [w / input_hw[1], h / input_hw[0]] * 2, dtype=boxes.dtype, device=boxes.device
        )
        boxes = boxes * STRIDE * scale
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w - 1)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h - 1)
        out.append(
            Detections2D(
                boxes.cpu().numpy().astype(np.float32),
                sc.cpu().numpy().astype(np.float32),
                label.cpu().numpy().astype(np.int64),
            )
        )
    return out


@torch.no_grad()
def detect_2d(model: CenterNet2D, image_srgb: torch.Tensor | np.ndarray) -> Detections2D:
    """Run the detector (in eval mode) on one (3, H, W) sRGB image in [0, 1], with the model's
    ``input_hw``, ``score_threshold`` and ``max_detections``."""
    img = torch.as_tensor(np.asarray(image_srgb, dtype=np.float32))
    if img.ndim != 3 or img.shape[0] != 3:
        raise ValueError(f"image_srgb must be (3, H, W), got {tuple(img.shape)}")
    dev = next(model.parameters()).device
    head = model(resize_image(img.to(dev), model.input_hw))
    return decode_detections_2d(
        head, model.input_hw, [tuple(img.shape[1:])], model.score_threshold,
        model.max_detections,
    )[0]  # fmt: skip
