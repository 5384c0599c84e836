"""The ``Task`` protocol :func:`perception3d.engine.fit.fit` trains: what a model family
supplies, and nothing of the loop.

A task module (``perception3d/engine/tasks/<family>.py``) subclasses :class:`Task` and writes
four methods: :meth:`~Task.build_model`, :meth:`~Task.batches` (the batches of an epoch, with
:meth:`~Task.steps_per_epoch`), :meth:`~Task.loss` (a batch's loss and its named parts) and
:meth:`~Task.evaluate`; the other hooks have defaults. ``docs/architecture.md`` shows the
smallest real one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from perception3d.checkpoint import read_checkpoint
from perception3d.engine.distributed import DistInfo, EpochSampler
from perception3d.errors import ConfigError


class Task:
    """One model family's part of training.

    Attributes:
        config: the experiment dataclass (``task``, ``model``, ``data``, ``train`` and the
            class attribute ``kind``, the checkpoint kind); stored in every checkpoint.
    """

    config: Any

    def build_model(self) -> nn.Module:
        """A freshly initialised network (torch is seeded with ``train.seed`` before)."""
        raise NotImplementedError

    def prepare(self, progress: bool) -> None:
        """Load or cache what the batches need (called once, after :meth:`build_model`)."""

    def steps_per_epoch(self, shard: DistInfo) -> int:
        """How many batches :meth:`batches` yields per epoch in process ``shard.rank``."""
        raise NotImplementedError

    def batches(self, epoch: int, shard: DistInfo) -> Iterable[Any]:
        """This process's batches of ``epoch``; they depend only on (seed, epoch, index)."""
        raise NotImplementedError

    def loss(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        """The batch's loss (to minimise) and its named parts, for the logs. ``model`` may be
        wrapped in DistributedDataParallel: call it, use :func:`unwrap` for other methods."""
        raise NotImplementedError

    def evaluate(self, model: nn.Module, out_dir: Path, progress: bool) -> dict:
        """Validation (eval mode is set by the caller): a JSON-able dict, optionally with
        ``scalars`` (name -> number, for TensorBoard) and ``summary`` (one line)."""
        return {}

    # -- optional hooks ----------------------------------------------------------------
    def trainable(self, model: nn.Module) -> Iterable[nn.Parameter]:
        """The parameters the optimizer updates (default: all)."""
        return model.parameters()

    def load_init(self, model: nn.Module, path: Path) -> None:
        """Start from the weights of ``train.init_weights`` (a checkpoint of this kind)."""
        model.load_state_dict(read_checkpoint(path, self.config.kind)["model"])

    def threads(self, threads: int | None, device: torch.device) -> int | None:
        """The torch CPU thread count training uses (default: as configured)."""
        return threads

    def describe(self) -> dict:
        """Facts about the prepared data for the history (e.g. object counts)."""
        return {}

    def release_extra(self) -> dict:
        """Plain data a loader needs beside the config, stored in the released weights."""
        return {}


def random_batch_steps(config: Any) -> int:
    """``train.steps_per_epoch`` of a task whose batches are random draws (no pass over the
    data defines its epoch).

    Raises:
        ConfigError: it is not set.
    """
    steps = config.train.steps_per_epoch
    if steps is None:
        raise ConfigError(f"task {config.task!r} draws random batches: set train.steps_per_epoch")
    return steps


def random_batch_rngs(config: Any, shard: DistInfo, epoch: int) -> Iterator[np.random.Generator]:
    """One generator per step of an epoch of random-draw batches
    (:func:`random_batch_steps` of them), seeded by ``train.seed``, the rank and the global
    step: the same draws on a resumed run, different draws on every rank."""
    steps = random_batch_steps(config)
    for i in range(steps):
        yield np.random.default_rng([config.train.seed, shard.rank, epoch * steps + i])


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside DistributedDataParallel (or ``model`` itself)."""
    return getattr(model, "module", model)


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's parameters."""
    return next(unwrap(model).parameters()).device


def index_batches(
    n: int, batch_size: int, seed: int, epoch: int, shard: DistInfo, min_size: int = 1
) -> Iterator[np.ndarray]:
    """Batches of sample indices for one epoch and process: a permutation of ``range(n)``
    seeded by ``(seed, epoch)`` (as :class:`~perception3d.engine.distributed.EpochSampler`
    draws it: padded by wrapping around so every process gets as many), this process's
    share (every ``world_size``-th index), cut into batches; a last batch smaller than
    ``min_size`` is dropped (batch norm needs 2).

    Example:
        >>> [b.tolist() for b in index_batches(5, 2, 0, 0, DistInfo(), min_size=2)]
        [[2, 4], [3, 0]]
    """
    sampler = EpochSampler(n, seed, True, shard.rank, shard.world_size)
    sampler.set_epoch(epoch)
    order = np.fromiter(sampler, dtype=np.int64, count=len(sampler))
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        if len(batch) >= min_size:
            yield batch


def count_index_batches(n: int, batch_size: int, shard: DistInfo, min_size: int = 1) -> int:
    """The number of batches :func:`index_batches` yields.

    Example:
        >>> count_index_batches(5, 2, DistInfo(), min_size=2)
        2
    """
    full, rest = divmod(len(EpochSampler(n, 0, True, shard.rank, shard.world_size)), batch_size)
    return full + (1 if rest >= min_size else 0)
