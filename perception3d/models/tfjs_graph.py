"""Read a TensorFlow.js graph model (``model.json`` + ``*.bin`` weight shards) without
TensorFlow, into the nodes :class:`perception3d.models.tf_graphdef.GraphRunner` evaluates.

The format (TensorFlow.js ``tfjs-converter``): ``model.json`` holds ``modelTopology.node``, the
graph's ``NodeDef`` list in JSON (``name``, ``op``, ``input``, ``attr``; attribute values are
tagged ``{"i": "2"}``, ``{"f": 0.1}``, ``{"b": true}``, ``{"s": <base64>}``, ``{"list": {"i":
[...]}}``, ``{"type": "DT_FLOAT"}``, ``{"shape": ...}``), and ``weightsManifest``: groups of
``paths`` (shards read one after another as one byte stream) and ``weights`` in stream order,
each ``{name, shape, dtype}`` with an optional ``quantization``: ``{"dtype": "float16"}`` (2
bytes per value) or ``{"dtype": "uint8"|"uint16", "scale": s, "min": m}`` (value = q * s + m).
Values are little-endian. A ``Const`` node's value is the weight of the same name.

Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> manifest = [{"paths": ["w.bin"], "weights": [
    ...     {"name": "a", "shape": [2], "dtype": "float32", "quantization": {"dtype": "float16"}},
    ...     {"name": "b", "shape": [], "dtype": "int32"}]}]
    >>> _ = (folder / "w.bin").write_bytes(
    ...     np.array([1.5, -2], "<f2").tobytes() + np.array([7], "<i4").tobytes())
    >>> w = read_tfjs_weights(manifest, folder)
    >>> w["a"].tolist(), w["a"].dtype, int(w["b"])
    ([1.5, -2.0], dtype('float32'), 7)
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

from perception3d.models.tf_graphdef import TfNode

__all__ = ["read_tfjs_graph", "read_tfjs_weights"]

_DTYPES = {"float32": "<f4", "int32": "<i4", "bool": "?"}
_QUANT_DTYPES = {"float16": "<f2", "uint8": "<u1", "uint16": "<u2"}


def read_tfjs_weights(manifest: list[dict], folder: str | Path) -> dict[str, np.ndarray]:
    """Weights of a ``weightsManifest`` whose shards are in ``folder``, by name; quantized
    values are returned as their declared ``dtype`` (float32 for float weights).

    Raises:
        FileNotFoundError: a shard is missing.
        ValueError: an unknown dtype or quantization, or shards shorter or longer than the
            manifest says.
    """
    folder = Path(folder)
    out: dict[str, np.ndarray] = {}
    for group in manifest:
        paths = [folder / p for p in group["paths"]]
        for p in paths:
            if not p.is_file():
                raise FileNotFoundError(f"weight shard {p} not found (listed in the manifest)")
        data = b"".join(p.read_bytes() for p in paths)
        offset = 0
        for w in group["weights"]:
            arr, offset = _one_weight(w, data, offset, paths[0])
            out[w["name"]] = arr
        if offset != len(data):
            raise ValueError(f"{paths[0]}: shards hold {len(data)} bytes, manifest {offset}")
    return out


def _one_weight(w: dict, data: bytes, offset: int, source: Path) -> tuple[np.ndarray, int]:
    """(array, next offset) of one manifest entry read from ``data`` at ``offset``."""
    name, shape, dtype = w["name"], [int(s) for s in w["shape"]], w["dtype"]
    if dtype not in _DTYPES:
        raise ValueError(f"{source}: weight {name!r} has dtype {dtype!r}, expected {_DTYPES}")
    quant = w.get("quantization")
    stored = _DTYPES[dtype] if quant is None else _QUANT_DTYPES.get(quant.get("dtype"))
    if stored is None:
        raise ValueError(f"{source}: weight {name!r}: unknown quantization {quant}")
    count = int(np.prod(shape)) if shape else 1
    end = offset + count * np.dtype(stored).itemsize
    if end > len(data):
        raise ValueError(f"{source}: weight {name!r} ends at byte {end}, shards hold {len(data)}")
    arr = np.frombuffer(data[offset:end], dtype=stored).reshape(shape)
    if quant is not None and quant["dtype"] in ("uint8", "uint16"):
        arr = arr.astype(np.float32) * float(quant["scale"]) + float(quant["min"])
    return arr.astype(np.dtype(_DTYPES[dtype]).newbyteorder("=")), end


def _attr(value: dict):
    """A JSON attribute value in :func:`read_graphdef`'s representation (ints, floats, bytes,
    lists of ints)."""
    if "list" in value:
        items = value["list"]
        return [int(v) for v in items.get("i", [])] or [float(v) for v in items.get("f", [])]
    if "s" in value:
        return base64.b64decode(value["s"])
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "b" in value:
        return bool(value["b"])
    return None  # types and shapes: not needed to run the graph


def read_tfjs_graph(model_json: str | Path) -> dict[str, TfNode]:
    """The nodes of a TensorFlow.js graph model by name, ``Const`` nodes carrying their weight
    as ``attrs["value"]`` (shards read from ``model_json``'s folder).

    Raises:
        FileNotFoundError: ``model_json`` or a shard is missing.
        ValueError: not a graph model, or a ``Const`` without a weight.
    """
    path = Path(model_json)
    if not path.is_file():
        raise FileNotFoundError(f"TensorFlow.js model {path} not found")
    spec = json.loads(path.read_text(encoding="utf-8"))
    if spec.get("format") != "graph-model" or "weightsManifest" not in spec:
        raise ValueError(f"{path}: expected a TensorFlow.js graph-model with a weightsManifest")
    weights = read_tfjs_weights(spec["weightsManifest"], path.parent)
    nodes: dict[str, TfNode] = {}
    for n in spec["modelTopology"]["node"]:
        attrs = {k: _attr(v) for k, v in n.get("attr", {}).items()}
        if n["op"] == "Const":
            if n["name"] not in weights:
                raise ValueError(f"{path}: Const {n['name']!r} has no weight in the manifest")
            attrs["value"] = weights[n["name"]]
        nodes[n["name"]] = TfNode(n["name"], n["op"], list(n.get("input", [])), attrs)
    return nodes
