"""The one training loop on a task that draws random batches (an ISP stage): a run resumed
from an epoch's checkpoint ends with the uninterrupted run's weights and history, the same
config gives the same run, and every process of a data-parallel run gets as many batches."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from perception3d.checkpoint import read_checkpoint
from perception3d.engine.distributed import DistInfo
from perception3d.engine.isp_config import IspData, IspExperiment
from perception3d.engine.task import count_index_batches, index_batches
from perception3d.engine.train import train
from perception3d.isp.weights import IspModelConfig


def _tiny_isp(epochs: int = 2) -> IspExperiment:
    base = IspExperiment(model=IspModelConfig("raw", width=4))
    train_cfg = dataclasses.replace(base.train, epochs=epochs, steps_per_epoch=2, batch_size=1,
                                    num_threads=1)  # fmt: skip
    return dataclasses.replace(base, data=IspData(procedural=1, crop=32), train=train_cfg)


def test_resume_of_a_random_batch_task_is_exact(tmp_path):
    full = train(_tiny_isp(), tmp_path / "full", progress=False)
    first = tmp_path / "full" / "checkpoint_epoch_001.pt"
    resumed = train(_tiny_isp(), tmp_path / "resumed", first, progress=False)
    for (name, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    assert [e["loss"] for e in full.history["epochs"]] == [
        e["loss"] for e in resumed.history["epochs"]
    ]
    again = train(_tiny_isp(), tmp_path / "again", progress=False)
    for a, b in zip(full.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)
    ckpt = read_checkpoint(tmp_path / "full" / "latest.pt", "isp_raw")
    assert ckpt["progress"] == {"epoch": 2, "step": 4} and ckpt["config"]["task"] == "isp"
    assert read_checkpoint(tmp_path / "full" / "model.pt")["optimizer"] == {}


@pytest.mark.parametrize(("n", "batch", "world"), [(7, 2, 1), (7, 2, 2), (9, 4, 3), (5, 2, 2)])
def test_every_process_gets_as_many_batches(n, batch, world):
    counts, seen = [], []
    for rank in range(world):
        shard = DistInfo(rank, world)
        batches = list(index_batches(n, batch, 0, 3, shard, min_size=2))
        assert len(batches) == count_index_batches(n, batch, shard, min_size=2)
        counts.append(len(batches))
        seen += [int(i) for b in batches for i in b]
    assert len(set(counts)) == 1  # DDP steps in lock-step
    assert set(seen) <= set(range(n)) and len(set(seen)) >= n - batch  # a permutation's share
    assert np.all(np.diff(counts) == 0)
