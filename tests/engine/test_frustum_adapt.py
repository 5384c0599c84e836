"""AdaBN of the Frustum PointNet 3D stage on the frustums of 2D detections (``perception3d
frustum adapt-bn-3d``): only BatchNorm statistics change, to those of the frustums' points."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from perception3d.cli import main
from perception3d.data.kitti import KittiObjectDataset
from perception3d.engine.checkpoint import save_checkpoint
from perception3d.engine.config import load_task_config
from perception3d.engine.frustum_adapt import adapt_frustum_batchnorm, detected_frustums
from perception3d.engine.frustum_infer import build_frustum_model
from perception3d.models.detector2d import Detections2D

CONFIGS = Path(__file__).parents[2] / "configs" / "frustum"
TINY_3D = [
    "model.num_points=64", "model.num_object_points=32", "model.seg_local_channels=[8,16]",
    "model.seg_global_channels=[16,32]", "model.seg_head_channels=[16]",
    "model.center_channels=[16,32]", "model.center_head_channels=[32]",
    "model.box_channels=[16,32]", "model.box_head_channels=[32]",
]  # fmt: skip


class LabelBoxes:
    """A stand-in 2D detector: the labelled cars of one frame, score 0.9 (0.1 for the last)."""

    classes = ("Car", "Pedestrian", "Cyclist")

    def __init__(self, frame) -> None:
        cars = [o for o in frame.objects if o.type == "Car"]
        self.det = Detections2D(
            np.array([o.bbox for o in cars], np.float32),
            np.array([0.9] * (len(cars) - 1) + [0.1], np.float32),
            np.zeros(len(cars), np.int64),
        )

    def detect(self, image):
        return self.det


@pytest.fixture
def tiny_3d():
    torch.manual_seed(0)
    cfg = load_task_config(CONFIGS / "frustum_pointnet.yaml", TINY_3D)
    model = build_frustum_model(cfg).eval()
    for name, buf in model.named_buffers():
        if name.endswith("running_mean"):
            buf.normal_()
    return model, cfg


def test_statistics_become_those_of_the_detected_frustums(kitti_root, tiny_3d):
    model, _ = tiny_3d
    frame = KittiObjectDataset(kitti_root, "training", ids=["000008"])[0]
    boxes = LabelBoxes(frame)
    points, one_hot = detected_frustums(boxes, model, [frame], 0.3)
    n_kept = len(boxes.det.scores) - 1  # the 0.1 box is left out
    assert points.shape[1:] == (64, 4) and 1 <= len(points) <= n_kept
    assert one_hot.argmax(1).eq(0).all()  # every frustum is a Car box's
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert adapt_frustum_batchnorm(model, points, one_hot) == 1
    for name, p in model.named_parameters():
        torch.testing.assert_close(p, before[name], rtol=0, atol=0, msg=name)
    conv, bn = model.seg.local[0], model.seg.local[1]
    with torch.no_grad():
        x = conv(points.transpose(1, 2))  # (B, C, N): statistics over frustums and points
    torch.testing.assert_close(bn.running_mean, x.mean((0, 2)), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(bn.running_var, x.var((0, 2)), rtol=1e-4, atol=1e-5)
    assert not model.training


def test_cli_refuses_when_no_detection_passes(kitti_root, tiny_3d, tmp_path, capsys):
    model, cfg = tiny_3d
    ckpt3d = save_checkpoint(tmp_path / "f3d.pt", model, None, 1, cfg)
    cfg2d = load_task_config(CONFIGS / "detector2d.yaml", [
        "model.backbone=small", "model.channels=[8,8,16,16]", "model.neck_channels=8",
        "model.head_channels=8", "model.input_hw=[64,208]", "model.pretrained_backbone=false",
        "model.freeze_backbone=false", "data.cache_variants=0",
    ])  # fmt: skip
    from perception3d.engine.frustum_infer import build_detector2d

    ckpt2d = save_checkpoint(tmp_path / "d2d.pt", build_detector2d(cfg2d), None, 1, cfg2d)
    out = tmp_path / "adapted.pt"
    args = ["frustum", "adapt-bn-3d", "--model3d", str(ckpt3d), "--det2d", str(ckpt2d),
            "--data-root", str(kitti_root), "--frames", "000008", "--out", str(out),
            "--score-threshold", "0.5"]  # fmt: skip
    assert main(args) == 2  # an untrained head scores 0.01 everywhere
    assert "score >= 0.5" in capsys.readouterr().err and not out.exists()
