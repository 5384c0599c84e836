"""Point clouds from common LiDAR files: KITTI ``.bin``, NumPy ``.npy``, ``.pcd`` and ``.ply``.

Every reader returns ``(N, 4) float32 [x, y, z, intensity]`` in the sensor's own frame, metres,
so any sweep can go to a detector (``perception3d detect``):

- ``.bin``: KITTI velodyne, little-endian float32 x, y, z, reflectance;
- ``.npy``: an (N, 3) or (N, 4) floating array, read with ``allow_pickle=False``; (N, 3) gets
  intensity 0;
- ``.pcd``: PCL's format, ``DATA ascii``, ``binary`` or ``binary_compressed`` (LZF), read here
  without Open3D (:mod:`perception3d.data.pcd`);
- ``.ply``: the ``vertex`` element of an ASCII or binary PLY (:mod:`perception3d.data.ply`),
  through Open3D (``pip install perception3d[open3d]``) when the file has list properties
  ahead of its vertices.

The intensity column is the first field named ``intensity``, ``reflectance``, ``remission``,
``i`` or ``scalar_intensity`` (any case); without one it is 0. It is passed on unscaled: KITTI
models were trained on reflectance in [0, 1], so a sensor writing 0..255 needs
``intensity_scale=1/255``.

Non-finite points (organized clouds write NaN for missing returns) are an error naming the file,
unless ``drop_nonfinite=True`` removes them.
"""

from __future__ import annotations

import glob
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from perception3d.errors import PointCloudFormatError

__all__ = [
    "INTENSITY_FIELDS",
    "SUFFIXES",
    "PointCloudFormatError",
    "expand_point_cloud_inputs",
    "points_from_array",
    "read_point_cloud",
]

SUFFIXES = (".bin", ".npy", ".pcd", ".ply")
INTENSITY_FIELDS = ("intensity", "reflectance", "remission", "i", "scalar_intensity")


def points_from_array(array: np.ndarray, source: str | Path = "points") -> np.ndarray:
    """Check an (N, 3) or (N, 4) floating array and return it as (N, 4) float32.

    Args:
        array: ``[x, y, z]`` or ``[x, y, z, intensity]`` rows, metres.
        source: the name used in error messages (a file path or ``"points"``).

    Raises:
        PointCloudFormatError: not 2-D with 3 or 4 columns, not a floating dtype, or non-finite
            values (the first bad row is named).

    Example:
        >>> points_from_array(np.array([[1.0, 2.0, 3.0]])).tolist()
        [[1.0, 2.0, 3.0, 0.0]]
    """
    array = np.asarray(array)
    if array.dtype.kind != "f":
        raise PointCloudFormatError(
            source, f"expected a floating array (float32 or float64), got dtype {array.dtype}"
        )
    if array.ndim != 2 or array.shape[1] not in (3, 4):
        raise PointCloudFormatError(
            source, f"expected (N, 3) [x, y, z] or (N, 4) [x, y, z, intensity], got {array.shape}"
        )
    out = np.zeros((len(array), 4), dtype=np.float32)
    out[:, : array.shape[1]] = array
    _check_finite(out, source)
    return out


def nonfinite_message(points: np.ndarray) -> str | None:
    """None when every row of (N, C) ``points`` is finite, else the error message naming the
    first bad point and how many there are."""
    bad = ~np.isfinite(points).all(axis=1)
    if not bad.any():
        return None
    i = int(np.argmax(bad))
    return (
        f"point {i} (of {len(points)}) is not finite: {points[i].tolist()}; "
        f"{int(bad.sum())} such points"
    )


def _check_finite(points: np.ndarray, source: str | Path) -> None:
    message = nonfinite_message(points)
    if message is not None:
        raise PointCloudFormatError(
            source,
            f"{message} (drop them with --drop-nonfinite / drop_nonfinite=True if they are "
            "missing returns)",
        )


def _read_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy's header parser raises ValueError, SyntaxError, ...
        raise PointCloudFormatError(path, f"not a readable .npy array ({exc!r})") from exc
    if not isinstance(array, np.ndarray):  # an .npz opened as .npy
        raise PointCloudFormatError(path, "expected a single .npy array, got an archive")
    return array


def _columns_to_points(columns: dict[str, np.ndarray], path: Path) -> np.ndarray:
    """(N, 4) float64 from named columns (x, y, z required; intensity optional)."""
    lower = {name.lower(): name for name in columns}
    missing = [axis for axis in "xyz" if axis not in lower]
    if missing:
        raise PointCloudFormatError(
            path, f"no field {', '.join(missing)} (fields: {', '.join(columns) or 'none'})"
        )
    n = len(columns[lower["x"]])
    out = np.zeros((n, 4), dtype=np.float64)
    for j, axis in enumerate("xyz"):
        out[:, j] = columns[lower[axis]]
    intensity = next((lower[f] for f in INTENSITY_FIELDS if f in lower), None)
    if intensity is not None:
        out[:, 3] = columns[intensity]
    return out


