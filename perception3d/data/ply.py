"""The ``vertex`` element of a ``.ply`` file (Turk's polygon file format) as named columns.

Read here: ``format ascii``, ``binary_little_endian`` and ``binary_big_endian`` with scalar
vertex properties, the vertex element anywhere after elements of scalar properties (or any
elements in ASCII, one instance per line). Other layouts (list properties ahead of the vertices
in a binary file) go through Open3D (``open3d.t.io.read_point_cloud``) when it is installed.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from perception3d.errors import PointCloudFormatError

__all__ = ["read_ply_columns"]

_SCALARS = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2",
            "int16": "i2", "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4",
            "uint": "u4", "uint32": "u4", "float": "f4", "float32": "f4", "double": "f8",
            "float64": "f8"}  # fmt: skip
_FORMATS = {"ascii": None, "binary_little_endian": "<", "binary_big_endian": ">"}


class _NeedsOpen3D(Exception):
    """A valid PLY layout this reader leaves to Open3D."""


def _parse_header(path: Path, data: bytes) -> tuple[str, list[dict], int]:
    """(format, elements [{name, count, props: [(name, type) | (name, None) for lists]}],
    byte offset of the body)."""
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise PointCloudFormatError(path, "not a PLY file (expected 'ply' ... 'end_header')")
    body = data.find(b"\n", end) + 1
    fmt, elements = None, []
    lines = data[:end].decode("ascii", errors="replace").splitlines()
    for lineno, line in enumerate(lines, start=1):
        words = line.split()
        if not words or words[0] in ("ply", "comment", "obj_info"):
            continue
        if words[0] == "format" and len(words) >= 2:
            fmt = words[1]
        elif words[0] == "element" and len(words) == 3 and words[2].isdigit():
            elements.append({"name": words[1], "count": int(words[2]), "props": []})
        elif words[0] == "property" and elements and len(words) >= 3:
            if words[1] == "list":
                elements[-1]["props"].append((words[-1], None))
            elif words[1] in _SCALARS:
                elements[-1]["props"].append((words[2], _SCALARS[words[1]]))
            else:
                raise PointCloudFormatError(path, f"unknown property type {words[1]!r}", lineno)
        else:
            raise PointCloudFormatError(path, f"unexpected header line {line.strip()!r}", lineno)
    if fmt not in _FORMATS:
        raise PointCloudFormatError(path, f"format {fmt!r}: expected one of {list(_FORMATS)}")
    return fmt, elements, body


def _scalar_dtype(element: dict, order: str) -> np.dtype:
    if any(t is None for _, t in element["props"]):
        raise _NeedsOpen3D
    return np.dtype([(name, order + t) for name, t in element["props"]])


def _read_builtin(path: Path, data: bytes) -> dict[str, np.ndarray]:
    fmt, elements, offset = _parse_header(path, data)
    names = [e["name"] for e in elements]
    if "vertex" not in names:
        raise PointCloudFormatError(path, f"no 'vertex' element (elements: {names})")
    vertex = elements[names.index("vertex")]
    n = vertex["count"]
    if fmt == "ascii":
        skip = sum(e["count"] for e in elements[: names.index("vertex")])
        dtype = _scalar_dtype(vertex, "<")
        try:
            values = np.loadtxt(
                io.BytesIO(data[offset:]), dtype=np.float64, ndmin=2, skiprows=skip, max_rows=n
            )
        except ValueError as exc:
            raise PointCloudFormatError(path, f"vertex data: {exc}") from None
        if values.shape != (n, len(dtype.names)):
            raise PointCloudFormatError(
                path,
                f"{values.shape[0]} vertex lines of {values.shape[1]} numbers, the header says "
                f"{n} of {len(dtype.names)}",
            )
        return {name: values[:, j] for j, name in enumerate(dtype.names)}
    order = _FORMATS[fmt]
    for element in elements[: names.index("vertex")]:
        offset += element["count"] * _scalar_dtype(element, order).itemsize
    dtype = _scalar_dtype(vertex, order)
    if len(data) < offset + n * dtype.itemsize:
        raise PointCloudFormatError(
            path, f"{n} vertices of {dtype.itemsize} bytes do not fit the file's data"
        )
    records = np.frombuffer(data, dtype=dtype, count=n, offset=offset)
    return {name: records[name].astype(np.float64) for name in dtype.names}


def _read_open3d(path: Path) -> dict[str, np.ndarray]:
    try:
        import open3d as o3d
    except ImportError:
        raise PointCloudFormatError(
            path, "this PLY layout needs Open3D (pip install 'perception3d[open3d]')"
        ) from None
    cloud = o3d.t.io.read_point_cloud(str(path))
    if "positions" not in cloud.point:
        raise PointCloudFormatError(path, "Open3D read no vertex positions")
    xyz = cloud.point["positions"].numpy().astype(np.float64)
    columns = {"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}
    if "intensity" in cloud.point:
        columns["intensity"] = cloud.point["intensity"].numpy().reshape(-1).astype(np.float64)
    return columns


def read_ply_columns(path: str | Path) -> dict[str, np.ndarray]:
    """Property name -> (N,) float64 column of the ``vertex`` element of a ``.ply`` file.

    Raises:
        PointCloudFormatError: not a PLY file, no vertex element, truncated data, or a layout
            that needs Open3D when it is not installed; the message names the file.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        return _read_builtin(path, data)
    except _NeedsOpen3D:
        return _read_open3d(path)
