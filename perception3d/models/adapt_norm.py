"""Adaptation without labels by re-estimating normalization statistics (AdaBN: Li, Wang, Shi,
Liu, Hou, "Revisiting Batch Normalization For Practical Domain Adaptation", ICLR workshop 2017).

A network trained on synthetic data keeps, in each BatchNorm layer, the mean and variance of
its synthetic activations. On another domain (real sweeps, real images) the activations have
other statistics, and every normalized layer is off by that shift. AdaBN replaces the stored
statistics by those of target-domain inputs (no labels, no gradient, the learned weights
unchanged): each BatchNorm layer in training mode over the target batches, cumulative average
(``momentum=None``), everything else (dropout, the model's own ``training`` flag) in eval mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import torch
from torch import nn

__all__ = ["batchnorm_layers", "reestimate_batchnorm"]

Batch = TypeVar("Batch")


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorm layers (1d/2d/3d, sync) of ``model`` that keep running statistics."""
    return [
        m
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]


@torch.no_grad()
def reestimate_batchnorm(
    model: nn.Module,
    batches: Iterable[Batch],
    forward: Callable[[nn.Module, Batch], object],
) -> int:
    """Replace every BatchNorm layer's running mean and variance of ``model`` by the
    statistics of its inputs over ``batches`` (in place); return the number of batches used.

    Args:
        model: the network (its weights are not changed; it is left in eval mode).
        batches: target-domain inputs, each passed to ``forward`` once.
        forward: runs ``model`` on one batch, e.g. ``lambda m, b: m(b)``.

    The statistics are the cumulative average of the batches' own statistics (equal weight
    per batch, as ``torch.optim.swa_utils.update_bn`` computes them), so the result does not
    depend on the order of the batches beyond float rounding. The stored variance is the mean
    of the per-batch variances: the spread of the batch means is not in it, so one batch
    holding every input (or large ones) gives the population variance; during the pass each
    batch is normalized by its own statistics.

    Raises:
        ValueError: ``model`` has no BatchNorm layer with running statistics, or ``batches``
            is empty. On any error the model keeps the statistics it had.
    """
    layers = batchnorm_layers(model)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no BatchNorm layer to re-estimate")
    saved = [(m.momentum, {k: b.clone() for k, b in m.named_buffers()}) for m in layers]
    model.eval()
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average over the batches
        m.train()
    n, done = 0, False
    try:
        for batch in batches:
            forward(model, batch)
            n += 1
        done = n > 0
    finally:
        for m, (momentum, buffers) in zip(layers, saved):
            m.momentum = momentum
            m.eval()
            if not done:  # an error or no batch: the model keeps its own statistics
                for k, b in m.named_buffers():
                    b.copy_(buffers[k])
    if n == 0:
        raise ValueError("no batch to re-estimate the BatchNorm statistics on")
    return n
