"""Read a TensorFlow frozen ``GraphDef`` (``.pb``) without TensorFlow and run the
convolutional part of it with torch.

Only what the single-shot detectors of the TensorFlow Object Detection API need is
supported: the protobuf wire format is decoded by hand (:func:`read_graphdef`: node names, ops,
inputs and the attributes ``strides``, ``padding``, ``epsilon``, ``shrink_axis_mask``,
``value``), and :class:`GraphRunner` evaluates the nodes a set of outputs depends on, fed with
given tensors, for the ops ``Const``, ``Identity``, ``Conv2D``, ``DepthwiseConv2dNative``,
``BiasAdd``, ``FusedBatchNorm``, ``Relu6``, ``Add``/``AddV2``, ``Shape``, ``StridedSlice``
(one axis), ``Pack``, ``Reshape`` and ``ConcatV2``, plus those of
:mod:`perception3d.models.tf_ops` (``Pad``, ``Transpose``, ``LeakyRelu``, ``MaxPool``,
``ResizeBilinear``, ``SplitV``, ...). Any other op raises ``ValueError`` naming it. Output k > 0
of a multi-output op is named ``node:k``. Tensors are NHWC as in TensorFlow; convolutions run in
torch (NCHW inside), with TensorFlow's ``SAME`` padding (the extra pixel of an odd total padding
goes to the bottom / right). :mod:`perception3d.models.tfjs_graph` reads TensorFlow.js graph
models into the same nodes.

Example:
    >>> nodes = read_graphdef(_example_graph())
    >>> sorted(nodes)
    ['out', 'w', 'x']
    >>> y = GraphRunner(nodes).run(["out"], {"x": torch.ones(1, 2, 2, 1)})[0]
    >>> y[0, :, :, 0].tolist()
    [[2.0, 2.0], [2.0, 2.0]]
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from perception3d.models.tf_ops import run_more_op

__all__ = ["GraphRunner", "TfNode", "read_graphdef"]

# TensorFlow DataType enum -> numpy dtype (the ones constants of these graphs use)
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_, 19: np.float16}


@dataclass
class TfNode:
    """One ``NodeDef``: name, op, input names (``name`` or ``name:k``) and decoded attributes
    (ints, floats, bytes, lists of ints, or a numpy array for a tensor)."""

    name: str
    op: str
    inputs: list[str] = field(default_factory=list)
    attrs: dict = field(default_factory=dict)


def _varint(b: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return result, i


def _fields(b: bytes):
    """(field number, value) of a protobuf message: ints for varints, bytes otherwise."""
    i, n = 0, len(b)
    while i < n:
        key, i = _varint(b, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(b, i)
        elif wire == 2:
            length, i = _varint(b, i)
            value, i = b[i : i + length], i + length
        elif wire == 5:
            value, i = b[i : i + 4], i + 4
        elif wire == 1:
            value, i = b[i : i + 8], i + 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, value


def _packed_ints(b: bytes) -> list[int]:
    out, i = [], 0
    while i < len(b):
        v, i = _varint(b, i)
        out.append(v - (1 << 64) if v >= 1 << 63 else v)
    return out


def _tensor(b: bytes) -> np.ndarray | None:
    dtype, shape, content, floats, ints = 1, [], None, [], []
    for number, value in _fields(b):
        if number == 1:
            dtype = value
        elif number == 2:
            for n2, dim in _fields(value):
                if n2 == 2:
                    shape.append(dict(_fields(dim)).get(1, 0))
        elif number == 4:
            content = value
        elif number == 5:
            floats += (list(struct.unpack(f"<{len(value) // 4}f", value))
                       if isinstance(value, bytes) and len(value) % 4 == 0 and len(value) > 4
                       else [struct.unpack("<f", value)[0]])  # fmt: skip
        elif number == 7:
            ints += _packed_ints(value) if isinstance(value, bytes) else [value]
    if dtype not in _DTYPES:
        return None  # strings (assertion messages) and other types these graphs never compute
    np_dtype = _DTYPES[dtype]
    count = int(np.prod(shape)) if shape else 1
    if content is not None:
        return np.frombuffer(content, dtype=np_dtype).reshape(shape).copy()
    values = floats if np_dtype in (np.float32, np.float64) else ints
    arr = np.array(values or [0], dtype=np_dtype)
    return np.broadcast_to(arr[-1:] if arr.size == 1 else arr, (count,)).reshape(shape).copy()


def _attr(b: bytes):
    for number, value in _fields(b):
        if number == 1:  # list
            items = [v for n, v in _fields(value) if n == 3]
            return [x for v in items for x in (_packed_ints(v) if isinstance(v, bytes) else [v])]
        if number == 2:
            return value  # bytes
        if number in (3, 5, 6):
            return value  # int / bool / type
        if number == 4:
            return struct.unpack("<f", value)[0]
        if number == 8:
            return _tensor(value)
    return None


def read_graphdef(path_or_bytes: str | Path | bytes) -> dict[str, TfNode]:
    """The nodes of a frozen ``GraphDef`` file (or its bytes), by name."""
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    nodes: dict[str, TfNode] = {}
    for number, value in _fields(data):
        if number != 1:
            continue
        node = TfNode("", "")
        for n2, v in _fields(value):
            if n2 == 1:
                node.name = v.decode()
            elif n2 == 2:
                node.op = v.decode()
            elif n2 == 3:
                node.inputs.append(v.decode())
            elif n2 == 5:
                entry = dict(_fields(v))
                node.attrs[entry[1].decode()] = _attr(entry.get(2, b""))
        nodes[node.name] = node
    return nodes


def _same_pad(x: torch.Tensor, kernel: tuple[int, int], stride: int) -> torch.Tensor:
    """TensorFlow ``SAME`` padding of an NCHW tensor."""
    pads = []
    for size, k in zip(x.shape[-2:], kernel):
        out = -(-size // stride)
        total = max((out - 1) * stride + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return F.pad(x, (*pads[1], *pads[0]))


class GraphRunner:
    """Evaluate nodes of a frozen graph with torch (see the module docstring).

    Weights of convolutions are converted to torch layout once and cached.
    """

    def __init__(self, nodes: dict[str, TfNode]) -> None:
        self.nodes = nodes
        self._weights: dict[str, torch.Tensor] = {}

    def _const(self, name: str) -> torch.Tensor:
        if name not in self._weights:
            node = self.nodes[name.split(":")[0]]
            while node.op == "Identity":
                node = self.nodes[node.inputs[0].split(":")[0]]
            if node.op != "Const" or node.attrs.get("value") is None:
                raise ValueError(f"node {name!r}: expected a numeric constant ({node.op!r})")
            self._weights[name] = torch.from_numpy(np.asarray(node.attrs["value"]))
        return self._weights[name]

    def run(self, outputs: list[str], feeds: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """The values of ``outputs`` (node names) given ``feeds`` (node name -> tensor)."""
        values: dict[str, torch.Tensor] = dict(feeds)
        for name in outputs:
            self._eval(name, values)
        return [_output(values, n) for n in outputs]

    def _eval(self, name: str, values: dict) -> torch.Tensor:
        name = name.split(":")[0]
        stack = [name]
        while stack:  # iterative post-order: graphs are deep
            top = stack[-1]
            if top in values:
                stack.pop()
                continue
            node = self.nodes[top]
            missing = [i.split(":")[0] for i in node.inputs if not i.startswith("^")]
            missing = [i for i in missing if i not in values]
            if node.op in ("Const",) or not missing:
                ins = [_output(values, i) for i in node.inputs if not i.startswith("^")]
                values[top] = self._op(node, ins)
                stack.pop()
            else:
                stack.extend(missing)
        return values[name]

    def _op(self, node: TfNode, ins: list[torch.Tensor]) -> torch.Tensor | tuple:
        op, a = node.op, node.attrs
        if op == "Const":
            return self._const(node.name)
        if op == "Identity":
            return ins[0]
        if op in ("Conv2D", "DepthwiseConv2dNative"):
            return _conv2d_nhwc(node, ins[0], ins[1])
        if op == "BiasAdd" or op in ("Add", "AddV2"):
            return ins[0] + ins[1]
        if op == "FusedBatchNorm":
            x, gamma, beta, mean, var = ins
            return (x - mean) * (gamma / torch.sqrt(var + a.get("epsilon", 1e-3))) + beta
        if op == "Relu6":
            return ins[0].clamp(0.0, 6.0)
        if op == "Shape":
            return torch.tensor(ins[0].shape, dtype=torch.int64)
        if op == "StridedSlice":
            return self._strided_slice(node, *ins)
        if op == "Pack":
            return torch.stack([torch.as_tensor(t, dtype=torch.int64).reshape(()) for t in ins])
        if op == "Reshape":
            return ins[0].reshape([int(s) for s in ins[1].tolist()])
        if op == "ConcatV2":
            return torch.cat(ins[:-1], dim=int(ins[-1]))
        return run_more_op(node.name, op, a, ins)

    @staticmethod
    def _strided_slice(node: TfNode, x, begin, end, strides) -> torch.Tensor:
        a = node.attrs
        if (
            x.ndim != 1
            or begin.numel() != 1
            or a.get("ellipsis_mask", 0)
            or a.get("new_axis_mask", 0)
        ):
            raise ValueError(f"node {node.name!r}: only 1-D StridedSlice is supported")
        b = None if a.get("begin_mask", 0) & 1 else int(begin[0])
        e = None if a.get("end_mask", 0) & 1 else int(end[0])
        y = x[b : e : int(strides[0])]
        return y[0] if a.get("shrink_axis_mask", 0) & 1 else y


def _output(values: dict, name: str) -> torch.Tensor:
    """The tensor ``name`` (``node`` or ``node:k``, output k of a multi-output op)."""
    node, _, k = name.partition(":")
    v = values[node]
    if isinstance(v, tuple):
        return v[int(k or 0)]
    if k not in ("", "0"):
        raise ValueError(f"tensor {name!r}: node {node!r} has one output")
    return v


def _conv2d_nhwc(node: TfNode, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``Conv2D`` / ``DepthwiseConv2dNative`` of an NHWC tensor; ``w`` in TensorFlow layout
    (kh, kw, cin, cout) or (kh, kw, cin, multiplier)."""
    a = node.attrs
    if a.get("data_format", b"NHWC") != b"NHWC" or any(d != 1 for d in a.get("dilations", [1])):
        raise ValueError(f"node {node.name!r}: only NHWC convolutions without dilation")
    x = x.permute(0, 3, 1, 2)
    stride = int(a["strides"][1])
    if a.get("padding", b"SAME") == b"SAME":
        x = _same_pad(x, tuple(w.shape[:2]), stride)
    if node.op == "Conv2D":
        y = F.conv2d(x, w.permute(3, 2, 0, 1), stride=stride)
    else:
        kh, kw, cin, mult = w.shape
        y = F.conv2d(x, w.permute(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw), stride=stride,
                     groups=cin)  # fmt: skip
    return y.permute(0, 2, 3, 1)


