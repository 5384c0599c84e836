"""The frozen-GraphDef reader and torch runner (perception3d.models.tf_graphdef), on graphs
encoded here byte by byte (protobuf wire format)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from perception3d.models.tf_graphdef import GraphRunner, read_graphdef


def _varint(v: int) -> bytes:
    out = b""
    while True:
        b, v = v & 0x7F, v >> 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out


def _ld(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _int(number: int, v: int) -> bytes:
    return _varint(number << 3) + _varint(v)


def _tensor(arr: np.ndarray, dtype: int = 1) -> bytes:
    dims = b"".join(_ld(2, _int(1, d)) for d in arr.shape)
    return _int(1, dtype) + _ld(2, dims) + _ld(4, arr.tobytes())


def _attr(name: str, value: bytes) -> bytes:
    return _ld(5, _ld(1, name.encode()) + _ld(2, value))


def _node(name: str, op: str, inputs=(), attrs=b"") -> bytes:
    body = _ld(1, name.encode()) + _ld(2, op.encode())
    return _ld(1, body + b"".join(_ld(3, i.encode()) for i in inputs) + attrs)


def _conv_graph(weight: np.ndarray, stride: int, op: str = "Conv2D") -> bytes:
    strides = _attr("strides", _ld(1, _ld(3, b"".join(_varint(s) for s in (1, stride, stride, 1)))))
    return (_node("x", "Placeholder")
            + _node("w", "Const", attrs=_attr("value", _ld(8, _tensor(weight))))
            + _node("msg", "Const", attrs=_attr("value", _ld(8, _int(1, 7))))  # a string
            + _node("w_read", "Identity", ["w"])
            + _node("y", op, ["x", "w_read"], strides + _attr("padding", _ld(2, b"SAME")))
            + _node("out", "Relu6", ["y"]))  # fmt: skip


def test_same_padding_puts_the_odd_pixel_bottom_right():
    # 4 x 4 input, 3 x 3 kernel of ones, stride 2: TensorFlow pads 0 above and 1 below, so
    # output (0, 0) sums rows / columns 0..2 and output (1, 1) sums 2..3 (torch's symmetric
    # padding=1 would sum 0..1 at (0, 0)).
    x = np.arange(16, dtype=np.float32).reshape(4, 4) / 100.0
    w = np.ones((3, 3, 1, 1), np.float32)
    nodes = read_graphdef(_conv_graph(w, 2))
    assert nodes["msg"].attrs["value"] is None  # string constants are skipped, not an error
    y = GraphRunner(nodes).run(["out"], {"x": torch.from_numpy(x)[None, :, :, None]})[0]
    assert y.shape == (1, 2, 2, 1)
    assert y[0, 0, 0, 0].item() == pytest.approx(min(x[:3, :3].sum(), 6.0))
    assert y[0, 1, 1, 0].item() == pytest.approx(x[2:, 2:].sum())


def test_depthwise_weights_are_per_channel():
    w = np.zeros((1, 1, 2, 1), np.float32)
    w[0, 0, :, 0] = (2.0, 3.0)  # channel multiplier 1
    nodes = read_graphdef(_conv_graph(w, 1, "DepthwiseConv2dNative"))
    x = torch.ones(1, 3, 3, 2)
    y = GraphRunner(nodes).run(["out"], {"x": x})[0]
    assert torch.equal(y[0, 1, 1], torch.tensor([2.0, 3.0]))


def test_unsupported_op_is_named():
    graph = _node("x", "Placeholder") + _node("y", "Softplus", ["x"])
    with pytest.raises(ValueError, match="Softplus"):
        GraphRunner(read_graphdef(graph)).run(["y"], {"x": torch.zeros(1)})


def test_float_val_constant():
    # a scalar constant stored as float_val instead of tensor_content
    t = _int(1, 1) + _ld(2, b"") + _varint(5 << 3 | 5) + struct.pack("<f", 0.5)
    nodes = read_graphdef(_node("c", "Const", attrs=_attr("value", _ld(8, t))))
    assert float(nodes["c"].attrs["value"]) == 0.5
