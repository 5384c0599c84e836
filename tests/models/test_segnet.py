"""SegNet: shapes, the semantic mapping, save/load round trip, and that it can fit a tiny
labelled set (the network and its loss can learn the task)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from perception3d.models.segnet import (
    SEG_CLASSES,
    SegNet,
    load_segnet,
    predict_scores,
    save_segnet,
    semantic_to_seg_lut,
)
from perception3d.runtime import torch_threads
from perception3d.sim.semantics import SEMANTIC_CLASSES, SEMANTIC_ID


def test_mapping_covers_every_semantic_class():
    lut = semantic_to_seg_lut()
    assert lut.shape == (len(SEMANTIC_CLASSES),)
    assert SEG_CLASSES[lut[SEMANTIC_ID["pedestrian"]]] == "Pedestrian"
    assert SEG_CLASSES[lut[SEMANTIC_ID["unlabeled"]]] == "background"
    assert set(lut.tolist()) == set(range(len(SEG_CLASSES)))


def test_scores_have_the_image_size_and_sum_to_one(tmp_path):
    torch.manual_seed(0)
    net = SegNet(width=4).eval()
    scores = predict_scores(net, np.random.default_rng(0).random((3, 45, 131), np.float32))
    assert scores.shape == (len(SEG_CLASSES), 45, 131)
    np.testing.assert_allclose(scores.sum(0), 1.0, atol=1e-5)
    again = predict_scores(
        load_segnet(save_segnet(net, tmp_path / "s.pt")), np.zeros((3, 8, 8), "f4")
    )
    np.testing.assert_allclose(again, predict_scores(net, np.zeros((3, 8, 8), "f4")), atol=1e-6)
    with pytest.raises(ValueError, match=r"image_srgb must be \(B, 3, H, W\)"):
        net(torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="not a SegNet file"):
        torch.save({"x": 1}, tmp_path / "bad.pt")
        load_segnet(tmp_path / "bad.pt")


@pytest.mark.slow
def test_segnet_overfits_a_tiny_set():
    """Two 24 x 48 images: coloured rectangles (classes 1-3) on a textured background."""
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    images = torch.rand(2, 3, 24, 48, generator=g) * 0.3
    labels = torch.zeros(2, 24, 48, dtype=torch.long)
    colours = {1: (0.9, 0.1, 0.1), 2: (0.1, 0.9, 0.1), 3: (0.1, 0.1, 0.9)}
    boxes = [(1, 4, 18, 5, 22), (2, 8, 22, 28, 40), (3, 2, 10, 36, 46)]
    for k, (cls, r0, r1, c0, c1) in enumerate(boxes):
        b = k % 2
        images[b, :, r0:r1, c0:c1] = torch.tensor(colours[cls]).view(3, 1, 1)
        labels[b, r0:r1, c0:c1] = cls
    net = SegNet(width=6, input_scale=1.0)
    opt = torch.optim.AdamW(net.parameters(), lr=0.01)
    for _ in range(200):
        loss = F.cross_entropy(net(images), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        pred = net(images).argmax(1)
    assert float((pred == labels).float().mean()) > 0.97
    for cls in (1, 2, 3):
        assert float((pred[labels == cls] == cls).float().mean()) > 0.9


def test_object_crops_hold_the_rare_class():
    """With object_crop_fraction 1, every crop of a frame whose only foreground is a small
    pedestrian contains pedestrian pixels; without, most random crops miss it."""
    from perception3d.engine.seg_config import SegData
    from perception3d.engine.tasks.segnet import draw_batch, foreground_pixels

    labels = np.zeros((100, 400), np.uint8)
    labels[40:52, 350:356] = 2  # a 12 x 6 px pedestrian in the right corner
    images = [np.zeros((3, 100, 400), np.uint8)]
    fg = [foreground_pixels(labels)]
    assert [len(p) for p in fg[0]] == [0, 72, 0]
    cfg = SegData(root=Path("."), crop_hw=(32, 64))
    with_obj = dataclasses.replace(cfg, object_crop_fraction=1.0)
    _, y = draw_batch(images, [labels], with_obj, 32, 0, 0, fg)
    assert bool(((y == 2).flatten(1).any(1)).all())
    _, y = draw_batch(images, [labels], cfg, 32, 0, 0, fg)
    assert float((y == 2).flatten(1).any(1).float().mean()) < 0.3


def test_train_segnet_end_to_end_and_init(tmp_path):
    """train-seg on a 2-frame root writes weights and val IoU; with ``init`` and lr 0 the
    result has the init's parameters exactly (batch-norm statistics still adapt)."""
    from PIL import Image

    from perception3d.engine.config import defaults_with
    from perception3d.engine.seg_config import SegExperiment
    from perception3d.engine.train import train

    root = tmp_path / "root"
    rng = np.random.default_rng(0)
    for sub in ("image_2", "semantic_2"):
        (root / "training" / sub).mkdir(parents=True)
    for fid in ("000000", "000001"):
        img = (rng.random((40, 80, 3)) * 255).astype(np.uint8)
        sem = np.full((40, 80), SEMANTIC_ID["road"], np.uint8)
        sem[10:30, 20:50] = SEMANTIC_ID["car"]
        Image.fromarray(img).save(root / "training" / "image_2" / f"{fid}.png")
        Image.fromarray(sem).save(root / "training" / "semantic_2" / f"{fid}.png")
    (root / "ImageSets").mkdir()
    (root / "ImageSets" / "train.txt").write_text("000000\n")
    (root / "ImageSets" / "val.txt").write_text("000001\n")
    sets = ["model.width=4", "train.epochs=1", "train.steps_per_epoch=3", "train.batch_size=2",
            "data.crop_hw=[16, 32]", "train.validate_every=1"]  # fmt: skip
    cfg = defaults_with(SegExperiment, sets, data={"root": root})
    info = train(cfg, tmp_path / "a", progress=False).history["epochs"][-1]
    assert info["val"]["frames"] == 1 and 0.0 <= info["val"]["miou"] <= 1.0
    first = load_segnet(tmp_path / "a" / "model.pt")
    cfg = defaults_with(SegExperiment, [*sets, f"train.init_weights={tmp_path / 'a' / 'model.pt'}",
                                        "train.lr_max=0.0"], data={"root": root})  # fmt: skip
    train(cfg, tmp_path / "b", progress=False)
    again = load_segnet(tmp_path / "b" / "model.pt")
    for a, b in zip(first.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="input_scale"):
        cfg = defaults_with(SegExperiment, [*sets, "model.width=8",
                                            f"train.init_weights={tmp_path / 'a' / 'model.pt'}"],
                            data={"root": root})  # fmt: skip
        train(cfg, tmp_path / "c", progress=False)


