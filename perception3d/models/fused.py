"""An inference-only PointPillars for the CPU: the same function as the detector it is made
from, computed with fewer passes over memory.

- Batch norms folded into the preceding linear / convolution weights (eval-mode statistics).
- The BEV network in channels-last (NHWC) layout, which oneDNN's convolutions run without
  reordering; the pillar scatter writes that layout directly (the canvas is already H x W x C).
- Each upsampling ``ConvTranspose2d`` (kernel = stride, so its outputs never overlap) as a 1x1
  convolution to ``C * s * s`` channels followed by ``pixel_shuffle``: a plain matrix product
  instead of a scattered transposed convolution.
- The pillar net's decoration folded into its weights, in each pillar's own frame.
- The first backbone convolution computed from the pillars (sparse), without the dense
  pseudo-image.
- The head's three 1x1 convolutions as one, applied to each upsampled map and summed (no
  concatenated copy).

Outputs equal the detector's up to float rounding (the order of a few sums changes); the
interop tests hold them to the frameworks' tolerances. docs/detectors.md ("Speed") measures
what each step buys.
"""

from __future__ import annotations

import torch
from torch import nn

from perception3d.models.detector import (
    Detections,
    VoxelBatch,
    VoxelDetector,
    detections_per_frame,
)
from perception3d.models.heads import HeadOutput
from perception3d.models.pillars import PillarEncoder, PillarFeatureNet


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


