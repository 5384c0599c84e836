"""The output folder of ``perception3d synth``: what a run may write into, what
``--overwrite`` removes (the manifest's files only, ``perception3d.sim.manifest``), what
``--resume`` completes, and the temporaries of interrupted writes."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from perception3d.atomic import temporary_target
from perception3d.config import to_dict
from perception3d.errors import DataFormatError, Perception3DError
from perception3d.sim.config import SynthConfig
from perception3d.sim.frame import frame_id
from perception3d.sim.manifest import (
    CONFIG_NAME,
    DATASET_ENTRY,
    DATASET_FILES,
    FRAME_FILES,
    MANIFEST_DIR,
    foreign_files,
    frame_paths,
    listed_files,
    record,
)

__all__ = ["DatasetExistsError", "check_out_dir", "frame_done", "remove_temporaries"]


class DatasetExistsError(Perception3DError, FileExistsError):
    """The output folder holds something this run must not overwrite."""


def frame_done(root: Path, fid: str) -> bool:
    return (root / "training" / "meta" / f"{fid}.json").is_file()


def _frame_started(root: Path, fid: str) -> bool:
    return any((root / "training" / sub / f"{fid}{ext}").exists() for sub, ext in FRAME_FILES)


def _frame_index(name: str) -> int | None:
    """Frame index of a per-frame file name (``000012.png``, ``.000012.png.x1y2.tmp``)."""
    stem = name.lstrip(".").split(".")[0]
    return int(stem) if stem.isdigit() else None


def _shard_files(root: Path, shard: tuple[int, int], pattern: str):
    """Per-frame files (matching ``pattern``) of frames that belong to ``shard``."""
    i, n = shard
    for sub, _ in FRAME_FILES:
        folder = root / "training" / sub
        if folder.is_dir():
            for p in folder.glob(pattern):
                index = _frame_index(p.name)
                if index is not None and index % n == i:
                    yield p


def _in_shard(entry: str, shard: tuple[int, int]) -> bool:
    """Whether manifest entry ``entry`` (a frame id, or ``dataset``) belongs to ``shard``."""
    if entry == DATASET_ENTRY:
        return True
    return entry.isdigit() and int(entry) % shard[1] == shard[0]


def _clear(root: Path, shard: tuple[int, int]) -> None:
    """Remove the files the manifest lists for this shard's frames and the dataset files, the
    temporaries of their interrupted writes, and the folders this leaves empty. Nothing
    unlisted is touched; the other shards' frames stay, so every job of an array can pass
    --overwrite."""
    removed: set[str] = set()
    for entry, paths in listed_files(root).items():
        if not _in_shard(entry, shard):
            continue
        for rel in paths:
            (root / rel).unlink(missing_ok=True)
            removed.add(rel)
        (root / MANIFEST_DIR / f"{entry}.txt").unlink(missing_ok=True)
    for folder in {(root / rel).parent for rel in removed}:
        if folder.is_dir():
            for p in folder.glob(".*.tmp"):
                target = temporary_target(p.name)
                if target and (folder / target).relative_to(root).as_posix() in removed:
                    p.unlink(missing_ok=True)
    for folder in [root / "training" / sub for sub, _ in FRAME_FILES] + [
        root / "training",
        root / "ImageSets",
        root / MANIFEST_DIR,
    ]:
        try:
            folder.rmdir()  # only if empty
        except OSError:
            pass


def remove_temporaries(root: Path, shard: tuple[int, int]) -> None:
    """Temporary files of atomic writes killed mid-way (``.<name>.<random>.tmp``) of this
    shard's frames (another shard may be writing its own right now)."""
    for p in list(_shard_files(root, shard, ".*.tmp")):
        p.unlink(missing_ok=True)


def _refuse_foreign(root: Path, adopted: dict[str, list[str]]) -> None:
    owned = {p for paths in adopted.values() for p in paths}
    foreign = [p for p in foreign_files(root) if p not in owned]
    if not foreign:
        return
    shown = ", ".join(foreign[:5]) + (f", ... ({len(foreign)} files)" if len(foreign) > 5 else "")
    legacy = (root / CONFIG_NAME).is_file() and not (root / MANIFEST_DIR).is_dir()
    raise DatasetExistsError(
        f"{root} holds files that perception3d synth did not write, where it writes ({shown}): "
        "refusing to write into it (nothing was changed); choose an empty or new folder"
        + (
            f" (a dataset written by a version without {MANIFEST_DIR}/: --resume adopts its "
            "own files; or remove it yourself)"
            if legacy
            else ""
        )
    )


