"""The standard KITTI object splits, shipped in the package (``perception3d/assets/splits/``),
and ``perception3d kitti-splits``, which writes them to a dataset's ``ImageSets/``.

The KITTI site distributes no split files; the field uses the 3,712 / 3,769 frame halves of
Chen et al. (NIPS 2015) for train / val and the 7,518 test frames (REFERENCE.md).

Example:
    >>> len(kitti_split_ids("train")), len(kitti_split_ids("val")), kitti_split_ids("test")[-1]
    (3712, 3769, '007517')
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from perception3d.atomic import atomic_write_text
from perception3d.errors import Perception3DError

__all__ = [
    "KITTI_SPLITS",
    "SplitFileConflict",
    "SplitWrite",
    "kitti_split_ids",
    "write_kitti_splits",
]

KITTI_SPLITS = ("train", "val", "trainval", "test")


class SplitFileConflict(Perception3DError, FileExistsError):
    """An existing split file differs from the standard one (and ``force`` was not given)."""


def _split_text(name: str) -> str:
    if name not in KITTI_SPLITS:
        raise ValueError(f"split must be one of {KITTI_SPLITS}, got {name!r}")
    return resources.files("perception3d").joinpath("assets", "splits", f"{name}.txt").read_text()


def kitti_split_ids(name: str) -> list[str]:
    """The frame ids of a standard split (``train``, ``val``, ``trainval``, ``test``)."""
    return [line.strip() for line in _split_text(name).splitlines() if line.strip()]


@dataclass(frozen=True)
class SplitWrite:
    """What :func:`write_kitti_splits` did with one split.

    Attributes:
        name: the split; path: its file.
        status: ``written`` (new), ``unchanged`` (already the standard ids), ``replaced`` (a
            different file overwritten with ``force``).
        num_ids: ids in the standard split.
        present: how many of them have a ``velodyne/<id>.bin`` under the root.
        previous_ids: ids the replaced file held (``replaced`` only).
    """

    name: str
    path: Path
    status: str
    num_ids: int
    present: int
    previous_ids: int | None = None


def _describe_difference(path: Path, old: list[str], new: list[str]) -> str:
    first = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    at = f"line {first + 1}: {old[first] if first < len(old) else 'end of file'!r}"
    return f"{path} holds {len(old)} ids, the standard split {len(new)}; first difference at {at}"


def write_kitti_splits(
    data_root: str | Path, splits: tuple[str, ...] = KITTI_SPLITS, force: bool = False
) -> list[SplitWrite]:
    """Write the standard split files to ``data_root/ImageSets/<split>.txt``.

    An existing file with the same ids (any line endings, blank lines) is left as it is; a
    different one is only replaced with ``force``, and the result says so.

    Args:
        data_root: KITTI root (``training/``, ``testing/``; they need not exist yet).
        splits: which splits to write.
        force: replace existing files that differ.

    Returns:
        One :class:`SplitWrite` per split, in order.

    Raises:
        SplitFileConflict: an existing file differs and ``force`` is False; nothing is written.
    """
    data_root = Path(data_root)
    plans = []
    for name in splits:
        path = data_root / "ImageSets" / f"{name}.txt"
        ids = kitti_split_ids(name)
        old = None
        if path.is_file():
            old = [s.strip() for s in path.read_text().splitlines() if s.strip()]
            if old != ids and not force:
                raise SplitFileConflict(
                    f"{_describe_difference(path, old, ids)}; not replaced (kitti-splits --force "
                    "replaces it)"
                )
        plans.append((name, path, ids, old))
    out = []
    for name, path, ids, old in plans:
        if old == ids:
            status = "unchanged"
        else:
            atomic_write_text(path, _split_text(name))
            status = "written" if old is None else "replaced"
        folder = data_root / ("testing" if name == "test" else "training") / "velodyne"
        present = sum((folder / f"{i}.bin").is_file() for i in ids) if folder.is_dir() else 0
        previous = None if status != "replaced" else len(old)
        out.append(SplitWrite(name, path, status, len(ids), present, previous))
    return out
