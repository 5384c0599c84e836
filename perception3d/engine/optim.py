"""Optimizer and learning-rate schedule of a ``train:`` section
(:class:`perception3d.engine.config.TrainConfig`)."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from perception3d.engine.config import TrainConfig


def build_optimizer(params: Iterable[torch.nn.Parameter], tc: TrainConfig) -> torch.optim.Optimizer:
    """AdamW (decoupled weight decay) or Adam (L2 weight decay) at ``tc.lr_max``."""
    if tc.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=tc.lr_max, weight_decay=tc.weight_decay)
    if tc.optimizer == "adam":
        return torch.optim.Adam(params, lr=tc.lr_max, weight_decay=tc.weight_decay)
    raise ValueError(f"optimizer must be adamw or adam, got {tc.optimizer!r}")


def build_scheduler(optimizer: torch.optim.Optimizer, tc: TrainConfig, total_steps: int):
    """The schedule of ``tc.schedule`` over ``total_steps`` optimizer steps (stepped once per
    step).

    Example:
        >>> tc = TrainConfig(epochs=1, schedule="cosine", lr_max=1.0, min_lr_ratio=0.1)
        >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        >>> sched = build_scheduler(opt, tc, 10)
        >>> for _ in range(10):
        ...     opt.step(); sched.step()
        >>> round(sched.get_last_lr()[0], 6)
        0.1
    """
    if total_steps < 1:
        raise ValueError(f"a run needs at least one step, got {total_steps}")
    if tc.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=tc.lr_max,
            total_steps=total_steps,
            pct_start=tc.pct_start,
            div_factor=tc.div_factor,
            final_div_factor=tc.final_div_factor,
            base_momentum=0.85,  # Adam beta1 cycled 0.95 -> 0.85 -> 0.95
            max_momentum=0.95,
        )
    if tc.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, total_steps, eta_min=tc.lr_max * tc.min_lr_ratio
        )
    if tc.schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    raise ValueError(f"schedule must be onecycle, cosine or constant, got {tc.schedule!r}")


def schedule_length(scheduler_state: dict) -> int | None:
    """Total steps a stored scheduler state was built for (None: no fixed length)."""
    if "total_steps" in scheduler_state:
        return int(scheduler_state["total_steps"])
    if "T_max" in scheduler_state:
        return int(scheduler_state["T_max"])
    return None
