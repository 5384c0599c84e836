"""AdaBN of the 2D detector (``perception3d frustum adapt-bn``): the adapted file loads, only
BatchNorm statistics change, and they become the statistics of the given images' inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from perception3d.cli import main
from perception3d.data.kitti import read_image
from perception3d.engine.checkpoint import load_checkpoint, save_checkpoint
from perception3d.engine.config import load_task_config
from perception3d.engine.detector2d_adapt import adapt_detector2d_file, adaptation_inputs
from perception3d.engine.frustum_infer import build_detector2d, load_detector2d
from perception3d.models.detector2d import resize_image

CONFIG = Path(__file__).parents[2] / "configs" / "frustum" / "detector2d.yaml"
TINY = [
    "model.backbone=small", "model.channels=[8,8,16,16]", "model.neck_channels=8",
    "model.head_channels=8", "model.input_hw=[32,96]", "model.pretrained_backbone=false",
    "model.freeze_backbone=false", "data.cache_variants=0",
]  # fmt: skip


@pytest.fixture
def tiny_ckpt(tmp_path) -> Path:
    """A seeded tiny 2D detector whose BatchNorm layers hold non-trivial statistics."""
    torch.manual_seed(0)
    cfg = load_task_config(CONFIG, TINY)
    model = build_detector2d(cfg)
    for name, buf in model.named_buffers():
        if name.endswith("running_mean"):
            buf.normal_()
        elif name.endswith("running_var"):
            buf.uniform_(0.5, 2.0)
    return save_checkpoint(tmp_path / "det2d.pt", model, None, 3, cfg)


@pytest.fixture
def bright_images(tmp_path) -> Path:
    """3 seeded 8-bit PNGs, brighter on the left than on the right (so mirrors matter)."""
    folder = tmp_path / "target"
    folder.mkdir()
    rng = np.random.default_rng(1)
    ramp = np.linspace(1.0, 0.4, 150)[None, :, None]
    for i in range(3):
        img = np.clip(rng.uniform(0.5, 1.0, (50, 150, 3)) * ramp, 0, 1)
        Image.fromarray((img * 255).astype(np.uint8)).save(folder / f"{i:06d}.png")
    return folder


def _inputs(folder: Path, input_hw) -> torch.Tensor:
    """The network inputs built by hand: each image resized, then its mirror."""
    out = []
    for f in sorted(folder.glob("*.png")):
        x = resize_image(torch.from_numpy(read_image(f)), input_hw)
        out += [x, x.flip(-1)]
    return torch.cat(out)


def test_all_layers_take_the_target_statistics(tiny_ckpt, bright_images, tmp_path):
    out = tmp_path / "adapted.pt"
    note = adapt_detector2d_file(tiny_ckpt, [bright_images], out)
    source, _ = load_detector2d(tiny_ckpt)
    adapted, exp = load_detector2d(out)  # the adapted file loads as a detector2d checkpoint
    assert exp.model.input_hw == (32, 96)
    for (name, p), q in zip(source.named_parameters(), adapted.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=name)  # weights unchanged
    # the first BatchNorm layer holds the mean / variance of its inputs over the target images
    x = _inputs(bright_images, (32, 96))
    with torch.no_grad():
        conv_out = source.stage1[0]((x - 0.5) / 0.25)
    bn = adapted.stage1[1]
    torch.testing.assert_close(bn.running_mean, conv_out.mean((0, 2, 3)), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(bn.running_var, conv_out.var((0, 2, 3)), rtol=1e-4, atol=1e-5)
    assert not torch.allclose(bn.running_mean, source.stage1[1].running_mean)
    ckpt = load_checkpoint(out, kind="detector2d")
    assert ckpt["optimizer"] == {} and ckpt["epoch"] == 3
    names = [Path(p).name for p in ckpt["extra"]["adapt_bn"]["images"]]
    assert names == ["000000.png", "000001.png", "000002.png"] and note["inputs"] == 6
    assert ckpt["extra"]["adapt_bn"]["layers"] == "all"


def test_head_only_keeps_the_encoder_statistics(tiny_ckpt, bright_images, tmp_path):
    out = tmp_path / "head.pt"
    adapt_detector2d_file(tiny_ckpt, [bright_images], out, layers="head", flip=False)
    source, _ = load_detector2d(tiny_ckpt)
    adapted, _ = load_detector2d(out)
    src, new = dict(source.named_buffers()), dict(adapted.named_buffers())
    encoder = [k for k in src if k.startswith("stage") and "running" in k]
    head = [k for k in src if not k.startswith("stage") and "running" in k]
    assert encoder and head
    for k in encoder:
        torch.testing.assert_close(src[k], new[k], rtol=0, atol=0, msg=k)
    # the first head layer sees the (unchanged) encoder's stride-16 features of the images
    images = [read_image(f) for f in sorted(bright_images.glob("*.png"))]
    with torch.no_grad():
        top_in = source.top[0](source.encode(adaptation_inputs(images, (32, 96), flip=False))[2])
    torch.testing.assert_close(adapted.top[1].running_mean, top_in.mean((0, 2, 3)),
                               rtol=1e-4, atol=1e-5)  # fmt: skip
    assert all(not torch.equal(src[k], new[k]) for k in head if k.endswith("running_mean"))


def test_cli_writes_the_file_and_refuses_an_empty_folder(tiny_ckpt, bright_images, tmp_path,
                                                         capsys):  # fmt: skip
    out = tmp_path / "cli.pt"
    assert main(["frustum", "adapt-bn", "--det2d", str(tiny_ckpt), "--images",
                 str(bright_images), "--out", str(out)]) == 0  # fmt: skip
    assert load_checkpoint(out, kind="detector2d")["extra"]["adapt_bn"]["flip"] is True
    empty = tmp_path / "empty"
    empty.mkdir()
    capsys.readouterr()
    assert main(["frustum", "adapt-bn", "--det2d", str(tiny_ckpt), "--images", str(empty),
                 "--out", str(tmp_path / "x.pt")]) == 2  # fmt: skip
    assert str(empty) in capsys.readouterr().err and not (tmp_path / "x.pt").exists()
