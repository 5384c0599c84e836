"""The one weight-file format of perception3d, read and written here and nowhere else.

Every file a training run or a release writes is a dict of plain data (``torch.load(...,
weights_only=True)`` reads it)::

    {"kind": "detector",            # which family of network (KINDS)
     "model": state_dict,           # the weights
     "optimizer": {...},            # empty in a release (weights-only) file
     "scheduler": {...},            # empty in a release file
     "progress": {"epoch": 3, "step": 1200},   # completed epochs and optimizer steps
     "config": {...},               # the whole experiment (task, model, data, train) as plain data
     "version": 2,                  # this layout
     "extra": {...}}                # history, metrics, notes

``config`` alone rebuilds the network, so a file needs nothing beside it. This module sits
below every stage (like :mod:`perception3d.atomic` and :mod:`perception3d.config`) because
inference at every stage reads weights: the ISP pipeline, the segmentation net of
PointPainting, the detectors. Files of the formats before version 2 are refused with the
command that converts them once (``python tools/convert_checkpoint.py OLD NEW``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import torch

from perception3d.atomic import atomic_write
from perception3d.config import from_dict
from perception3d.errors import Perception3DError

FORMAT_VERSION = 2
KEYS = ("kind", "model", "optimizer", "scheduler", "progress", "config", "version", "extra")
# kind -> what such a file holds (for messages; a new model family's kind needs no entry)
KINDS = {
    "detector": "a voxel 3D detector (PointPillars, SECOND, PointPainting)",
    "detector2d": "the 2D image detector of Frustum PointNet",
    "frustum": "the Frustum PointNet 3D stage",
    "segnet": "the PointPainting segmentation net",
    "recognition": "an ObjectNet3D PointNet recognition network",
    "viewpoint": "an ObjectNet3D viewpoint network",
    "isp_raw": "the learned ISP raw stage (denoise + demosaic)",
    "isp_hdr": "the learned ISP HDR stage",
    "isp_dehaze": "the learned ISP dehaze stage",
    "isp_temporal": "the learned temporal ISP raw stage (recurrent multi-frame denoise + demosaic)",
}
CONVERT_HINT = "convert it once with: python tools/convert_checkpoint.py {path} NEW.pt"


class CheckpointError(Perception3DError, ValueError):
    """A weight file is unreadable, of another format version, or of another kind or model."""


def make_checkpoint(
    kind: str,
    model_state: dict,
    config: dict,
    progress: dict | None = None,
    optimizer: dict | None = None,
    scheduler: dict | None = None,
    extra: dict | None = None,
) -> dict:
    """The checkpoint dict of the module docstring (``optimizer``/``scheduler`` None: a
    weights-only release).

    Example:
        >>> ckpt = make_checkpoint("segnet", {}, {"task": "segnet"})
        >>> sorted(ckpt) == sorted(KEYS), ckpt["progress"]
        (True, {'epoch': 0, 'step': 0})
    """
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"kind must be a non-empty string (e.g. {sorted(KINDS)}), got {kind!r}")
    return {
        "kind": kind,
        "model": model_state,
        "optimizer": optimizer or {},
        "scheduler": scheduler or {},
        "progress": {"epoch": 0, "step": 0, **(progress or {})},
        "config": config,
        "version": FORMAT_VERSION,
        "extra": extra or {},
    }


def write_checkpoint(path: str | Path, ckpt: dict) -> Path:
    """Write ``ckpt`` (:func:`make_checkpoint`) to ``path`` atomically: the only
    ``torch.save`` of the package."""
    missing = [k for k in KEYS if k not in ckpt]
    if missing or not isinstance(ckpt["kind"], str):
        raise ValueError(f"not a checkpoint dict: missing {missing}, kind {ckpt.get('kind')!r}")
    return atomic_write(path, lambda f: torch.save(ckpt, f))


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes: the fingerprint of a weight file (the ISP-effect caches'
    keys, a soup's record of its ingredients)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_checkpoint_file(path: str | Path) -> Any:
    """``torch.load(path, weights_only=True)`` on CPU, with errors that name the file.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: the file does not unpickle as plain data.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found (no such file)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc})") from exc