class _UpHead(nn.Module):
    """One level's upsampling (``_Upsample``) and its part of the head, as two matrix products
    on the channels-last rows, without the upsampled map: the upsampling's outputs are ordered
    sub-pixel first, so its ``(N, s * s * C_up)`` result viewed as ``(N * s * s, C_up)`` rows is
    the upsampled map's pixels (in another order), which the head's 1x1 convolution takes as
    they are; only the head's few channels are moved to their pixels, by the add into ``out``.
    """

    def __init__(self, up: _Upsample, part: nn.Conv2d) -> None:
        super().__init__()
        s = self.stride = up.stride
        conv = up.conv
        c_up = conv.out_channels // (s * s)
        # channel (c * s + i) * s + j (pixel_shuffle's order) -> (i * s + j) * C_up + c
        w = conv.weight.reshape(c_up, s * s, -1).transpose(0, 1).reshape(s * s * c_up, -1)
        bias = conv.bias.reshape(c_up, s * s).t().reshape(-1)
        self.register_buffer("w_up", w.t().contiguous(), persistent=False)  # (C_in, s*s*C_up)
        self.register_buffer("b_up", bias.contiguous(), persistent=False)
        self.register_buffer("w_head", part.weight.flatten(1).t().contiguous(), persistent=False)
        head_bias = part.bias if part.bias is not None else None
        self.register_buffer("b_head", head_bias, persistent=False)

    def forward(self, x: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
        """``x`` (B, C_in, h, w) in channels-last storage; ``out`` (B, h * s, w * s, A) head
        channels so far (None: this level's alone, with the head's bias)."""
        b, c, h, w = x.shape
        s = self.stride
        z = torch.relu_(torch.addmm(self.b_up, x.permute(0, 2, 3, 1).reshape(-1, c), self.w_up))
        z = z.view(-1, self.w_head.shape[0])  # (B * h * w * s * s, C_up)
        y = z @ self.w_head if self.b_head is None else torch.addmm(self.b_head, z, self.w_head)
        y = y.view(b, h, w, s, s, -1).permute(0, 1, 3, 2, 4, 5)  # (B, h, s, w, s, A)
        if out is None:
            return y.reshape(b, h * s, w * s, -1)
        out.view(b, h, s, w, s, -1).add_(y)
        return out


class FusedPillarNet(nn.Module):
    """:class:`PillarFeatureNet` with its batch norms folded in and, for one layer, its
    decoration folded into the weights.

    The decorated point ``[x, y, z, i, ..., p - mean, p - centre]`` is linear in the point, so
    the first layer is ``U q + t_v`` with ``q = [p_xyz - centre, i, ...]`` (the point in its
    pillar's frame, small numbers, so no precision is lost to cancellation) and a per-pillar
    term ``t_v``: one (C -> C_out) product per point instead of building the (C + 6)-channel
    input, and the ReLU after the max (it is monotonic). Padded slots are zero in the
    detector's input and so contribute ``relu(bias)`` to the max, as they do here.
    """

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
        w = self.layers[0].weight  # (C_out, C + 6): [point (C), p - mean (3), p - centre (3)]
        c = w.shape[1] - 6
        u = w[:, :c].clone()
        u[:, :3] += w[:, c : c + 3] + w[:, c + 3 :]  # every xyz term, in the pillar's frame
        if not net.read_intensity:
            u[:, 3] = 0.0
        self.register_buffer("u", u.t().contiguous(), persistent=False)  # (C, C_out)
        self.register_buffer("w_mean", w[:, c : c + 3].t().contiguous(), persistent=False)
        # absolute x, y, z add w_point_xyz . centre; pillar offsets (mmdet3d legacy) do not
        w_centre = w[:, :3] if net.first_xyz == "absolute" else torch.zeros_like(w[:, :3])
        self.register_buffer("w_centre", w_centre.t().contiguous(), persistent=False)
        self.single = len(self.layers) == 1

    def forward(self, points, num_points, coords) -> torch.Tensor:
        if not self.single:  # several layers: fold the norms only
            x = self.net.decorate(points, num_points, coords)
            for layer in self.layers:
                x = torch.relu_(layer(x))
            return x.max(dim=1).values
        net, bias = self.net, self.layers[0].bias
        p = points.shape[1]
        valid = torch.arange(p, device=points.device)[None, :] < num_points[:, None]  # (V, P)
        centre = coords[:, [3, 2, 1]].to(points.dtype) * net.voxel_size + net.centre_offset
        local = points.clone()
        local[..., :3] -= centre[:, None, :]  # (V, P, C), the pillar's frame
        count = num_points.clamp(min=1).to(points.dtype)[:, None]
        mean_local = (local[..., :3] * valid[..., None]).sum(dim=1) / count  # (V, 3)
        per_pillar = bias + centre @ self.w_centre - mean_local @ self.w_mean  # (V, C_out)
        # the product of the points present only (a few per pillar, of P slots), then the
        # max of each pillar's rows; a pillar without a point keeps -inf (then the bias)
        y = local[valid] @ self.u  # (N, C_out), pillar by pillar
        pillar = torch.arange(len(points), device=points.device).repeat_interleave(valid.sum(dim=1))
        y = per_pillar.new_full(per_pillar.shape, float("-inf")).scatter_reduce_(
            0, pillar[:, None].expand_as(y), y, "amax"
        )
        y = y + per_pillar
        padded = (num_points < p)[:, None]
        return torch.relu_(torch.where(padded, torch.maximum(y, bias), y))


class _SparseFirstConv(nn.Module):
    """The backbone's first 3x3 convolution (+ ReLU) computed from the pillars alone: each
    pillar's features times each kernel tap, added into the output cells it reaches (tap by
    tap; within a tap no two pillars reach the same cell), over a canvas that starts at the
    bias. The
    same sums as the dense convolution over the mostly empty pseudo-image (93 % of the 496 x
    432 cells are empty on a KITTI FOV sweep), in another order, without building that image.
    Output: (B, C_out, H_out, W_out) in channels-last storage."""

    def __init__(self, conv: nn.Conv2d, grid_hw: tuple[int, int]) -> None:
        super().__init__()
        if conv.kernel_size != (3, 3) or conv.padding != (1, 1) or conv.groups != 1:
            raise TypeError(f"the sparse first convolution needs a 3x3, padding 1 conv: {conv}")
        self.stride = conv.stride[0]
        # (C_out, C_in, 3, 3) -> (9, C_in, C_out): tap dy * 3 + dx
        self.register_buffer(
            "taps", conv.weight.permute(2, 3, 1, 0).reshape(9, conv.in_channels, -1)
        )
        self.register_buffer("bias", conv.bias.detach().clone())
        h, w = grid_hw
        self.out_hw = ((h - 1) // self.stride + 1, (w - 1) // self.stride + 1)

    def forward(
        self, features: torch.Tensor, coords: torch.Tensor, batch_size: int
    ) -> torch.Tensor:
        s, (oh, ow) = self.stride, self.out_hw
        out = self.bias.repeat(batch_size * oh * ow, 1)  # (B * H_out * W_out, C_out), NHWC
        b, iy, ix = coords[:, 0].long(), coords[:, 2].long(), coords[:, 3].long()
        for dy in range(3):
            ny = iy + 1 - dy  # = s * oy for the output row this tap reaches
            ok_y = (ny >= 0) & (ny % s == 0) & (ny // s < oh)
            for dx in range(3):
                nx = ix + 1 - dx
                sel = torch.nonzero(ok_y & (nx >= 0) & (nx % s == 0) & (nx // s < ow)).squeeze(1)
                target = (b[sel] * oh + ny[sel] // s) * ow + nx[sel] // s
                # one tap sends distinct pillars to distinct cells: a plain indexed add
                # (index_add_ costs a tensor operation per row on the CPU)
                out[target] += features[sel] @ self.taps[dy * 3 + dx]
        out = torch.relu_(out).view(batch_size, oh, ow, -1)
        return out.permute(0, 3, 1, 2)  # (B, C_out, H_out, W_out), channels-last storage


class FusedPointPillars(nn.Module):
    """Inference-only PointPillars built from a trained :class:`VoxelDetector` (see the
    module docstring). ``forward(batch) -> HeadOutput``, ``postprocess(head_out)``,
    ``anchors``, ``box_coder``, ``post_cfg`` and ``classes`` as the detector's, so it can stand
    in for it, e.g. ``Detector(FusedPointPillars(det.model), det.experiment)`` (point clouds
    with at least one pillar in range).

    Args:
        model: a PointPillars ``VoxelDetector`` (eval-mode statistics are folded in; later
            changes to it are not seen).
        channels_last: run the BEV network in NHWC layout.
        sparse_first_conv: compute the first backbone convolution from the pillars
            (:class:`_SparseFirstConv`) instead of scattering a dense pseudo-image first
            (needs ``channels_last``).
    """

    def __init__(
        self, model: VoxelDetector, channels_last: bool = True, sparse_first_conv: bool = True
    ) -> None:
        super().__init__()
        if not isinstance(model.encoder, PillarEncoder):
            raise TypeError("FusedPointPillars needs a PointPillars detector (pillar encoder)")
        self.grid_hw = model.encoder.grid_hw
        head = model.head
        convs = (head.cls, head.box, head.dir)
        with torch.no_grad():
            self.pillars = FusedPillarNet(model.encoder.feature_net)
            self.blocks = nn.ModuleList(_fold_block(b) for b in model.backbone.blocks)
            self.ups = nn.ModuleList(_Upsample(u[0], u[1]) for u in model.backbone.upsample)
            # the head over the concatenated upsampled maps = the sum of one 1x1 conv per
            # map: no concatenated copy of the three maps
            weight = torch.cat([c.weight for c in convs])  # (A * (C + 9), sum C_up, 1, 1)
            bias = torch.cat([c.bias for c in convs])
            self.head_parts = nn.ModuleList()
            start = 0
            for i, up in enumerate(model.backbone.upsample):
                width = up[0].out_channels
                part = nn.Conv2d(width, weight.shape[0], 1, bias=i == 0)
                part.weight.copy_(weight[:, start : start + width])
                if i == 0:
                    part.bias.copy_(bias)
                self.head_parts.append(part)
                start += width
            self.up_heads = None
            if channels_last:
                self.up_heads = nn.ModuleList(_UpHead(*uh) for uh in zip(self.ups, self.head_parts))
            self.first = None
            if sparse_first_conv and channels_last:
                self.first = _SparseFirstConv(self.blocks[0][0], self.grid_hw)
        self.splits = [c.out_channels for c in convs]
        self.k, self.num_classes, self.code_size = head.k, head.num_classes, head.code_size
        self.register_buffer("anchors", model.anchors.clone(), persistent=False)
        self.box_coder, self.post_cfg = model.box_coder, model.post_cfg
        self.classes = model.classes
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
        if self.first is not None:
            features = self.pillars(batch.points, batch.num_points, batch.coords)
            x = self.blocks[0][2:](self.first(features, batch.coords, batch.batch_size))
            blocks = [None, *self.blocks[1:]]
        else:
            x, blocks = self.bev(batch), list(self.blocks)
        widths = (self.num_classes, self.code_size, 2)
        if self.up_heads is not None:  # channels-last: (B, H, W, A) head channels
            out = None
            for block, up_head in zip(blocks, self.up_heads):
                x = x if block is None else block(x)
                out = up_head(x, out)
            b, h, w, _ = out.shape
            return HeadOutput(
                *(
                    m.reshape(b, h * w * self.k, n)
                    for m, n in zip(out.split(self.splits, 3), widths)
                )
            )
        maps = None
        for block, up, part in zip(blocks, self.ups, self.head_parts):
            if block is not None:
                x = block(x)
            y = part(up(x))
            maps = y if maps is None else maps.add_(y)
        return HeadOutput(
            *(self._per_anchor(m, n) for m, n in zip(maps.split(self.splits, 1), widths))
        )

    @torch.no_grad()
    def postprocess(self, head_out: HeadOutput) -> list[Detections]:
        return detections_per_frame(head_out, self.anchors, self.box_coder, self.post_cfg)