def test_mobilenet_encoder_decoder_and_cached_crops():
    """The mobilenet_v2 SegNet: logits at the input size; the decoder on the encoder's
    features is forward_scaled; cached crops are 16-px aligned slices of those features."""
    from perception3d.data.image_augment import ImageAugmentConfig
    from perception3d.engine.seg_config import SegData
    from perception3d.engine.tasks.segnet import cache_seg_features, draw_cached_batch

    with torch_threads(1):
        torch.manual_seed(0)
        net = SegNet(width=8, encoder="mobilenet_v2", freeze_encoder=True).eval()
        x = torch.rand(1, 3, 37, 90)
        assert net(x).shape == (1, 4, 37, 90)
        x = torch.rand(1, 3, 32, 64)
        torch.testing.assert_close(net.decode_features(net.encoder(x)), net.forward_scaled(x),
                                   rtol=0, atol=0)  # fmt: skip
        images = [np.zeros((3, 40, 90), np.uint8)]
        labels = [np.zeros((40, 90), np.uint8)]
        labels[0][10:20, 30:40] = 1
        cfg = SegData(root=Path("."), crop_hw=(32, 48), object_crop_fraction=1.0,
                      cache_variants=2)  # fmt: skip
        cache = cache_seg_features(net, images, labels, 2, cfg, ImageAugmentConfig(), 0, False)
        feats, y = draw_cached_batch(cache, 2, cfg, 3, 0, 0)
    assert cache[0][1].shape == (48, 96) and (cache[0][1][40:] == -100).all()  # padded to 16
    assert [tuple(f.shape) for f in feats] == [(3, 16, 16, 24), (3, 24, 8, 12), (3, 32, 4, 6),
                                               (3, 96, 2, 3)]  # fmt: skip
    assert y.shape == (3, 32, 48) and bool((y == 1).flatten(1).any(1).all())
    with pytest.raises(ValueError, match="encoder must be"):
        SegNet(encoder="vgg")