def read_checkpoint(path: str | Path, kind: str | Sequence[str] | None = None) -> dict:
    """Read and check a checkpoint of the one format.

    Args:
        path: the ``.pt`` file.
        kind: the kind (or kinds) the caller can use; None accepts any.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: unreadable, an old format (the message gives the converter), another
            format version, or another kind than ``kind`` (both are named).
    """
    path = Path(path)
    ckpt = read_checkpoint_file(path)
    legacy = describe_legacy(ckpt)
    if legacy is not None:
        raise CheckpointError(f"{path}: {legacy} in the format before version {FORMAT_VERSION}; "
                              + CONVERT_HINT.format(path=path))  # fmt: skip
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in KEYS):
        keys = sorted(map(str, ckpt)) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(
            f"{path}: not a perception3d checkpoint (expected keys {list(KEYS)}, got {keys})"
        )
    if ckpt["version"] != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {ckpt['version']}, this perception3d reads "
            f"version {FORMAT_VERSION}"
        )
    wanted = (kind,) if isinstance(kind, str) else tuple(kind or ())
    if wanted and ckpt["kind"] not in wanted:
        expected = " or ".join(f"{k!r}" for k in wanted)
        raise CheckpointError(
            f"{path}: expected a {expected} checkpoint ({KINDS.get(wanted[0], wanted[0])}), got a "
            f"{ckpt['kind']!r} checkpoint ({KINDS.get(ckpt['kind'], ckpt['kind'])})"
        )
    return ckpt


ModelConfigT = TypeVar("ModelConfigT")


def read_model_checkpoint(
    path: str | Path,
    kind: str | Sequence[str],
    config_cls: type[ModelConfigT],
    what: str,
) -> tuple[dict, ModelConfigT]:
    """A weight file of ``kind`` and its ``config["model"]`` as ``config_cls``: what a network
    loader needs to build the network and load its weights.

    Args:
        path: the ``.pt`` file.
        kind: the kind (or kinds) the caller can use.
        config_cls: the dataclass of the network's model config.
        what: the network, for the missing-file message (e.g. "the SR stage").

    Raises:
        FileNotFoundError: the file is missing (``what`` is named).
        CheckpointError: see :func:`read_checkpoint`; or its model config does not load.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights of {what} not found: {path} is missing")
    ckpt = read_checkpoint(path, kind)
    try:
        cfg = from_dict(config_cls, ckpt["config"].get("model"), source=str(path))
    except Perception3DError as exc:
        raise CheckpointError(f"{path}: its model config does not load: {exc}") from exc
    return ckpt, cfg


def describe_legacy(obj: Any) -> str | None:
    """What an old-format weight file is (None: not one of the old formats).

    Example:
        >>> describe_legacy({"info": {"stage": "raw"}, "state_dict": {}})
        "an ISP 'raw' stage weight file"
    """
    if not isinstance(obj, dict) or obj.get("version") == FORMAT_VERSION:
        return None
    keys = set(obj)
    if {"arch", "state_dict"} <= keys:
        return "a segmentation net file" if "step" not in keys else "a train-seg checkpoint"
    if {"info", "state_dict"} <= keys and isinstance(obj["info"], dict):
        return f"an ISP {obj['info'].get('stage', '?')!r} stage weight file"
    if {"state_dict", "config", "classes"} <= keys:
        return "an ObjectNet3D model.pt"
    if {"model", "epoch", "config"} <= keys and obj.get("version") == 1:
        return f"a {obj.get('kind', 'detector')!r} checkpoint"
    return None


def release_checkpoint_file(
    src: str | Path, dst: str | Path, note: dict | None = None, kind: str | None = None
) -> Path:
    """Write a weights-only copy of a training checkpoint (empty optimizer and scheduler
    state) with ``note`` (command, seed, time, metrics...) merged into ``extra``; it loads
    like any checkpoint but cannot be resumed from."""
    return write_weights_copy(dst, read_checkpoint(src, kind), note=note)


def write_weights_copy(
    path: str | Path, ckpt: dict, model_state: dict | None = None, note: dict | None = None
) -> Path:
    """Write a weights-only copy of the checkpoint dict ``ckpt`` (empty optimizer and scheduler
    state; kind, config and progress kept) to ``path`` atomically, its weights replaced by
    ``model_state`` when given (e.g. re-estimated BatchNorm statistics) and ``note`` merged
    into ``extra``."""
    copy = {**ckpt, "optimizer": {}, "scheduler": {}, "extra": {**ckpt["extra"], **(note or {})}}
    if model_state is not None:
        copy["model"] = model_state
    return write_checkpoint(path, {k: copy[k] for k in KEYS})


def is_release(ckpt: dict) -> bool:
    """Whether ``ckpt`` holds weights only (no optimizer state to resume from)."""
    return not ckpt["optimizer"]
