"""An inference-only PointPillars for the CPU: the same function as the detector it is made
from, computed with fewer passes over memory.

- Batch norms folded into the preceding linear / convolution weights (eval-mode statistics).
- The BEV network in channels-last (NHWC) layout, which oneDNN's convolutions run without
  reordering; the pillar scatter writes that layout directly (the canvas is already H x W x C).
- Each upsampling ``ConvTranspose2d`` (kernel = stride, so its outputs never overlap) as a 1x1
  convolution to ``C * s * s`` channels followed by ``pixel_shuffle``: a plain matrix product
  instead of a scattered transposed convolution.
- The head's three 1x1 convolutions as one.

Outputs equal the detector's up to float rounding (the order of a few sums changes); the
interop tests hold them to the frameworks' tolerances. docs/detectors.md ("Speed") measures
what each step buys.
"""

from __future__ import annotations

import torch
from torch import nn

from perception3d.models.detector import Detections, VoxelBatch, VoxelDetector
from perception3d.models.heads import HeadOutput
from perception3d.models.pillars import PillarEncoder, PillarFeatureNet
from perception3d.models.postprocess import select_detections


def _bn_scale_shift(bn: nn.BatchNorm1d | nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel ``(scale, shift)`` with ``bn(x) = x * scale + shift`` in eval mode."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


def _fold_conv(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    scale, shift = _bn_scale_shift(bn)
    out = nn.Conv2d(
        conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=True
    )
    out.weight.copy_(conv.weight * scale[:, None, None, None])
    bias = conv.bias * scale if conv.bias is not None else 0.0
    out.bias.copy_(shift + bias)
    return out


def _fold_block(block: nn.Sequential) -> nn.Sequential:
    """``[conv, bn, relu] * n`` -> ``[conv + bias, relu] * n``."""
    layers = list(block)
    out = []
    for i in range(0, len(layers), 3):
        conv, bn, _ = layers[i : i + 3]
        if not (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)):
            raise TypeError(f"expected conv, batch norm, ReLU triples, got {layers[i : i + 3]}")
        out += [_fold_conv(conv, bn), nn.ReLU(inplace=True)]
    return nn.Sequential(*out)


class _Upsample(nn.Module):
    """``ConvTranspose2d(kernel = stride = s) -> BN -> ReLU`` as ``Conv1x1 -> pixel_shuffle(s)
    -> ReLU`` (exact: the transposed convolution's outputs do not overlap)."""

    def __init__(self, deconv: nn.ConvTranspose2d, bn: nn.BatchNorm2d) -> None:
        super().__init__()
        s = deconv.stride[0]
        if deconv.kernel_size != (s, s) or deconv.stride != (s, s) or deconv.padding != (0, 0):
            raise TypeError(f"only kernel = stride upsampling folds, got {deconv}")
        scale, shift = _bn_scale_shift(bn)
        c_in, c_out = deconv.in_channels, deconv.out_channels
        # (in, out, s, s) -> (out, s, s, in): channel (c * s + i) * s + j, as pixel_shuffle reads
        w = (deconv.weight * scale[None, :, None, None]).permute(1, 2, 3, 0)
        self.conv = nn.Conv2d(c_in, c_out * s * s, 1, bias=True)
        self.conv.weight.copy_(w.reshape(c_out * s * s, c_in, 1, 1))
        self.conv.bias.copy_(shift.repeat_interleave(s * s))
        self.stride = s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.stride > 1:
            x = nn.functional.pixel_shuffle(x, self.stride)
        return torch.relu_(x)


class FusedPillarNet(nn.Module):
    """:class:`PillarFeatureNet` with its batch norms folded into the linear layers."""

    def __init__(self, net: PillarFeatureNet) -> None:
        super().__init__()
        self.net = net  # for its decoration (pillar centres, first_xyz)
        self.layers = nn.ModuleList()
        for linear, norm in net.layers:
            scale, shift = _bn_scale_shift(norm)
            folded = nn.Linear(linear.in_features, linear.out_features, bias=True)
            folded.weight.copy_(linear.weight * scale[:, None])
            folded.bias.copy_(shift)
            self.layers.append(folded)

    def forward(self, points, num_points, coords) -> torch.Tensor:
        x = self.net.decorate(points, num_points, coords)  # (V, P, C + 6), padding zero
        for layer in self.layers:
            x = torch.relu_(layer(x))
        return x.max(dim=1).values


class FusedPointPillars(nn.Module):
    """Inference-only PointPillars built from a trained :class:`VoxelDetector` (see the
    module docstring). ``forward(batch) -> HeadOutput`` and ``postprocess(head_out)`` as the
    detector's.

    Args:
        model: a PointPillars ``VoxelDetector`` (eval-mode statistics are folded in; later
            changes to it are not seen).
        channels_last: run the BEV network in NHWC layout.
    """

    def __init__(self, model: VoxelDetector, channels_last: bool = True) -> None:
        super().__init__()
        if not isinstance(model.encoder, PillarEncoder):
            raise TypeError("FusedPointPillars needs a PointPillars detector (pillar encoder)")
        with torch.no_grad():
            self.pillars = FusedPillarNet(model.encoder.feature_net)
            self.blocks = nn.ModuleList(_fold_block(b) for b in model.backbone.blocks)
            self.ups = nn.ModuleList(_Upsample(u[0], u[1]) for u in model.backbone.upsample)
            head = model.head
            convs = (head.cls, head.box, head.dir)
            self.head = nn.Conv2d(head.cls.in_channels, sum(c.out_channels for c in convs), 1)
            self.head.weight.copy_(torch.cat([c.weight for c in convs]))
            self.head.bias.copy_(torch.cat([c.bias for c in convs]))
        self.splits = [c.out_channels for c in convs]
        self.k, self.num_classes, self.code_size = head.k, head.num_classes, head.code_size
        self.grid_hw = model.encoder.grid_hw
        self.register_buffer("anchors", model.anchors.clone(), persistent=False)
        self.box_coder, self.post_cfg = model.box_coder, model.post_cfg
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.to(memory_format=self.memory_format)
        self.eval()

    def bev(self, batch: VoxelBatch) -> torch.Tensor:
        """(B, C, H, W) pseudo-image, in channels-last layout when so configured."""
        features = self.pillars(batch.points, batch.num_points, batch.coords)  # (V, C)
        h, w = self.grid_hw
        c = features.shape[1]
        canvas = features.new_zeros(batch.batch_size, h * w, c)
        flat = batch.coords[:, 2].long() * w + batch.coords[:, 3].long()
        canvas[batch.coords[:, 0].long(), flat] = features
        canvas = canvas.view(batch.batch_size, h, w, c).permute(0, 3, 1, 2)  # NHWC storage
        return canvas.contiguous(memory_format=self.memory_format)

    def _per_anchor(self, x: torch.Tensor, width: int) -> torch.Tensor:
        b, _, h, w = x.shape
        # from (B, K * width, H, W) to (B, H, W, K, width) to (B, H * W * K, width)
        return x.permute(0, 2, 3, 1).reshape(b, h, w, self.k, width).reshape(b, -1, width)

    def forward(self, batch: VoxelBatch) -> HeadOutput:
        x = self.bev(batch)
        ups = []
        for block, up in zip(self.blocks, self.ups):
            x = block(x)
            ups.append(up(x))
        maps = self.head(torch.cat(ups, dim=1)).split(self.splits, dim=1)
        widths = (self.num_classes, self.code_size, 2)
        return HeadOutput(*(self._per_anchor(m, n) for m, n in zip(maps, widths)))

    @torch.no_grad()
    def postprocess(self, head_out: HeadOutput) -> list[Detections]:
        out = []
        for cls_logits, deltas, dir_logits in zip(*head_out):
            det = select_detections(
                cls_logits, deltas, dir_logits, self.anchors, self.box_coder, self.post_cfg
            )
            out.append(Detections(det.boxes_lidar.cpu(), det.scores.cpu(), det.labels.cpu()))
        return out
