"""Data-parallel plumbing for ``torchrun``: process-group set-up from the environment (gloo on
CPU, nccl on CUDA) and a deterministic epoch sampler that splits frames across processes."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Sampler


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job (``world_size == 1``: not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group ``torchrun`` describes in ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``
    (a plain run gives a 1-process :class:`DistInfo` and no group)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return info


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def broadcast_buffers(module: torch.nn.Module, info: DistInfo) -> None:
    """Copy rank 0's buffers (batch-norm running statistics) to every process. DDP sends them
    at the start of each forward, so after the last step of an epoch the replicas' statistics
    differ by that step's update until this runs."""
    if info.enabled:
        for buf in module.buffers():
            dist.broadcast(buf, src=0)


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


class EpochSampler(Sampler[int]):
    """Indices of one process for one epoch.

    The order is a permutation seeded by ``(seed, epoch)`` (or ``0..n-1`` without shuffling),
    padded by wrapping around to a multiple of ``world_size``; process ``rank`` takes every
    ``world_size``-th index from ``rank``. The same seed and epoch give the same indices in any
    run, which is what makes a resumed run identical to an uninterrupted one.

    Example:
        >>> list(EpochSampler(5, shuffle=False, rank=1, world_size=2))
        [1, 3, 0]
    """

    def __init__(
        self, n: int, seed: int = 0, shuffle: bool = True, rank: int = 0, world_size: int = 1
    ) -> None:
        self.n, self.seed, self.shuffle = n, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-self.n // self.world_size)

    def __iter__(self):
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
        else:
            order = np.arange(self.n)
        total = len(self) * self.world_size
        order = np.resize(order, total)  # wraps around
        return iter(order[self.rank :: self.world_size].tolist())
