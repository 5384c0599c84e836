"""Task of the voxel 3D detectors (PointPillars, SECOND, and PointPainting: PointPillars on
painted points): ``task: detector`` configs, ``configs/models/*.yaml``.

Batches: the training split through :class:`~perception3d.lidar.dataset.LidarDetectionDataset`
(FOV crop, the ``augmentation:`` transforms seeded by (seed, epoch, index), range crop,
voxels, anchor targets) in the order of
:class:`~perception3d.engine.distributed.EpochSampler`; loss: the detector's own
``compute_loss`` (classification, box, direction); evaluation: the KITTI protocol on the val
split, or BEV/3D AP per class on a LiDAR-only dataset
(:func:`perception3d.engine.validate.validate`).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from perception3d.config import require_root
from perception3d.engine.checkpoint import load_checkpoint
from perception3d.engine.config import ExperimentConfig
from perception3d.engine.distributed import DistInfo, EpochSampler
from perception3d.engine.infer import voxel_batch
from perception3d.engine.task import Task, model_device, unwrap
from perception3d.engine.validate import validate
from perception3d.lidar.dataset import LidarDetectionDataset, collate_batch
from perception3d.lidar.pipeline import build_augmentation
from perception3d.models.anchors import AnchorTargetAssigner
from perception3d.models.detector import VoxelDetector, build_detector
from perception3d.models.losses import AnchorTargets


def build_datasets(cfg: ExperimentConfig):
    """Training and validation datasets of an experiment (training with augmentation and
    anchor targets; no validation set when ``validate_every`` is 0)."""
    data = cfg.data
    train_ds = LidarDetectionDataset.of_experiment(
        cfg, data.root, data.train_split, transforms=build_augmentation(cfg.augmentation),
        assign_targets=AnchorTargetAssigner(cfg.model), training=True, seed=cfg.train.seed,
        max_frames=data.max_train_frames,
    )  # fmt: skip
    val_ds = None
    if cfg.train.validate_every > 0:
        val_ds = LidarDetectionDataset.of_experiment(
            cfg, data.root, data.val_split, max_frames=data.max_val_frames
        )
    return train_ds, val_ds


def cpu_training_threads(model_type: str, threads: int | None, device: torch.device):
    """The torch thread count a training run uses: ``threads``, except SECOND on the CPU,
    which trains on one thread. spconv's CPU backward of submanifold convolutions is not
    thread-safe: at 2 threads the input gradients were wrong in 11 of 60 identical runs
    (absolute errors up to 0.14; exact at 1 thread; tests/models/test_second.py), the CPU
    counterpart of spconv issue #679."""
    if device.type == "cpu" and model_type == "second" and threads != 1:
        warnings.warn(
            "SECOND trains on 1 CPU thread: spconv's CPU backward is not thread-safe",
            stacklevel=2,
        )
        return 1
    return threads


class DetectorTask(Task):
    """PointPillars / SECOND / PointPainting training (see the module docstring)."""

    def __init__(self, cfg: ExperimentConfig) -> None:
        self.config = cfg
        self.train_ds: LidarDetectionDataset | None = None
        self.val_ds: LidarDetectionDataset | None = None

    def build_model(self) -> VoxelDetector:
        return build_detector(self.config.model)

    def load_init(self, model: VoxelDetector, path: Path) -> None:
        """Input columns the checkpoint lacks (painted scores) start at zero weight, so a
        LiDAR-only detector starts a painted one."""
        from perception3d.models.fusion import load_expanded_state

        init = load_checkpoint(path)
        model.load_state_dict(load_expanded_state(init["model"], model.state_dict()))

    def threads(self, threads: int | None, device: torch.device) -> int | None:
        return cpu_training_threads(self.config.model.type, threads, device)

    def prepare(self, progress: bool) -> None:
        require_root(self.config.data, self.config.task)
        self.train_ds, self.val_ds = build_datasets(self.config)
        if len(self.train_ds) == 0:
            data = self.config.data
            raise ValueError(f"{data.root}: training split {data.train_split!r} is empty")

    def _sampler(self, shard: DistInfo) -> EpochSampler:
        return EpochSampler(len(self.train_ds), self.config.train.seed, True, shard.rank,
                            shard.world_size)  # fmt: skip

    def steps_per_epoch(self, shard: DistInfo) -> int:
        return math.ceil(len(self._sampler(shard)) / self.config.train.batch_size)

    def batches(self, epoch: int, shard: DistInfo):
        tc = self.config.train
        self.train_ds.set_epoch(epoch)
        sampler = self._sampler(shard)
        sampler.set_epoch(epoch)
        return DataLoader(self.train_ds, batch_size=tc.batch_size, sampler=sampler,
                          collate_fn=collate_batch, num_workers=tc.num_workers)  # fmt: skip

    def loss(self, model, batch: dict):
        device = model_device(model)
        head = model(voxel_batch(batch, device))
        targets = AnchorTargets(
            batch["anchor_labels"].to(device),
            batch["anchor_gt_index"].to(device),
            batch["gt_boxes_lidar"].to(device),
        )
        return unwrap(model).compute_loss(head, targets)

    def evaluate(self, model: VoxelDetector, out_dir: Path, progress: bool) -> dict:
        if self.val_ds is None:
            return {}
        return validate(model, self.val_ds, model_device(model), progress=progress)
