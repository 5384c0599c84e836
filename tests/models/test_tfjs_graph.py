"""The TensorFlow.js graph-model reader (perception3d.models.tfjs_graph) and the extra ops of
the torch runner (perception3d.models.tf_ops), on manifests and graphs written here by hand."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
import torch

from perception3d.models.tf_graphdef import GraphRunner
from perception3d.models.tf_ops import run_more_op
from perception3d.models.tfjs_graph import read_tfjs_graph, read_tfjs_weights


def _manifest():
    return [
        {"paths": ["g1-shard1of2.bin", "g1-shard2of2.bin"], "weights": [
            {"name": "f32", "shape": [2, 2], "dtype": "float32"},
            {"name": "f16", "shape": [3], "dtype": "float32",
             "quantization": {"dtype": "float16", "original_dtype": "float32"}},
            {"name": "u8", "shape": [2], "dtype": "float32",
             "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}},
            {"name": "empty", "shape": [0, 1], "dtype": "int32"},
            {"name": "i32", "shape": [], "dtype": "int32"},
        ]},
    ]  # fmt: skip


def _write_shards(folder, payload: bytes) -> None:
    (folder / "g1-shard1of2.bin").write_bytes(payload[:5])  # a shard boundary inside a value
    (folder / "g1-shard2of2.bin").write_bytes(payload[5:])


def _payload() -> bytes:
    return (np.array([[1.0, -2.0], [3.5, 4.25]], "<f4").tobytes()
            + np.array([0.5, -1.0, 65504.0], "<f2").tobytes()
            + np.array([0, 6], "<u1").tobytes() + np.array([-7], "<i4").tobytes())  # fmt: skip


def test_weights_round_trip_over_shards_and_quantizations(tmp_path):
    _write_shards(tmp_path, _payload())
    w = read_tfjs_weights(_manifest(), tmp_path)
    assert w["f32"].tolist() == [[1.0, -2.0], [3.5, 4.25]] and w["f32"].dtype == np.float32
    assert w["f16"].tolist() == [0.5, -1.0, 65504.0] and w["f16"].dtype == np.float32
    assert w["u8"].tolist() == [-1.0, 2.0]  # q * scale + min
    assert w["empty"].shape == (0, 1) and int(w["i32"]) == -7


def test_weight_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"g1-shard1of2\.bin"):
        read_tfjs_weights(_manifest(), tmp_path)
    _write_shards(tmp_path, _payload()[:-2])
    with pytest.raises(ValueError, match="'i32' ends at byte"):
        read_tfjs_weights(_manifest(), tmp_path)
    _write_shards(tmp_path, _payload() + b"\0")
    with pytest.raises(ValueError, match="manifest"):
        read_tfjs_weights(_manifest(), tmp_path)
    bad = [
        {"paths": ["g1-shard1of2.bin"], "weights": [{"name": "s", "shape": [], "dtype": "string"}]}
    ]
    with pytest.raises(ValueError, match="dtype 'string'"):
        read_tfjs_weights(bad, tmp_path)


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def test_graph_runs_conv_leaky_relu_and_split(tmp_path):
    """y = LeakyRelu(Conv2D(Pad(x), w) + b); SplitV of y's two channels, the second output
    read through ``name:1``; w is a 3x3 box filter -> each output is a 3x3 sum."""
    w = np.zeros((3, 3, 1, 2), "<f4")
    w[..., 0], w[..., 1] = 1.0, -1.0
    pads = np.array([[0, 0], [1, 1], [1, 1], [0, 0]], "<i4")
    weights = {"w": w, "b": np.array([0.0, 1.0], "<f4"), "pads": pads,
               "sizes": np.array([1, -1], "<i4"), "axis": np.array(3, "<i4")}  # fmt: skip
    (tmp_path / "m.bin").write_bytes(b"".join(v.tobytes() for v in weights.values()))
    conv_attr = {"strides": {"list": {"i": ["1", "1", "1", "1"]}}, "padding": {"s": _b64("VALID")},
                 "data_format": {"s": _b64("NHWC")}}  # fmt: skip
    nodes = [{"name": k, "op": "Const", "attr": {}} for k in weights] + [
        {"name": "x", "op": "Placeholder"},
        {"name": "p", "op": "Pad", "input": ["x", "pads"]},
        {"name": "c", "op": "Conv2D", "input": ["p", "w"], "attr": conv_attr},
        {"name": "a", "op": "Add", "input": ["c", "b"]},
        {"name": "r", "op": "LeakyRelu", "input": ["a"], "attr": {"alpha": {"f": 0.1}}},
        {"name": "s", "op": "SplitV", "input": ["r", "sizes", "axis"],
         "attr": {"num_split": {"i": "2"}}},
    ]  # fmt: skip
    manifest = [{"paths": ["m.bin"], "weights": [
        {"name": k, "shape": list(v.shape), "dtype": "float32" if v.dtype.kind == "f" else "int32"}
        for k, v in weights.items()]}]  # fmt: skip
    spec = {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": manifest}
    (tmp_path / "model.json").write_text(json.dumps(spec))
    x = torch.ones(1, 3, 3, 1)
    pos, neg = GraphRunner(read_tfjs_graph(tmp_path / "model.json")).run(["s", "s:1"], {"x": x})
    count = torch.tensor([[4.0, 6, 4], [6, 9, 6], [4, 6, 4]])  # ones under the 3x3 window
    assert torch.allclose(pos[0, :, :, 0], count)
    assert torch.allclose(neg[0, :, :, 0], 0.1 * (1.0 - count))  # LeakyRelu of 1 - count < 0


def test_graph_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"model\.json"):
        read_tfjs_graph(tmp_path / "model.json")
    (tmp_path / "model.json").write_text(json.dumps({"format": "layers-model"}))
    with pytest.raises(ValueError, match="graph-model"):
        read_tfjs_graph(tmp_path / "model.json")


def test_resize_bilinear_half_pixel_matches_tensorflow():
    # tf.image.resize([[0, 1]], [1, 4], "bilinear") (TF2, half-pixel centres): source
    # positions -0.25, 0.25, 0.75, 1.25 clamped to [0, 1] -> 0, 0.25, 0.75, 1
    x = torch.tensor([0.0, 1.0]).reshape(1, 1, 2, 1)
    attrs = {"half_pixel_centers": True, "align_corners": False}
    y = run_more_op("r", "ResizeBilinear", attrs, [x, torch.tensor([1, 4])])
    assert y.reshape(-1).tolist() == [0.0, 0.25, 0.75, 1.0]
    with pytest.raises(ValueError, match="half_pixel_centers"):
        run_more_op("r", "ResizeBilinear", {}, [x, torch.tensor([1, 4])])


def test_max_pool_pad_transpose_and_sparse_to_dense():
    x = torch.arange(16.0).reshape(1, 4, 4, 1)
    attrs = {"ksize": [1, 3, 3, 1], "strides": [1, 2, 2, 1], "padding": b"VALID"}
    assert run_more_op("m", "MaxPool", attrs, [x]).reshape(-1).tolist() == [10.0]
    same = run_more_op("m", "MaxPool", {**attrs, "padding": b"SAME"}, [x])
    assert same.reshape(-1).tolist() == [10.0, 11.0, 14.0, 15.0]  # padded cells never win
    y = run_more_op(
        "p", "PadV2", {}, [torch.zeros(1, 1), torch.tensor([[1, 0], [0, 2]]), torch.tensor(5.0)]
    )
    assert y.tolist() == [[5.0, 5.0, 5.0], [0.0, 5.0, 5.0]]
    t = run_more_op("t", "Transpose", {}, [x, torch.tensor([0, 3, 1, 2])])
    assert t.shape == (1, 1, 4, 4) and torch.equal(t[0, 0], x[0, :, :, 0])
    ins = [
        torch.zeros(0, 1, dtype=torch.int64),
        torch.tensor([3]),
        torch.zeros(0, dtype=torch.int64),
        torch.tensor(0),
    ]
    assert run_more_op("s", "SparseToDense", {}, ins).tolist() == [0, 0, 0]
    ins = [torch.tensor([[2]]), torch.tensor([3]), torch.tensor([7]), torch.tensor(1)]
    assert run_more_op("s", "SparseToDense", {}, ins).tolist() == [1, 1, 7]
    with pytest.raises(ValueError, match="'Softmax' is not supported"):
        run_more_op("q", "Softmax", {}, [x])
