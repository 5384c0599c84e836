"""Checkpoints as the engine uses them: typed loading (the stored config as its experiment
dataclass, the model checked against a config) and the save and release functions that take a
model and a config. The file format itself is :mod:`perception3d.checkpoint`; the checks of a
resumed run are in :mod:`perception3d.engine.resume`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from perception3d.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    make_checkpoint,
    read_checkpoint,
    read_checkpoint_file,
    release_checkpoint_file,
    write_checkpoint,
)
from perception3d.config import to_dict
from perception3d.engine.config import ExperimentConfig, experiment_from_dict
from perception3d.errors import Perception3DError

CHECKPOINT_VERSION = FORMAT_VERSION
__all__ = [
    "CHECKPOINT_VERSION",
    "CheckpointError",
    "check_same_model",
    "config_diff",
    "load_checkpoint",
    "read_checkpoint_file",
    "release_checkpoint",
    "save_checkpoint",
]


def save_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    epoch: int,
    cfg: Any,
    scheduler=None,
    extra: dict | None = None,
    step: int = 0,
) -> Path:
    """Write a checkpoint of ``cfg``'s kind atomically.

    Args:
        path: output ``.pt`` file.
        model: the network (unwrapped from DDP).
        optimizer: its optimizer, or None (a weights-only release: ``optimizer`` is ``{}``).
        epoch: number of completed epochs.
        cfg: the experiment config (e.g. :class:`ExperimentConfig`; its ``kind`` is stored).
        scheduler: lr scheduler whose state to keep, if any.
        extra: more plain data (metrics, timing) stored under ``"extra"``.
        step: number of completed optimizer steps.
    """
    ckpt = make_checkpoint(
        cfg.kind,
        model.state_dict(),
        to_dict(cfg),
        {"epoch": int(epoch), "step": int(step)},
        None if optimizer is None else optimizer.state_dict(),
        None if scheduler is None else scheduler.state_dict(),
        extra,
    )
    return write_checkpoint(path, ckpt)


def load_checkpoint(path: str | Path, expected: Any = None, kind: str | None = None) -> dict:
    """Read and check a checkpoint.

    Args:
        path: the ``.pt`` file.
        expected: an experiment config; the checkpoint must be of its kind and its ``model``
            section must equal this config's, except the keys the experiment declares free
            (a detector's ``postprocess`` and ``loss``).
        kind: the kind required when no ``expected`` is given (default: ``detector``).

    Returns:
        The checkpoint dict, with ``"experiment"`` (the stored config as its experiment
        dataclass) and ``"epoch"`` (completed epochs) added.

    Raises:
        CheckpointError: not a perception3d checkpoint, another format version or kind, or a
            model config different from ``expected`` (the differing keys are named).
        FileNotFoundError: no such file.
    """
    path = Path(path)
    kind = expected.kind if expected is not None else (kind or ExperimentConfig.kind)
    ckpt = read_checkpoint(path, kind)
    try:
        ckpt["experiment"] = experiment_from_dict(ckpt["config"], source=str(path))
    except Perception3DError as exc:
        raise CheckpointError(f"{path}: its config does not load: {exc}") from exc
    ckpt["epoch"] = int(ckpt["progress"]["epoch"])
    if expected is not None:
        check_same_model(path, ckpt["experiment"], expected)
    return ckpt


def differing_model_keys(stored: Any, expected: Any) -> list[str]:
    """The dotted keys (``model.…``) in which two experiments' ``model`` sections differ,
    outside ``expected``'s free keys (its class's ``FREE_MODEL_KEYS``: model keys that do not
    change the weights; none when the class does not declare it)."""
    free = tuple(f"model.{k}" for k in getattr(expected, "FREE_MODEL_KEYS", ()))
    # both sides through the dataclass, so keys added later with defaults compare equal
    diff = config_diff(to_dict(expected.model), to_dict(stored.model), "model")
    return [d for d in diff if not (free and d.startswith(free))]


def check_same_model(path: Path, stored: Any, expected: Any) -> None:
    """Raise :class:`CheckpointError` naming the keys of :func:`differing_model_keys`, if any,
    with their two values."""
    diff = differing_model_keys(stored, expected)
    if diff:
        want, have = {"model": to_dict(expected.model)}, {"model": to_dict(stored.model)}
        name = getattr(expected.model, "type", expected.task)
        shown = [_key_values(d, want, have) for d in diff[:8]]
        msg = (f"{path}: checkpoint holds another model than the config "
               f"({getattr(stored.model, 'type', stored.task)} vs {name}); differing keys: "
               f"{', '.join(shown)}")  # fmt: skip
        scalar = [d for d in diff if _is_scalar(_lookup(have, d))]
        if scalar and len(scalar) == len(diff) <= 3:
            sets = " ".join(f"--set {d}={_yaml_value(_lookup(have, d))}" for d in scalar)
            msg += f"; to load it, give the config the checkpoint's values ({sets})"
        raise CheckpointError(msg)


_MISSING = object()


def _lookup(tree: dict, dotted: str) -> Any:
    """The value at a dotted key of nested dicts (``_MISSING`` when absent)."""
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (bool, int, float, str)) or value is None


def _yaml_value(value: Any) -> str:
    if value is None:
        return "null"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _key_values(key: str, config: dict, checkpoint: dict) -> str:
    """``key`` with both sides' values when they are short scalars."""
    a, b = _lookup(config, key), _lookup(checkpoint, key)
    if _is_scalar(a) and _is_scalar(b):
        return f"{key} (config {_yaml_value(a)}, checkpoint {_yaml_value(b)})"
    return key


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
    return release_checkpoint_file(src, dst, note)
