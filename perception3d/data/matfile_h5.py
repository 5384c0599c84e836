"""MATLAB v7.3 ``.mat`` files (HDF5) read with h5py, as the plain values of
``perception3d.data.matfile.load_mat_plain``.

How MATLAB lays a v7.3 file out (MATLAB's MAT-file documentation, and what an HDF5 viewer shows
of a file it saved): every variable is a top-level member, ``#refs#`` and ``#subsystem#`` are
internal; an attribute ``MATLAB_class`` names each array's class; arrays are stored
column-major, so their HDF5 shape is the MATLAB shape reversed; ``char`` arrays are UTF-16
code units (uint16); an empty array has ``MATLAB_empty = 1`` and holds its dimensions instead
of data; a ``cell`` array is a dataset of object references to its elements; a scalar
``struct`` is a group with one member per field (``MATLAB_fields`` gives their order); a
struct array is a group whose fields are datasets of references, one per element.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["read_mat73"]

_INTERNAL = ("#refs#", "#subsystem#")
_MAX_DEPTH = 64  # nested cells / structs deeper than this: a malformed (cyclic) file


def read_mat73(path: str | Path) -> dict[str, Any]:
    """Variables of a MATLAB v7.3 file: a struct is a ``dict``, a struct or cell array a
    ``list`` (a 1x1 struct array a ``dict``), an empty value ``None``, a char array a ``str``,
    a numeric or logical array a squeezed ``np.ndarray``.

    Raises:
        OSError: not an HDF5 file. ValueError: a construct this reader does not handle
            (sparse arrays, objects) or a malformed one (named by its HDF5 path).
    """
    import h5py

    with h5py.File(path, "r") as f:
        return {
            name: _value(f, f[name], 0) for name in _ordered(f, list(f)) if name not in _INTERNAL
        }


def _attr(node: Any, name: str) -> str | None:
    value = node.attrs.get(name)
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return None if value is None else str(value)


def _ordered(group: Any, names: list[str]) -> list[str]:
    """Member names in ``MATLAB_fields`` order when the group records it (else as stored)."""
    fields = group.attrs.get("MATLAB_fields")
    if fields is None:
        return names
    order = []
    for item in fields:
        chars = np.asarray(item).ravel()
        order.append(b"".join(bytes(c) for c in chars).decode("ascii", "replace"))
    return [n for n in order if n in names] + [n for n in names if n not in order]


def _value(f: Any, node: Any, depth: int) -> Any:
    import h5py

    if depth > _MAX_DEPTH:
        raise ValueError(f"{node.name}: nested more than {_MAX_DEPTH} levels deep")
    if isinstance(node, h5py.Group):
        return _group(f, node, depth)
    if not isinstance(node, h5py.Dataset):
        raise ValueError(f"{node.name}: neither a dataset nor a group")
    matlab_class = _attr(node, "MATLAB_class")
    if node.attrs.get("MATLAB_empty") not in (None, 0) or node.shape is None or node.size == 0:
        return None
    data = node[()]
    if node.dtype == h5py.ref_dtype:  # a cell array (or a field of a struct array)
        return [_value(f, f[ref], depth + 1) for ref in np.asarray(data).ravel()]
    if matlab_class == "char":
        codes = np.asarray(data).T  # MATLAB (rows, columns)
        rows = ["".join(map(chr, row)) for row in np.atleast_2d(codes).astype(np.uint32)]
        return rows[0] if len(rows) == 1 else rows
    arr = np.asarray(data)
    if arr.dtype.names and {"real", "imag"} <= set(arr.dtype.names):
        arr = arr["real"] + 1j * arr["imag"]
    elif arr.dtype.kind not in "biuf":
        raise ValueError(f"{node.name}: unsupported data of type {arr.dtype}")
    if matlab_class == "logical":
        arr = arr.astype(bool)
    return np.squeeze(arr.T)


def _group(f: Any, group: Any, depth: int) -> Any:
    import h5py

    matlab_class = _attr(group, "MATLAB_class")
    if group.attrs.get("MATLAB_sparse") is not None:
        raise ValueError(f"{group.name}: sparse arrays are not supported")
    if matlab_class not in (None, "struct"):
        raise ValueError(f"{group.name}: MATLAB class {matlab_class!r} is not supported")
    names = _ordered(group, list(group))
    members = {n: group[n] for n in names}
    as_array = bool(members) and all(
        isinstance(m, h5py.Dataset)
        and m.dtype == h5py.ref_dtype
        and _attr(m, "MATLAB_class") is None
        for m in members.values()
    )
    if not as_array:  # a scalar struct
        return {n: _value(f, m, depth + 1) for n, m in members.items()}
    refs = {n: np.asarray(m[()]).ravel() for n, m in members.items()}
    sizes = {len(r) for r in refs.values()}
    if len(sizes) != 1:
        raise ValueError(f"{group.name}: struct array fields have different lengths {sizes}")
    elements = [
        {n: _value(f, f[r[k]], depth + 1) for n, r in refs.items()} for k in range(sizes.pop())
    ]
    return elements[0] if len(elements) == 1 else elements
