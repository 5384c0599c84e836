"""PCL's ``.pcd`` point-cloud files, read without PCL or Open3D.

Format (PCL, "The PCD (Point Cloud Data) file format", v0.7): a text header of ``KEY values``
lines (``FIELDS``, ``SIZE`` in bytes, ``TYPE`` I/U/F, ``COUNT``, ``WIDTH``, ``HEIGHT``,
``VIEWPOINT``, ``POINTS``) ended by ``DATA ascii|binary|binary_compressed``, then the points:

- ``ascii``: one point per line, every field's COUNT values separated by spaces;
- ``binary``: little-endian records, the fields in header order, packed;
- ``binary_compressed``: ``uint32`` compressed size, ``uint32`` raw size, then an LZF stream
  (Lehmann's liblzf) of the raw data stored field by field (all x, then all y, ...).

``VIEWPOINT`` (the acquisition pose) is not applied: points stay in the file's frame, as PCL
reads them.
"""

from __future__ import annotations

import io
from pathlib import Path

import numba
import numpy as np

from perception3d.errors import PointCloudFormatError

__all__ = ["lzf_decompress", "read_pcd_columns"]

_TYPES = {("F", 4): "<f4", ("F", 8): "<f8", ("I", 1): "<i1", ("I", 2): "<i2", ("I", 4): "<i4",
          ("I", 8): "<i8", ("U", 1): "<u1", ("U", 2): "<u2", ("U", 4): "<u4",
          ("U", 8): "<u8"}  # fmt: skip
_MAX_HEADER_LINES = 64


def _error(path: Path, message: str) -> PointCloudFormatError:
    return PointCloudFormatError(path, message)


def _parse_header(path: Path, data: bytes) -> tuple[dict[str, list[str]], int]:
    """Header keys -> values, and the byte offset where the point data starts."""
    header: dict[str, list[str]] = {}
    offset = 0
    for _ in range(_MAX_HEADER_LINES):
        end = data.find(b"\n", offset)
        if end < 0:
            raise _error(path, "the header has no DATA line")
        line = data[offset:end].decode("ascii", errors="replace").strip()
        offset = end + 1
        if not line or line.startswith("#"):
            continue
        key, *values = line.split()
        header[key.upper()] = values
        if key.upper() == "DATA":
            return header, offset
    raise _error(path, f"no DATA line in the first {_MAX_HEADER_LINES} header lines")


def _record_dtype(path: Path, header: dict[str, list[str]]) -> np.dtype:
    fields = header.get("FIELDS")
    if not fields:
        raise _error(path, "the header has no FIELDS line")
    sizes = header.get("SIZE", [])
    types = header.get("TYPE", [])
    counts = header.get("COUNT", ["1"] * len(fields))
    if not len(sizes) == len(types) == len(counts) == len(fields):
        raise _error(
            path,
            f"FIELDS ({len(fields)}), SIZE ({len(sizes)}), TYPE ({len(types)}) and COUNT "
            f"({len(counts)}) must have one entry per field",
        )
    parts = []
    for k, (name, size, kind, count) in enumerate(zip(fields, sizes, types, counts)):
        key = (kind.upper(), int(size)) if size.isdigit() else None
        if key not in _TYPES or not count.isdigit() or int(count) < 1:
            raise _error(path, f"field {name!r}: unsupported TYPE {kind} SIZE {size} COUNT {count}")
        shape = (int(count),) if int(count) > 1 else ()
        parts.append((f"f{k}_{name}", _TYPES[key], shape))
    return np.dtype(parts)


def _num_points(path: Path, header: dict[str, list[str]]) -> int:
    try:
        if "POINTS" in header:
            return int(header["POINTS"][0])
        return int(header["WIDTH"][0]) * int(header.get("HEIGHT", ["1"])[0])
    except (KeyError, IndexError, ValueError):
        raise _error(path, "the header needs POINTS (or WIDTH and HEIGHT)") from None


@numba.njit(cache=True)
def _lzf_kernel(src, dst):
    """Decompress ``src`` (uint8) into ``dst`` (uint8); bytes written, or -1 if corrupt."""
    ip, op = 0, 0
    n_in, n_out = src.shape[0], dst.shape[0]
    while ip < n_in:
        ctrl = np.int64(src[ip])
        ip += 1
        if ctrl < 32:  # literal run of ctrl + 1 bytes
            length = ctrl + 1
            if op + length > n_out or ip + length > n_in:
                return -1
            for k in range(length):
                dst[op + k] = src[ip + k]
            op += length
            ip += length
        else:  # back reference: length (3 bits, + 1 byte if 7) and a 13-bit distance
            length = ctrl >> 5
            if length == 7:
                if ip >= n_in:
                    return -1
                length += np.int64(src[ip])
                ip += 1
            if ip >= n_in:
                return -1
            ref = op - ((ctrl & 0x1F) << 8) - np.int64(src[ip]) - 1
            ip += 1
            length += 2
            if ref < 0 or op + length > n_out:
                return -1
            for k in range(length):  # byte by byte: source and target may overlap
                dst[op + k] = dst[ref + k]
            op += length
    return op


