"""A base for tasks trained on random crops of linear-radiance scenes
(:mod:`perception3d.isp.data`): the SR networks and the low-light enhancer.

The experiment's ``data:`` is a :class:`perception3d.isp.data.CropData`. A subclass writes
:meth:`CropPairTask.make_pair` (a radiance crop and a generator -> the training pair of that
crop) and calls :meth:`CropPairTask.use_scenes` from its ``prepare``; the batches of an epoch
and the fixed validation pairs come from here.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from perception3d.engine.distributed import DistInfo
from perception3d.engine.task import Task, random_batch_rngs, random_batch_steps
from perception3d.isp.data import Scene, centre_crop, random_crops


class CropPairTask(Task):
    """Each step: ``make_pair`` of ``train.batch_size`` random ``data.crop`` x ``data.crop``
    crops of the training scenes, drawn from :func:`random_batch_rngs`. Validation: one
    ``make_pair`` per held-out scene of its centred ``data.val_crop_hw`` crop, seeded by
    ``(val_seed, index)`` whatever the training seed.

    Attributes:
        pool: the training scenes; ``val_names``, ``val_pairs``: the held-out ones.
    """

    val_seed: ClassVar[int]

    def __init__(self, cfg: Any) -> None:
        self.config = cfg
        self.pool: list[Scene] = []
        self.val_pairs: list[Any] = []
        self.val_names: list[str] = []

    def make_pair(self, radiance: torch.Tensor, rng: np.random.Generator) -> Any:
        """The training pair of (B, 3, H, W) linear ``radiance``."""
        raise NotImplementedError

    def use_scenes(self, pool: list[Scene], val: list[Scene]) -> None:
        """Train on ``pool``; make the validation pairs of ``val``."""
        hw = self.config.data.val_crop_hw
        self.pool = pool
        self.val_names = [sc.name for sc in val]
        self.val_pairs = [
            self.make_pair(centre_crop(sc, *hw), np.random.default_rng([self.val_seed, i]))
            for i, sc in enumerate(val)
        ]

    def steps_per_epoch(self, shard: DistInfo) -> int:
        return random_batch_steps(self.config)

    def batches(self, epoch: int, shard: DistInfo):
        tc, d = self.config.train, self.config.data
        for rng in random_batch_rngs(self.config, shard, epoch):
            crops = random_crops(self.pool, tc.batch_size, d.crop, rng)
            yield self.make_pair(torch.cat([c.radiance for c in crops]), rng)
