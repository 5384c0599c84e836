"""Checkpoints: ``{model, optimizer, epoch, config, version}`` (plus the scheduler state),
written atomically and read with ``torch.load(..., weights_only=True)``.

``config`` is the whole experiment config as plain data (``perception3d.config.to_dict``), so a
checkpoint alone rebuilds its detector; ``version`` is the checkpoint format, bumped whenever
the layout of the state dicts changes.
"""

from __future__ import annotations

from pathlib import Path

import torch

from perception3d.atomic import atomic_write
from perception3d.config import from_dict, to_dict
from perception3d.engine.config import ExperimentConfig
from perception3d.errors import Perception3DError

CHECKPOINT_VERSION = 1
REQUIRED_KEYS = ("model", "optimizer", "epoch", "config", "version")
# model config keys that do not change the weights: a checkpoint loads whatever they are
FREE_MODEL_KEYS = ("model.postprocess", "model.loss")


class CheckpointError(Perception3DError, ValueError):
    """A checkpoint is unreadable, of another format version, or of another model."""


def checkpoint_state(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    epoch: int,
    cfg,
    version: int,
    scheduler=None,
    extra: dict | None = None,
) -> dict:
    """The plain-data dict a checkpoint stores (``optimizer=None``: weights only)."""
    return {
        "model": model.state_dict(),
        "optimizer": {} if optimizer is None else optimizer.state_dict(),
        "scheduler": {} if scheduler is None else scheduler.state_dict(),
        "epoch": int(epoch),
        "config": to_dict(cfg),
        "version": version,
        "extra": extra or {},
    }


def read_checkpoint_file(path: str | Path):
    """``torch.load(path, weights_only=True)`` on CPU, with errors that name the file.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: the file does not unpickle as plain data.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc})") from exc


def save_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    epoch: int,
    cfg: ExperimentConfig,
    scheduler=None,
    extra: dict | None = None,
) -> Path:
    """Write a checkpoint atomically.

    Args:
        path: output ``.pt`` file.
        model: the detector (unwrapped from DDP).
        optimizer: its optimizer, or None (a weights-only release: ``optimizer`` is ``{}``).
        epoch: number of completed epochs.
        cfg: the experiment config.
        scheduler: lr scheduler whose state to keep, if any.
        extra: more plain data (metrics, timing) stored under ``"extra"``.
    """
    state = checkpoint_state(model, optimizer, epoch, cfg, CHECKPOINT_VERSION, scheduler, extra)
    return atomic_write(path, lambda f: torch.save(state, f))


def load_checkpoint(path: str | Path, expected: ExperimentConfig | None = None) -> dict:
    """Read and check a checkpoint.

    Args:
        path: the ``.pt`` file.
        expected: when given, the checkpoint's ``model`` section must equal this config's,
            except ``postprocess`` and ``loss`` (free to change after training).

    Returns:
        The checkpoint dict, with ``"experiment"`` added: the stored config as an
        :class:`ExperimentConfig`.

    Raises:
        CheckpointError: not a perception3d checkpoint, another format version, or a model
            config different from ``expected`` (the differing keys are named).
        FileNotFoundError: no such file.
    """
    path = Path(path)
    ckpt = read_checkpoint_file(path)
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in REQUIRED_KEYS):
        keys = sorted(ckpt) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(
            f"{path}: not a perception3d checkpoint (expected keys {list(REQUIRED_KEYS)}, "
            f"got {keys})"
        )
    if ckpt["version"] != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {ckpt['version']}, this perception3d reads "
            f"version {CHECKPOINT_VERSION}"
        )
    try:
        ckpt["experiment"] = from_dict(ExperimentConfig, ckpt["config"], source=str(path))
    except Perception3DError as exc:
        raise CheckpointError(f"{path}: its config does not load: {exc}") from exc
    if expected is not None:
        # both sides through the dataclass, so keys added later with defaults compare equal
        stored = to_dict(ckpt["experiment"].model)
        diff = config_diff(to_dict(expected.model), stored, "model")
        diff = [d for d in diff if not d.startswith(FREE_MODEL_KEYS)]
        if diff:
            raise CheckpointError(
                f"{path}: checkpoint holds another model than the config "
                f"({ckpt['config']['model']['type']} vs {expected.model.type}); differing "
                f"keys: {', '.join(diff[:8])}"
            )
    return ckpt


def config_diff(a, b, prefix: str = "") -> list[str]:
    """Dotted keys where two plain config structures differ.

    Example:
        >>> config_diff({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 3}})
        ['b.c']
    """
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            key = f"{prefix}.{k}" if prefix else str(k)
            if k not in a or k not in b:
                out.append(key)
            else:
                out += config_diff(a[k], b[k], key)
        return out
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [prefix]
        return [
            d for i, (x, y) in enumerate(zip(a, b)) for d in config_diff(x, y, f"{prefix}[{i}]")
        ]
    return [] if a == b else [prefix]


def release_checkpoint(src: str | Path, dst: str | Path, note: dict | None = None) -> Path:
    """Write a weights-only copy of a training checkpoint (empty optimizer and scheduler
    state, a third of the size) with ``note`` (training command, seed, time...) merged into
    ``extra``; it loads like any checkpoint but cannot be resumed from."""
    ckpt = load_checkpoint(src)
    extra = dict(ckpt.get("extra", {}))
    extra.update(note or {})
    state = {
        "model": ckpt["model"],
        "optimizer": {},
        "scheduler": {},
        "epoch": ckpt["epoch"],
        "config": ckpt["config"],
        "version": ckpt["version"],
        "extra": extra,
    }
    return atomic_write(dst, lambda f: torch.save(state, f))
