"""MATLAB .mat files as plain Python values, read with scipy (v4-v7) or h5py (v7.3, HDF5:
``perception3d.data.matfile_h5``).

``load_mat_plain`` gives the same shapes whichever reader ran: a struct is a ``dict``, a struct
array or cell array a ``list``, an empty value (``[]``, ``''`` for numbers) ``None``, a char
array a ``str``, a numeric array a squeezed ``np.ndarray``. A 1x1 struct array is a ``dict``
(MATLAB does not distinguish it from a struct); callers that expect an array wrap it.

``save_mat`` writes a v5 file with a fixed header, so the same data gives the same bytes
(scipy's writer stamps the creation time into the header).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from perception3d.atomic import atomic_write_bytes
from perception3d.errors import DataFormatError, MissingExtraError

_HEADER_TEXT = b"MATLAB 5.0 MAT-file, Platform: posix, Created by: perception3d"
_HEADER_TEXT_BYTES = 116  # v5 header: 116 bytes of text, 8 subsystem offset, 2 version, 2 endian


def _plain_scipy(value: Any) -> Any:
    from scipy.io.matlab import mat_struct

    if isinstance(value, mat_struct):
        return {name: _plain_scipy(getattr(value, name)) for name in value._fieldnames}
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return [_plain_scipy(v) for v in value.ravel(order="F")]
        if value.dtype.kind == "U":
            return "".join(value.ravel().tolist()) if value.size else None
        return value if value.size else None
    if isinstance(value, str):
        return value
    return value


def load_mat_plain(path: str | Path) -> dict[str, Any]:
    """Variables of a .mat file as plain Python values (see the module docstring).

    Raises:
        DataFormatError: the file is not a MAT file either reader understands.
        FileNotFoundError: the file does not exist.
        MissingExtraError: the file is v7.3 and ``h5py`` is not installed (``pip install
            perception3d[objectnet3d]``).
    """
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        raw = scipy.io.loadmat(path, struct_as_record=False, squeeze_me=True)
    except NotImplementedError:  # scipy says so for v7.3 (HDF5) files
        return _load_mat73(path)
    except Exception as exc:  # scipy raises MatReadError, ValueError, TypeError, OSError...
        raise DataFormatError(path, f"not a readable MAT file ({exc})") from exc
    return {k: _plain_scipy(v) for k, v in raw.items() if not k.startswith("__")}


def _load_mat73(path: Path) -> dict[str, Any]:
    try:
        import h5py  # noqa: F401  (present: read_mat73 needs it)
    except ImportError as exc:
        raise MissingExtraError(
            f"{path} is a MATLAB v7.3 (HDF5) file: reading it needs h5py "
            "(pip install 'perception3d[objectnet3d]')"
        ) from exc
    from perception3d.data.matfile_h5 import read_mat73

    try:
        return read_mat73(path)
    except (OSError, KeyError, ValueError, TypeError, IndexError, RuntimeError) as exc:
        # h5py reports a corrupt file or a dangling reference with these
        raise DataFormatError(path, f"not a readable MAT v7.3 file ({exc})") from exc


def save_mat(path: str | Path, variables: Mapping[str, Any]) -> Path:
    """Write ``variables`` as a MAT v5 file, atomically and byte-deterministically.

    Values follow ``scipy.io.savemat``: a ``dict`` is a struct, a numpy structured array a
    struct array, a numpy object array a cell array, ``np.zeros((0, 0))`` is ``[]``.
    """
    import scipy.io

    buf = io.BytesIO()
    scipy.io.savemat(buf, dict(variables), format="5", do_compression=True, oned_as="row")
    data = bytearray(buf.getvalue())
    data[:_HEADER_TEXT_BYTES] = _HEADER_TEXT.ljust(_HEADER_TEXT_BYTES, b" ")
    return atomic_write_bytes(path, bytes(data))