def _legacy_listing(root: Path) -> dict[str, list[str]]:
    """A dataset written before the manifest existed (``synth_config.yaml``, no manifest): its
    files that carry the generator's names (the dataset files, and the frame files of the
    frames its config asks for), by manifest entry; {} for any other folder. ``--resume``
    adopts them into the manifest; anything else there stays unlisted and is refused."""
    config = root / CONFIG_NAME
    if (root / MANIFEST_DIR).exists() or not config.is_file():
        return {}
    frames = _old_config(config).get("frames")
    if not isinstance(frames, int) or frames < 0:
        return {}
    listing = {DATASET_ENTRY: [p for p in DATASET_FILES if (root / p).is_file()]}
    for i in range(frames):
        paths = [p for p in frame_paths(frame_id(i)) if (root / p).is_file()]
        if paths:
            listing[frame_id(i)] = paths
    return listing


# Config keys added after datasets were written with the behaviour they now select: a stored
# config without the key was made with this value (section -> key -> value), so those datasets
# can still be resumed and grown with the same behaviour.
LEGACY_VALUES = {"labels": {"bbox_convention": "visible"}}
LEGACY_TOP_LEVEL = {"raw_camera": True}  # top-level keys (datasets before the key wrote both)


def _old_config(path: Path) -> dict:
    """The stored config of ``path``, with :data:`LEGACY_VALUES` for keys it predates."""
    try:
        old = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, f"not a readable synth config ({exc})") from None
    if not isinstance(old, dict):
        raise DataFormatError(path, f"expected a mapping of config keys, got {type(old).__name__}")
    for section, values in LEGACY_VALUES.items():
        if isinstance(old.get(section), dict):
            old[section] = {**values, **old[section]}
    old = {**LEGACY_TOP_LEVEL, **old}
    return old


def check_out_dir(
    root: Path,
    cfg: SynthConfig,
    shard: tuple[int, int],
    overwrite: bool,
    resume: bool,
    indices: Iterable[int] | None = None,
) -> None:
    """Refuse (``DatasetExistsError``) what this run must not do to ``root``; clear this
    shard's files when ``overwrite``. ``indices``: the frames this run writes (default: the
    shard's frames of ``cfg.frames``)."""
    if not root.exists() or not any(root.iterdir()):
        return
    adopted = _legacy_listing(root) if resume and not overwrite else {}
    _refuse_foreign(root, adopted)
    for entry, paths in adopted.items():
        record(root, entry, paths)
    if overwrite:
        _clear(root, shard)
        return
    existing = root / CONFIG_NAME
    if not existing.is_file():
        raise DatasetExistsError(
            f"{root} is not empty and holds no synthetic dataset ({CONFIG_NAME}): refusing to "
            "write into it; choose an empty or new folder"
        )
    old = _old_config(existing)
    new = to_dict(cfg)
    differs = sorted(k for k in set(old) | set(new) if k != "frames" and old.get(k) != new.get(k))
    if differs:
        raise DatasetExistsError(
            f"{root} holds a dataset made with a different config ({existing}: {differs} differ); "
            "pass --overwrite to replace it"
        )
    old_frames = old.get("frames")
    if old_frames != cfg.frames and not (resume and _at_least(cfg.frames, old_frames)):
        raise DatasetExistsError(
            f"{root} holds a dataset of {old_frames} frames ({existing}) and this run asks for "
            f"{cfg.frames}: --resume completes a run or grows it (--frames {old_frames} or "
            "more), it never shrinks one (its config and splits would leave frames on disk "
            "unlisted); pass --overwrite to replace it"
        )
    mine = range(shard[0], cfg.frames, shard[1]) if indices is None else indices
    if not resume and any(_frame_started(root, frame_id(i)) for i in mine):
        raise DatasetExistsError(
            f"{root} already holds frames of this run: pass --resume to complete it or "
            "--overwrite to start over"
        )


def _at_least(frames: int, old_frames: object) -> bool:
    return isinstance(old_frames, int) and frames >= old_frames