def lzf_decompress(data: bytes, raw_size: int) -> bytes:
    """Decompress an LZF stream (liblzf's format, as PCD's ``binary_compressed`` uses).

    Raises:
        ValueError: the stream is corrupt or does not decompress to ``raw_size`` bytes.

    Example:
        >>> # a literal run "ab", then "copy 3 bytes from 2 back": "ababa"
        >>> lzf_decompress(bytes([1, 97, 98, 0x20, 1]), 5)
        b'ababa'
    """
    dst = np.empty(raw_size, dtype=np.uint8)
    written = _lzf_kernel(np.frombuffer(data, dtype=np.uint8), dst)
    if written != raw_size:
        raise ValueError(f"LZF stream decompresses to {written} bytes, expected {raw_size}")
    return dst.tobytes()


def _binary_compressed(path: Path, body: bytes, dtype: np.dtype, n: int) -> np.ndarray:
    if len(body) < 8:
        raise _error(path, "binary_compressed data shorter than its 8-byte size header")
    compressed, raw_size = np.frombuffer(body[:8], dtype="<u4").tolist()
    if raw_size != n * dtype.itemsize or len(body) < 8 + compressed:
        raise _error(
            path,
            f"binary_compressed sizes ({compressed} compressed, {raw_size} raw) do not fit "
            f"{n} points of {dtype.itemsize} bytes and {len(body) - 8} data bytes",
        )
    try:
        raw = lzf_decompress(body[8 : 8 + compressed], raw_size)
    except ValueError as exc:
        raise _error(path, f"corrupt LZF data ({exc})") from None
    out = np.empty(n, dtype=dtype)
    offset = 0
    for name in dtype.names:  # stored field by field
        field = dtype.fields[name][0]
        size = n * field.itemsize
        out[name] = np.frombuffer(raw[offset : offset + size], dtype=field).reshape(n, *field.shape)
        offset += size
    return out


def _ascii(path: Path, body: bytes, dtype: np.dtype, n: int) -> np.ndarray:
    widths = [int(np.prod(dtype.fields[name][0].shape)) for name in dtype.names]
    try:
        values = np.loadtxt(io.BytesIO(body), dtype=np.float64, ndmin=2, max_rows=n)
    except ValueError as exc:
        raise _error(path, f"DATA ascii: {exc}") from None
    if values.shape != (n, sum(widths)):
        raise _error(
            path,
            f"DATA ascii holds {values.shape[0]} points of {values.shape[1]} values, the header "
            f"says {n} of {sum(widths)}",
        )
    out = np.empty(n, dtype=dtype)
    start = 0
    for name, width in zip(dtype.names, widths):
        out[name] = values[:, start : start + width].reshape(out[name].shape)
        start += width
    return out


def read_pcd_columns(path: str | Path) -> dict[str, np.ndarray]:
    """Field name -> (N,) float64 column of a ``.pcd`` file (the first value of fields with
    COUNT > 1; ``_`` padding fields left out).

    Raises:
        PointCloudFormatError: a malformed header, an unsupported field type or DATA kind, or
            fewer data bytes/lines than the header announces; the message names the file.
    """
    path = Path(path)
    data = path.read_bytes()
    header, offset = _parse_header(path, data)
    dtype = _record_dtype(path, header)
    n = _num_points(path, header)
    kind = header["DATA"][0].lower() if header["DATA"] else ""
    body = data[offset:]
    if kind == "ascii":
        records = _ascii(path, body, dtype, n)
    elif kind == "binary":
        if len(body) < n * dtype.itemsize:
            raise _error(path, f"binary data has {len(body)} bytes, {n} points need "
                         f"{n * dtype.itemsize}")  # fmt: skip
        records = np.frombuffer(body, dtype=dtype, count=n)
    elif kind == "binary_compressed":
        records = _binary_compressed(path, body, dtype, n)
    else:
        raise _error(path, f"DATA {kind!r}: expected ascii, binary or binary_compressed")
    columns = {}
    for name in dtype.names:
        field = name.split("_", 1)[1]
        if field == "_" or field in columns:
            continue
        values = records[name]
        columns[field] = (values if values.ndim == 1 else values[:, 0]).astype(np.float64)
    return columns
