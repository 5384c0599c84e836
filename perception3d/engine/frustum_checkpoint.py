"""Checkpoints of the frustum pipeline's two networks: ``{kind, model, optimizer, scheduler,
epoch, config, version, extra}``, written atomically, read with ``weights_only=True``.

``kind`` is ``"detector2d"`` or ``"frustum"``; ``config`` the whole experiment as plain data,
so a checkpoint alone rebuilds its network.
"""

from __future__ import annotations

from pathlib import Path

import torch

from perception3d.atomic import atomic_write
from perception3d.config import from_dict
from perception3d.engine.checkpoint import CheckpointError, checkpoint_state, read_checkpoint_file
from perception3d.engine.frustum_config import Detector2DExperiment, FrustumExperiment

VERSION = 1
_KINDS = {"detector2d": Detector2DExperiment, "frustum": FrustumExperiment}


def save_frustum_checkpoint(
    path: str | Path,
    kind: str,
    model: torch.nn.Module,
    cfg,
    epoch: int,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler=None,
    extra: dict | None = None,
) -> Path:
    """Write a checkpoint atomically (``optimizer=None``: a weights-only release)."""
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {sorted(_KINDS)}, got {kind!r}")
    state = {
        "kind": kind,
        **checkpoint_state(model, optimizer, epoch, cfg, VERSION, scheduler, extra),
    }
    return atomic_write(path, lambda f: torch.save(state, f))


def load_frustum_checkpoint(path: str | Path, kind: str) -> dict:
    """Read a checkpoint of ``kind``; ``"experiment"`` is added (the config dataclass).

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: unreadable, another kind or format version.
    """
    path = Path(path)
    ckpt = read_checkpoint_file(path)
    if not isinstance(ckpt, dict) or ckpt.get("kind") != kind:
        got = ckpt.get("kind") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path}: expected a {kind!r} checkpoint, got {got!r}")
    if ckpt.get("version") != VERSION:
        raise CheckpointError(f"{path}: format version {ckpt.get('version')}, expected {VERSION}")
    ckpt["experiment"] = from_dict(_KINDS[kind], ckpt["config"], source=str(path))
    return ckpt


def release_frustum_checkpoint(src: str | Path, dst: str | Path, kind: str, note: dict) -> Path:
    """Weights-only copy of a training checkpoint (no optimizer or scheduler state) with
    ``note`` (command, seed, time, metrics) merged into ``extra``, plus ``note`` as JSON
    beside it (``dst`` with suffix ``.json``)."""
    import json

    from perception3d.atomic import atomic_write_text

    ckpt = load_frustum_checkpoint(src, kind)
    state = {k: ckpt[k] for k in ("kind", "model", "epoch", "config", "version")}
    state.update(optimizer={}, scheduler={}, extra={**ckpt.get("extra", {}), **note})
    dst = Path(dst)
    atomic_write(dst, lambda f: torch.save(state, f))
    atomic_write_text(dst.with_suffix(".json"), json.dumps(note, indent=2) + "\n")
    return dst
