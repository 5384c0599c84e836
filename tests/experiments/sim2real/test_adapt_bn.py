"""AdaBN of a LiDAR detector on an unlabelled real sweep."""

import pytest
import torch

from perception3d.cli import main
from perception3d.engine.checkpoint import load_checkpoint
from perception3d.engine.infer import load_detector, voxel_batch
from perception3d.experiments.sim2real.adapt_bn import AdaptBnConfig, adapt_detector_batchnorm
from perception3d.lidar.dataset import LidarDetectionDataset, collate_batch
from perception3d.models.adapt_norm import batchnorm_layers

from .conftest import WEIGHTS, unlabelled_root


def test_adapted_statistics_standardize_the_real_view(kitti_root, tmp_path):
    real = unlabelled_root(kitti_root, tmp_path)
    out = tmp_path / "adapted.pt"
    summary = adapt_detector_batchnorm(
        WEIGHTS, [real], out, AdaptBnConfig(rotations_deg=(0.0,)), work_dir=tmp_path / "views"
    )
    assert summary["views"] == 1 and summary["batchnorm_layers"] == 15
    before, after = load_checkpoint(WEIGHTS)["model"], load_checkpoint(out)["model"]
    stats = ("running_mean", "running_var", "num_batches_tracked")
    for key, value in before.items():
        if not key.endswith(stats):
            torch.testing.assert_close(after[key], value)  # learned weights unchanged
    assert not torch.allclose(after["backbone.blocks.0.1.running_mean"],
                              before["backbone.blocks.0.1.running_mean"])  # fmt: skip
    assert load_checkpoint(out)["extra"]["adapt_bn"]["views"] == 1

    # AdaBN's definition: on the one view it saw, each BatchNorm layer's input, normalized by
    # the stored statistics, has zero mean and unit variance per channel
    model, exp = load_detector(out, device="cpu")
    ds = LidarDetectionDataset(tmp_path / "views", "training", exp.model.voxel,
                               ids=["r0v0_004139"])  # fmt: skip
    seen = []
    layer = batchnorm_layers(model)[0]
    hook = layer.register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach()))
    with torch.no_grad():
        model(voxel_batch(collate_batch([ds[0]]), torch.device("cpu")))
    hook.remove()
    x = seen[0].transpose(0, 1).reshape(layer.num_features, -1)
    z = (x - layer.running_mean[:, None]) / torch.sqrt(layer.running_var[:, None] + layer.eps)
    assert z.mean(dim=1).abs().max() < 1e-3
    assert (z.std(dim=1) - 1).abs().max() < 1e-2


def test_cli_writes_the_file_and_refuses_a_labelled_root(kitti_root, tmp_path):
    real = unlabelled_root(kitti_root, tmp_path)
    out = tmp_path / "cli.pt"
    args = ["sim2real-adapt-bn", "--checkpoint", WEIGHTS, "--real", str(real), "--out", str(out)]
    assert main([*args, "--rotations", "0,180"]) == 0
    assert load_checkpoint(out)["extra"]["adapt_bn"]["rotations_deg"] == [0.0, 180.0]
    with pytest.raises(ValueError, match="label_2"):
        adapt_detector_batchnorm(WEIGHTS, [kitti_root], tmp_path / "refused.pt")
    assert not (tmp_path / "refused.pt").exists()
