"""Task of the ObjectNet3D viewpoint network (``task: viewpoint``,
``configs/objectnet3d/viewpoint.yaml``) on box crops
(:mod:`perception3d.engine.objectnet3d_viewpoint`), scored on the val split with the
ground-truth boxes by the official measures (AP, AVP, AVS).

Determinism: the crop order of epoch e from ``(seed, e)``; a batch's shift, scale and flip
from ``(seed, e, its first crop index)``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from perception3d.config import require_root
from perception3d.data.objectnet3d import ObjectNet3DDataset
from perception3d.engine.distributed import DistInfo
from perception3d.engine.objectnet3d_config import ViewpointExperiment
from perception3d.engine.objectnet3d_viewpoint import (
    Crops,
    build_viewpoint_net,
    cut_crops,
    gt_box_detections,
    make_batch,
    predict_crops,
)
from perception3d.engine.task import Task, count_index_batches, index_batches, model_device
from perception3d.eval.objectnet3d import evaluate_objectnet3d, write_predictions
from perception3d.models.viewpoint_net import ViewpointNet, viewpoint_loss


class ViewpointTask(Task):
    """Viewpoint-network training (see the module docstring)."""

    def __init__(self, cfg: ViewpointExperiment) -> None:
        root = require_root(cfg.data, cfg.task)
        self.train_set = ObjectNet3DDataset(root, split=cfg.data.train_split)
        if cfg.model.classes is None:  # the checkpoint names the classes
            model = dataclasses.replace(cfg.model, classes=tuple(self.train_set.classes))
            cfg = dataclasses.replace(cfg, model=model)
        self.config = cfg
        self.crops: Crops | None = None

    def build_model(self) -> ViewpointNet:
        return build_viewpoint_net(self.config)

    def prepare(self, progress: bool) -> None:
        self.crops = cut_crops(self.train_set, self.config.data, need_viewpoint=True)
        if len(self.crops.pixels) < 2:
            raise ValueError(f"{self.config.data.root}: fewer than 2 objects with a viewpoint "
                             f"in {self.config.data.train_split}")  # fmt: skip

    def describe(self) -> dict:
        return {"num_train_objects": len(self.crops.pixels)}

    def steps_per_epoch(self, shard: DistInfo) -> int:  # a batch of 1 breaks BatchNorm
        return count_index_batches(len(self.crops.pixels), self.config.train.batch_size, shard, 2)

    def batches(self, epoch: int, shard: DistInfo):
        tc, crops = self.config.train, self.crops
        for order in index_batches(len(crops.pixels), tc.batch_size, tc.seed, epoch, shard, 2):
            rng = np.random.default_rng([tc.seed, epoch, int(order[0])])
            idx = np.sort(order)
            x, flip = make_batch(crops.pixels[idx], self.config.data, rng)
            target = crops.angles_rad[idx].copy()
            target[flip, 0] *= -1.0  # mirror: azimuth -> -azimuth, theta -> -theta
            target[flip, 2] *= -1.0
            yield x, torch.from_numpy(crops.class_index[idx]), torch.from_numpy(target)

    def loss(self, model, batch):
        x, cls, target = batch
        device = model_device(model)
        logits = model(x.to(device), cls.to(device))
        return viewpoint_loss(logits, target.to(device), self.config.model.label_sigma_bins), {}

    def evaluate(self, model: ViewpointNet, out_dir: Path, progress: bool) -> dict:
        """Viewpoints of the val split's ground-truth boxes (``out_dir/val_gt_boxes_pred.txt``)
        and their official evaluation."""
        data = self.config.data
        val_set = ObjectNet3DDataset(data.root, split=data.val_split)
        val_crops = cut_crops(val_set, data, need_viewpoint=False)
        angles, conf = predict_crops(model, val_crops, data, model_device(model))
        detections = gt_box_detections(val_set, val_crops, angles, conf)
        write_predictions(out_dir / "val_gt_boxes_pred.txt", detections)
        gt = {i: val_set.record(i).objects for i in val_set.ids}
        return {
            "val_gt_boxes": evaluate_objectnet3d(gt, detections, val_set.classes),
            "num_train_objects": len(self.crops.pixels),
        }