def _example_graph() -> bytes:
    """A two-node graph ``out = Conv2D(x, w)`` with a 1 x 1 x 1 x 1 weight 2 (for the
    docstring example)."""

    def key(number: int, wire: int) -> bytes:
        return bytes([number << 3 | wire])

    def ld(number: int, payload: bytes) -> bytes:
        return key(number, 2) + bytes([len(payload)]) + payload

    def node(name: str, op: str, inputs=(), attrs=b"") -> bytes:
        body = ld(1, name.encode()) + ld(2, op.encode())
        body += b"".join(ld(3, i.encode()) for i in inputs) + attrs
        return ld(1, body)

    dims = b"".join(ld(2, key(1, 0) + bytes([1])) for _ in range(4))
    tensor = key(1, 0) + bytes([1]) + ld(2, dims) + ld(4, struct.pack("<f", 2.0))
    w_attr = ld(5, ld(1, b"value") + ld(2, ld(8, tensor)))
    strides = ld(5, ld(1, b"strides") + ld(2, ld(1, ld(3, bytes([1, 1, 1, 1])))))
    padding = ld(5, ld(1, b"padding") + ld(2, ld(2, b"SAME")))
    return (node("x", "Placeholder") + node("w", "Const", attrs=w_attr)
            + node("out", "Conv2D", ["x", "w"], strides + padding))  # fmt: skip
