"""Error types raised on bad input. Each message names the file, the line or field, and what
was expected, so a user can fix the data without reading our code."""

from __future__ import annotations

from pathlib import Path


class Perception3DError(Exception):
    """Base class of the errors perception3d raises on purpose."""


class DataFormatError(Perception3DError, ValueError):
    """A data file does not follow its format.

    Args:
        path: the offending file.
        message: what was wrong and what was expected.
        line: 1-based line number, when the format is line oriented.
    """

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        where = f"{self.path}" if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {message}")


class KittiFormatError(DataFormatError):
    """A KITTI file (velodyne .bin, calib, label, result) is malformed."""


class MissingFrameError(Perception3DError, FileNotFoundError):
    """A frame id was asked for that the dataset does not have."""


class ConfigError(Perception3DError, ValueError):
    """A YAML config has an unknown or missing key, or a value of the wrong type."""


class PointCloudFormatError(DataFormatError):
    """A point-cloud file (.bin, .npy, .pcd, .ply) is unreadable or holds bad values."""


class MissingExtraError(Perception3DError, ImportError):
    """An optional dependency (a ``pip install 'perception3d[EXTRA]'`` extra) is not installed;
    the message names the extra."""


class OutputExistsError(Perception3DError, FileExistsError):
    """An output folder already holds another run's results, which a new run would mix with
    or replace."""


MIS_ENCODED = " (a binary or mis-encoded file?)"


def read_utf8(
    path: str | Path,
    expected: str = "UTF-8 text",
    error: type[DataFormatError] = DataFormatError,
    hint: str = MIS_ENCODED,
) -> str:
    """The text of ``path``, or ``error`` naming the first byte that is not UTF-8 and its
    offset: ``"<path>: expected <expected>, got byte 0x.. at offset N<hint>"``.

    Raises:
        FileNotFoundError: no such file.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            path,
            f"expected {expected}, got byte {data[exc.start]:#04x} at offset {exc.start}{hint}",
        ) from None
