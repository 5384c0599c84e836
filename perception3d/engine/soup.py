"""Weight averaging of checkpoints of one network (a "model soup").

Networks fine-tuned from one initialisation tend to lie in one basin of the loss, so the
average of their weights is itself a good network, often better than each ingredient under a
distribution shift (Wortsman et al., "Model soups", ICML 2022). A soup costs nothing at
inference, unlike an ensemble of predictions.

Only ingredients of the same kind and network with the same state-dict keys, shapes and dtypes
are mixed; their model configs may differ in the keys that do not change the weights (the
experiment's ``FREE_MODEL_KEYS``, e.g. a detector's ``postprocess`` and ``loss``), and the soup
keeps the first ingredient's. Floating tensors (weights and BatchNorm running statistics) are
averaged in float64 and cast back; integer tensors (BatchNorm's ``num_batches_tracked``) are
counters with no meaningful average and are taken from the first ingredient.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch

from perception3d.checkpoint import (
    CheckpointError,
    file_sha256,
    make_checkpoint,
    read_checkpoint,
    write_checkpoint,
)
from perception3d.engine.checkpoint import differing_model_keys
from perception3d.engine.config import experiment_from_dict
from perception3d.errors import Perception3DError


def mixing_weights(n: int, weights: Sequence[float] | None = None) -> list[float]:
    """``weights`` normalised to sum 1 (None: uniform over ``n``).

    Raises:
        ValueError: not ``n`` weights, or one negative or not finite, or a sum of 0.
    """
    if weights is None:
        return [1.0 / n] * n
    if len(weights) != n:
        raise ValueError(f"got {len(weights)} weights for {n} state dicts")
    w = [float(x) for x in weights]
    if any(not math.isfinite(x) or x < 0 for x in w) or not sum(w) > 0:
        raise ValueError(f"weights must be finite, >= 0 and sum > 0, got {list(weights)}")
    return [x / sum(w) for x in w]


def average_state_dicts(states: Sequence[dict], weights: Sequence[float] | None = None) -> dict:
    """The weighted mean of state dicts with the same keys, shapes and dtypes.

    Args:
        states: N >= 1 state dicts.
        weights: N non-negative mixing weights with a positive sum (normalised here); None:
            uniform.

    Raises:
        ValueError: no state, mismatched keys / shapes / dtypes, or bad weights (named).

    Example:
        >>> a, b = {"w": torch.tensor([0.0, 2.0])}, {"w": torch.tensor([2.0, 4.0])}
        >>> average_state_dicts([a, b])["w"].tolist()
        [1.0, 3.0]
    """
    if not states:
        raise ValueError("average_state_dicts needs at least one state dict")
    w = torch.tensor(mixing_weights(len(states), weights), dtype=torch.float64)
    first = states[0]
    out = {}
    for i, state in enumerate(states[1:], start=1):
        if set(state) != set(first):
            extra, missing = sorted(set(state) - set(first)), sorted(set(first) - set(state))
            raise ValueError(
                f"state dict {i} has other keys than state dict 0: extra {extra[:5]}, "
                f"missing {missing[:5]}"
            )
    for key, ref in first.items():
        for i, state in enumerate(states[1:], start=1):
            t = state[key]
            if t.shape != ref.shape or t.dtype != ref.dtype:
                raise ValueError(
                    f"{key!r}: state dict {i} has shape {tuple(t.shape)} {t.dtype}, state dict "
                    f"0 has {tuple(ref.shape)} {ref.dtype}"
                )
        if not ref.is_floating_point():
            out[key] = ref.clone()
            continue
        acc = torch.zeros(ref.shape, dtype=torch.float64)
        for wi, state in zip(w, states):
            acc += wi * state[key].detach().to("cpu", torch.float64)
        out[key] = acc.to(ref.dtype)
    return out


def soup_checkpoints(
    paths: Sequence[str | Path],
    out: str | Path,
    weights: Sequence[float] | None = None,
    note: dict | None = None,
) -> Path:
    """Write the weights-only checkpoint whose model is the weighted mean of ``paths``'s.

    The soup keeps the first ingredient's kind, config and progress; its ``extra["soup"]``
    names every ingredient (path, sha256, weight), and ``note`` is merged into ``extra``.
    Written atomically.

    Raises:
        FileNotFoundError / CheckpointError: an unreadable ingredient (named).
        CheckpointError: ingredients of another kind, of another network (model configs that
            differ outside the free keys), or whose weights do not match the first's (the file
            and the differing keys are named).
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("a soup needs at least one checkpoint")
    ckpts = [read_checkpoint(p) for p in paths]
    ref = ckpts[0]
    ref_experiment = _experiment(paths[0], ref)
    for path, ckpt in zip(paths[1:], ckpts[1:]):
        if ckpt["kind"] != ref["kind"]:
            raise CheckpointError(
                f"{path}: a {ckpt['kind']!r} checkpoint, {paths[0]} is {ref['kind']!r}: "
                "a soup mixes one kind of network"
            )
        keys = differing_model_keys(_experiment(path, ckpt), ref_experiment)
        if keys:
            raise CheckpointError(
                f"{path}: its model config differs from {paths[0]}'s in {keys[:8]}: a soup "
                "mixes one network"
            )
    try:
        state = average_state_dicts([c["model"] for c in ckpts], weights)
    except ValueError as exc:
        raise CheckpointError(f"ingredients {[str(p) for p in paths]} do not mix: {exc}") from exc
    mix = mixing_weights(len(paths), weights)
    ingredients = [
        {"path": str(p), "sha256": file_sha256(p), "weight": wi} for p, wi in zip(paths, mix)
    ]
    extra = {"soup": {"ingredients": ingredients}, **(note or {})}
    soup = make_checkpoint(ref["kind"], state, ref["config"], ref["progress"], extra=extra)
    return write_checkpoint(out, soup)


def _experiment(path: Path, ckpt: dict):
    try:
        return experiment_from_dict(ckpt["config"], source=str(path))
    except Perception3DError as exc:
        raise CheckpointError(f"{path}: its config does not load: {exc}") from exc
