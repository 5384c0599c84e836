"""Which synthetic frames a weight file was trained on, and whether an evaluation uses them.

A synthetic frame is named by the generator seed of its dataset and its frame id (frame ``i``
of seed ``s`` has the same bytes in every set of seed ``s`` and the same config,
``perception3d.sim.frame``). A dataset root records its seed in ``synth_config.yaml`` (written
by ``perception3d synth`` and listed in its manifest; a root without it, such as real KITTI,
has no synthetic frames). A weight file records what it was trained on in the JSON beside it
(``<name>.json`` for ``<name>.pt``), key ``training_frames``::

    {"sources": [{"seed": 1000, "frames": 2400, "rule": "train split of val_fraction 0.125",
                  "count": 2097, "ids_bitmap": "<hex>"}, ...],
     "other": "what else it saw (procedural scenes, photographs), free text"}

``frames`` is the size of the set the ids come from; ``ids_bitmap`` is exact and compact: bit
``i`` (byte ``i // 8``, bit ``i % 8``, least significant first) is set when frame ``i`` was
trained on, as hex. ``count`` repeats the number of set bits (a check). Every shipped weight
file has this record (docs/weights_provenance.md).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from perception3d.errors import DataFormatError

__all__ = [
    "RECORD_KEY",
    "FrameSource",
    "SeenFrameWarning",
    "dataset_seed",
    "decode_ids",
    "encode_ids",
    "held_out_check",
    "read_training_frames",
    "seen_frames",
    "source_record",
]

RECORD_KEY = "training_frames"


class SeenFrameWarning(UserWarning):
    """An evaluation uses frames that the evaluated weights were trained on."""


@dataclass(frozen=True)
class FrameSource:
    """Frames of one generator seed a weight file was trained on.

    Attributes:
        seed: generator seed of the dataset.
        frames: size of the set the ids come from.
        ids: frame indices trained on.
        rule: how they were chosen, in words (e.g. "train split of val_fraction 0.125").
    """

    seed: int
    frames: int
    ids: frozenset[int]
    rule: str = ""


def encode_ids(indices: Iterable[int], frames: int) -> str:
    """Frame indices (each in [0, frames)) -> hex bitmap (see module docstring).

    Example:
        >>> encode_ids([0, 3, 9], 12)
        '0902'
        >>> decode_ids("0902", 12)
        [0, 3, 9]
    """
    bits = np.zeros(frames, dtype=bool)
    idx = np.asarray(sorted(set(indices)), dtype=np.int64)
    if idx.size and (idx[0] < 0 or idx[-1] >= frames):
        raise ValueError(f"frame indices must be in [0, {frames}), got {idx[0]}..{idx[-1]}")
    bits[idx] = True
    return np.packbits(bits, bitorder="little").tobytes().hex()


def decode_ids(bitmap_hex: str, frames: int) -> list[int]:
    """Hex bitmap -> sorted frame indices (inverse of :func:`encode_ids`)."""
    data = np.frombuffer(bytes.fromhex(bitmap_hex), dtype=np.uint8)
    if data.size != (frames + 7) // 8:
        raise ValueError(
            f"a bitmap of {frames} frames has {(frames + 7) // 8} bytes, got {data.size}"
        )
    bits = np.unpackbits(data, bitorder="little")
    if bits[frames:].any():
        raise ValueError(f"bitmap sets bits beyond frame {frames - 1}")
    return np.flatnonzero(bits[:frames]).tolist()


def source_record(seed: int, frames: int, indices: Iterable[int], rule: str) -> dict:
    """One entry of ``training_frames.sources`` (JSON-able)."""
    ids = sorted(set(indices))
    return {
        "seed": int(seed),
        "frames": int(frames),
        "rule": rule,
        "count": len(ids),
        "ids_bitmap": encode_ids(ids, frames),
    }


def read_training_frames(weights: str | Path) -> list[FrameSource] | None:
    """The synthetic frames ``weights`` was trained on, from the JSON beside it; None when
    there is no JSON or it has no record (nothing is known: no check is possible).

    Raises:
        DataFormatError: the record is malformed (names the JSON file and the field).
    """
    path = Path(weights).with_suffix(".json")
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, f"not valid JSON ({exc})") from None
    record = doc.get(RECORD_KEY) if isinstance(doc, dict) else None
    if record is None:
        return None
    try:
        return [_source(s) for s in record["sources"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise DataFormatError(
            path, f"{RECORD_KEY}.sources: expected entries with seed, frames, count and "
            f"ids_bitmap (docs/weights_provenance.md): {exc!r}"
        ) from None  # fmt: skip


def _source(entry: dict) -> FrameSource:
    frames = int(entry["frames"])
    ids = decode_ids(str(entry["ids_bitmap"]), frames)
    if len(ids) != int(entry["count"]):
        raise ValueError(f"count {entry['count']} but the bitmap holds {len(ids)} frames")
    return FrameSource(int(entry["seed"]), frames, frozenset(ids), str(entry.get("rule", "")))


def dataset_seed(root: str | Path) -> int | None:
    """Generator seed of a synthetic dataset root (its ``synth_config.yaml``); None for a root
    that is not one (real KITTI, a folder of links to several sets)."""
    path = Path(root) / "synth_config.yaml"
    if not path.is_file():
        return None
    try:
        seed = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("seed")
    except (yaml.YAMLError, UnicodeDecodeError, AttributeError) as exc:
        raise DataFormatError(path, f"not a readable synth config ({exc})") from None
    return seed if isinstance(seed, int) else None


def seen_frames(weights: str | Path, seed: int, frame_ids: Iterable[str]) -> list[str]:
    """The ids among ``frame_ids`` (of a dataset of generator seed ``seed``) that ``weights``
    was trained on, in the given order ([] when the weights carry no record)."""
    sources = read_training_frames(weights) or []
    seen = set().union(*(s.ids for s in sources if s.seed == seed))
    return [f for f in frame_ids if f.isdigit() and int(f) in seen]


def held_out_check(
    weights: Iterable[str | Path | None], root: str | Path | None, frame_ids: Iterable[str]
) -> list[str]:
    """One message per weight file that was trained on some of ``frame_ids`` of the dataset at
    ``root`` (same generator seed, same frame id), each also issued as a
    :class:`SeenFrameWarning`; [] when every frame is held out, the root is not synthetic, or
    the weights record nothing. Commands that evaluate weights put the messages in their
    output and report. ``root`` None (procedural scenes only): []."""
    seed = None if root is None else dataset_seed(root)
    if seed is None:
        return []
    ids = list(frame_ids)
    messages = []
    for w in dict.fromkeys(Path(p) for p in weights if p is not None):
        seen = seen_frames(w, seed, ids)
        if seen:
            shown = ", ".join(seen[:8]) + (", ..." if len(seen) > 8 else "")
            messages.append(
                f"{w.name} was trained on {len(seen)} of the {len(ids)} evaluated frames "
                f"(seed {seed} of {root}: {shown}): its results on them are not held-out "
                "results (docs/weights_provenance.md)"
            )
    for m in messages:
        warnings.warn(m, SeenFrameWarning, stacklevel=2)
    return messages
