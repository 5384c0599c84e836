"""Detectors build from the shipped configs, run forward, give a finite loss and gradients to
every parameter, and post-process to boxes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perception3d.engine.config import load_experiment
from perception3d.engine.infer import voxel_batch
from perception3d.lidar.dataset import LidarDetectionDataset, collate_batch
from perception3d.models.anchors import AnchorTargetAssigner
from perception3d.models.detector import build_detector
from perception3d.models.losses import AnchorTargets

from .conftest import CONFIGS


def _batch(cfg, kitti_root):
    ds = LidarDetectionDataset(
        kitti_root, "training", cfg.model.voxel, assign_targets=AnchorTargetAssigner(cfg.model)
    )
    return collate_batch([ds[0], ds[1]])


def test_tiny_pointpillars_loss_and_gradients(tiny_cfg, kitti_root):
    torch.manual_seed(0)
    model = build_detector(tiny_cfg.model)
    batch = _batch(tiny_cfg, kitti_root)
    head = model(voxel_batch(batch, torch.device("cpu")))
    a = len(model.anchors)
    assert head.cls_logits.shape == (2, a, 3) and head.box_deltas.shape == (2, a, 7)
    targets = AnchorTargets(
        batch["anchor_labels"], batch["anchor_gt_index"], batch["gt_boxes_lidar"]
    )
    loss, parts = model.compute_loss(head, targets)
    assert torch.isfinite(loss) and parts["cls"] > 0 and parts["box"] > 0
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert missing == []
    dets = model.eval().postprocess(model(voxel_batch(batch, torch.device("cpu"))))
    assert len(dets) == 2
    for d in dets:
        assert d.boxes_lidar.shape[1] == 7 and (d.scores[:-1] >= d.scores[1:]).all()


@pytest.mark.parametrize("name", ["pointpillars_lite", "pointpillars", "second"])
def test_shipped_configs_build(name):
    if name == "second":
        pytest.importorskip("spconv")
    cfg = load_experiment(CONFIGS / f"{name}.yaml")
    model = build_detector(cfg.model)
    h, w = cfg.model.feature_map_hw
    assert len(model.anchors) == h * w * cfg.model.anchors_per_cell


@pytest.mark.slow
def test_second_forward_backward_on_a_real_frame(kitti_root):
    pytest.importorskip("spconv")
    cfg = load_experiment(
        CONFIGS / "second.yaml",
        [
            "model.voxel.point_range_m=[0.0, -25.6, -3.0, 51.2, 25.6, 1.0]",
            "model.voxel.voxel_size_m=[0.1, 0.1, 0.2]",
        ],
    )
    torch.manual_seed(0)
    model = build_detector(cfg.model)
    batch = _batch(cfg, kitti_root)
    head = model(voxel_batch(batch, torch.device("cpu")))
    targets = AnchorTargets(
        batch["anchor_labels"], batch["anchor_gt_index"], batch["gt_boxes_lidar"]
    )
    loss, _ = model.compute_loss(head, targets)
    loss.backward()
    grads = [p.grad for p in model.encoder.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert np.isfinite(float(loss.detach()))
