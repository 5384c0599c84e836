"""TensorFlow ops beyond the convolutional core of :class:`~perception3d.models.tf_graphdef.
GraphRunner`, on torch tensors in TensorFlow's layouts (images NHWC): ``Pad``, ``PadV2``,
``Transpose``, ``LeakyRelu``, ``Relu``, ``Sigmoid``, ``MaxPool``, ``ResizeBilinear``,
``SplitV`` and ``SparseToDense`` (the ops of the NanoDet graph of
:mod:`perception3d.models.nanodet_coco`). Each follows TensorFlow's definition; any other op
raises ``ValueError`` naming it.

Example:
    >>> x = torch.arange(4.0).reshape(1, 2, 2, 1)
    >>> pads = torch.tensor([[0, 0], [1, 0], [0, 1], [0, 0]])  # [before, after]: N, H, W, C
    >>> run_more_op("p", "Pad", {}, [x, pads])[0, :, :, 0].tolist()
    [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 3.0, 0.0]]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["run_more_op"]


def _pad(x: torch.Tensor, paddings: torch.Tensor, value: float = 0.0) -> torch.Tensor:
    """TensorFlow ``Pad``: ``paddings`` (rank, 2) [before, after] per axis, first axis first."""
    pads = [int(v) for pair in reversed(paddings.tolist()) for v in pair]
    return F.pad(x, pads, value=value)


def _max_pool(name: str, a: dict, x: torch.Tensor) -> torch.Tensor:
    """``MaxPool`` of an NHWC tensor (``VALID`` or ``SAME``: padded cells never win)."""
    if a.get("data_format", b"NHWC") != b"NHWC":
        raise ValueError(f"node {name!r}: only NHWC MaxPool is supported")
    k, s = tuple(a["ksize"][1:3]), tuple(a["strides"][1:3])
    x = x.permute(0, 3, 1, 2)
    if a.get("padding", b"VALID") == b"SAME":
        pads = []
        for size, kk, ss in zip(x.shape[-2:], k, s):
            total = max((-(-size // ss) - 1) * ss + kk - size, 0)
            pads.append((total // 2, total - total // 2))
        x = F.pad(x, (*pads[1], *pads[0]), value=float("-inf"))
    return F.max_pool2d(x, k, s).permute(0, 2, 3, 1)


def _resize_bilinear(name: str, a: dict, x: torch.Tensor, size: torch.Tensor) -> torch.Tensor:
    """``ResizeBilinear`` of an NHWC tensor to ``size`` [h, w]; half-pixel centres (TF2's
    default) or ``align_corners``. TF1's legacy mode (neither) is refused."""
    align = bool(a.get("align_corners", False))
    if not align and not a.get("half_pixel_centers", False):
        raise ValueError(f"node {name!r}: ResizeBilinear without half_pixel_centers")
    h, w = (int(v) for v in size.tolist())
    y = F.interpolate(x.permute(0, 3, 1, 2), size=(h, w), mode="bilinear", align_corners=align)
    return y.permute(0, 2, 3, 1)


def _split_v(x: torch.Tensor, sizes: torch.Tensor, axis: torch.Tensor) -> tuple:
    """``SplitV``: pieces of ``sizes`` along ``axis`` (one size may be -1: the rest)."""
    dim = int(axis) % x.ndim
    sizes_l = [int(v) for v in sizes.tolist()]
    if -1 in sizes_l:
        sizes_l[sizes_l.index(-1)] = x.shape[dim] - sum(v for v in sizes_l if v != -1)
    return tuple(torch.split(x, sizes_l, dim=dim))


def _sparse_to_dense(indices, shape, values, default) -> torch.Tensor:
    """``SparseToDense``: ``default`` everywhere, ``values`` at ``indices`` (N, rank) or (N,)."""
    out = torch.full([int(v) for v in shape.reshape(-1).tolist()], default.item(),
                     dtype=values.dtype)  # fmt: skip
    if indices.numel():
        idx = indices.reshape(len(indices), -1).long()
        out[tuple(idx.T)] = values.expand(len(idx)) if values.ndim == 0 else values
    return out


def run_more_op(name: str, op: str, a: dict, ins: list[torch.Tensor]) -> torch.Tensor | tuple:
    """The output(s) of node ``name`` running ``op`` with attributes ``a`` on ``ins``.

    Raises:
        ValueError: an op (or a variant of one) not listed in the module docstring.
    """
    if op == "Pad":
        return _pad(ins[0], ins[1])
    if op == "PadV2":
        return _pad(ins[0], ins[1], float(ins[2]))
    if op == "Transpose":
        return ins[0].permute([int(v) for v in ins[1].tolist()])
    if op == "LeakyRelu":
        return F.leaky_relu(ins[0], float(a.get("alpha", 0.2)))
    if op == "Relu":
        return ins[0].clamp(min=0.0)
    if op == "Sigmoid":
        return torch.sigmoid(ins[0])
    if op == "MaxPool":
        return _max_pool(name, a, ins[0])
    if op == "ResizeBilinear":
        return _resize_bilinear(name, a, ins[0], ins[1])
    if op == "SplitV":
        return _split_v(*ins)
    if op == "SparseToDense":
        return _sparse_to_dense(*ins)
    raise ValueError(f"node {name!r}: op {op!r} is not supported by GraphRunner")