def read_point_cloud(
    path: str | Path, drop_nonfinite: bool = False, intensity_scale: float | None = None
) -> np.ndarray:
    """Read a point cloud file by its suffix.

    Args:
        path: ``.bin``, ``.npy``, ``.pcd`` or ``.ply``.
        drop_nonfinite: remove points with a NaN/inf coordinate or intensity instead of raising.
        intensity_scale: multiply the intensity column by this (e.g. ``1/255``); None keeps it.

    Returns:
        (N, 4) float32 ``[x, y, z, intensity]``, the file's frame, metres; N may be 0.

    Raises:
        FileNotFoundError: no such file.
        PointCloudFormatError: an unknown suffix, an unreadable or malformed file, a wrong shape
            or dtype, or (without ``drop_nonfinite``) non-finite values; the message names the
            file.

    Example:
        >>> pts = read_point_cloud("tests/data/kitti_samples/training/velodyne/000000.bin")
        >>> pts.shape, pts.dtype
        ((800, 4), dtype('float32'))
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: point cloud not found")
    suffix = path.suffix.lower()
    if suffix == ".bin":
        raw = _read_bin(path)
    elif suffix == ".npy":
        raw = _read_npy(path)
    elif suffix == ".pcd":
        from perception3d.data.pcd import read_pcd_columns

        raw = _columns_to_points(read_pcd_columns(path), path)
    elif suffix == ".ply":
        from perception3d.data.ply import read_ply_columns

        raw = _columns_to_points(read_ply_columns(path), path)
    else:
        raise PointCloudFormatError(
            path, f"unknown point-cloud suffix {path.suffix!r}, expected one of {SUFFIXES}"
        )
    if drop_nonfinite and raw.dtype.kind == "f" and raw.ndim == 2:
        raw = raw[np.isfinite(raw).all(axis=1)]
    points = points_from_array(raw, path)
    if intensity_scale is not None:
        points[:, 3] *= np.float32(intensity_scale)
    elif len(points) and points[:, 3].max() > 1.0:
        warnings.warn(
            f"{path}: intensity up to {points[:, 3].max():.4g}; KITTI-trained models expect "
            "reflectance in [0, 1] (rescale with --intensity-scale / intensity_scale)",
            stacklevel=2,
        )
    return points


def _read_bin(path: Path) -> np.ndarray:
    """(N, 4) float32 of a KITTI ``.bin`` (the checks of ``kitti.read_velodyne`` but finiteness,
    left to the caller so that ``drop_nonfinite`` applies)."""
    raw = path.read_bytes()
    if len(raw) % 16:
        raise PointCloudFormatError(
            path, f"size {len(raw)} bytes is not a multiple of 16 (float32 x, y, z, intensity)"
        )
    return np.frombuffer(raw, dtype="<f4").reshape(-1, 4)


def _has_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def expand_point_cloud_inputs(inputs: Iterable[str | Path]) -> list[Path]:
    """Files named by ``inputs``: files as given, folders as their point-cloud files
    (sorted, not recursive), glob patterns as their sorted matches.

    Raises:
        FileNotFoundError: an input that is neither a file, a folder nor a matching pattern.
        PointCloudFormatError: an explicit file with an unknown suffix, or two inputs with the
            same stem (their outputs would collide).
    """
    files: list[Path] = []
    for item in inputs:
        text = str(item)
        path = Path(text).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
            if not found:
                raise FileNotFoundError(f"{path}: no {'/'.join(SUFFIXES)} files in this folder")
        elif path.is_file():
            if path.suffix.lower() not in SUFFIXES:
                raise PointCloudFormatError(
                    path, f"unknown point-cloud suffix {path.suffix!r}, expected one of {SUFFIXES}"
                )
            found = [path]
        elif _has_glob(text):
            found = sorted(
                Path(p)
                for p in glob.glob(str(path))
                if Path(p).suffix.lower() in SUFFIXES and Path(p).is_file()
            )
            if not found:
                raise FileNotFoundError(f"{text}: the pattern matches no point-cloud file")
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
        files += found
    return _unique_stems(files)


def _unique_stems(files: Sequence[Path]) -> list[Path]:
    seen: dict[str, Path] = {}
    out = []
    for path in files:
        key = path.stem
        if key in seen:
            if seen[key].resolve() == path.resolve():
                continue  # the same file named twice
            raise PointCloudFormatError(
                path, f"same frame name {key!r} as {seen[key]}: their outputs would collide"
            )
        seen[key] = path
        out.append(path)
    return out
