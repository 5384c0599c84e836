"""Chosen frames of a synthetic dataset (``perception3d synth --frame-ids``).

Frame ``i`` of a dataset depends only on (config, seed, i) (``perception3d.sim.frame``), so the
frames an experiment needs can be generated alone, byte-identical to the same frames of the full
set. A root holding such a subset keeps the full set's ``synth_config.yaml`` (same seed, same
``frames``) and lists its frames in ``synth_frame_ids.txt`` (one six-digit id a line, listed
in the manifest like every file the generator writes); its ``ImageSets`` list exactly those
frames, each in the split the full set puts it in.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from perception3d.atomic import atomic_write_text
from perception3d.errors import DataFormatError
from perception3d.sim.manifest import SUBSET_NAME

__all__ = [
    "SUBSET_NAME",
    "format_frame_ids",
    "parse_frame_ids",
    "read_frame_ids_file",
    "read_subset",
    "write_subset",
]


def _index(token: str) -> int:
    if not token.isdigit():
        raise ValueError(f"a frame id is a non-negative integer such as 000010, got {token!r}")
    return int(token)


def parse_frame_ids(text: str) -> list[int]:
    """``"000010,000011"`` (commas and/or white space) -> sorted unique frame indices.

    Example:
        >>> parse_frame_ids("000011, 000010 7")
        [7, 10, 11]
    """
    tokens = [t for t in text.replace(",", " ").split() if t]
    if not tokens:
        raise ValueError("no frame id given (expected e.g. 000010,000011)")
    return sorted({_index(t) for t in tokens})


def read_frame_ids_file(path: str | Path) -> list[int]:
    """Frame ids of a text file (one or more a line, separated by commas or spaces; ``#``
    starts a comment; a KITTI ``ImageSets`` file qualifies) -> sorted unique indices.

    Raises:
        DataFormatError: a token is not a frame id (names the file and line), or none is there.
    """
    path = Path(path)
    ids: set[int] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.split("#", 1)[0]
        if not text.strip():
            continue
        try:
            ids.update(parse_frame_ids(text))
        except ValueError as exc:
            raise DataFormatError(path, str(exc), line=number) from None
    if not ids:
        raise DataFormatError(path, "no frame id in the file (expected e.g. 000010 per line)")
    return sorted(ids)


def format_frame_ids(indices: Iterable[int]) -> str:
    """Frame indices -> the text of ``synth_frame_ids.txt`` (six-digit ids, one a line).

    Example:
        >>> format_frame_ids([3, 12])
        '000003\\n000012\\n'
    """
    return "".join(f"{i:06d}\n" for i in sorted(set(indices)))


def read_subset(root: str | Path) -> list[int] | None:
    """The frame indices a subset root holds, or None for a full set (no ``SUBSET_NAME``)."""
    path = Path(root) / SUBSET_NAME
    return read_frame_ids_file(path) if path.is_file() else None


def write_subset(root: str | Path, indices: Iterable[int]) -> Path:
    """Write ``SUBSET_NAME`` atomically (list it in the manifest first)."""
    return atomic_write_text(Path(root) / SUBSET_NAME, format_frame_ids(indices))
