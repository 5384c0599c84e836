"""The compact CenterNet-style 2D detector (perception3d.models.detector2d) and its targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perception3d.data.kitti import KittiObjectDataset
from perception3d.engine.tasks.detector2d import augment_2d, boxes_2d_targets
from perception3d.geometry.iou import iou_2d
from perception3d.models.detector2d import (
    CenterNet2D,
    compute_loss_2d,
    decode_detections_2d,
    detect_2d,
    encode_targets_2d,
    resize_image,
)
from perception3d.runtime import torch_threads

TINY = dict(channels=(8, 16, 16, 32), neck_channels=16, head_channels=16)


def _perfect_head(targets: dict, num_classes: int, out_hw) -> dict:
    """Head outputs that say exactly what the targets say."""
    heat = torch.full((1, num_classes, *out_hw), -20.0)
    size = torch.zeros(1, 2, *out_hw)
    off = torch.zeros(1, 2, *out_hw)
    for k, (r, c) in enumerate(targets["centers"]):
        heat[0, targets["label"][k], r, c] = 20.0
        size[0, :, r, c] = torch.from_numpy(targets["size"][k])
        off[0, :, r, c] = torch.from_numpy(targets["offset"][k])
    return {"heatmap": heat, "size": size, "offset": off}


def test_targets_decode_back_to_the_boxes():
    boxes = np.array([[10.0, 20.0, 50.0, 60.0], [100.5, 30.25, 140.0, 90.0], [200, 8, 212, 40]])
    labels = np.array([0, 2, 1])
    t = encode_targets_2d(boxes, labels, np.zeros((0, 4)), np.zeros(0, int), 3, (24, 64))
    assert t["heatmap"].max() == 1.0
    for (r, c), label in zip(t["centers"], labels):
        assert t["heatmap"][label, r, c] == 1.0  # peak exactly at the centre cell
    assert (t["heatmap"] == 1.0).sum() == 3
    dets = decode_detections_2d(_perfect_head(t, 3, (24, 64)), (96, 256), [(96, 256)])[0]
    order = np.argsort(dets.boxes_img[:, 0])
    np.testing.assert_allclose(dets.boxes_img[order], boxes, atol=1e-4)
    np.testing.assert_array_equal(dets.labels[order], labels)
    # boxes come back in the original image's pixels: a 2x larger image doubles them
    dets = decode_detections_2d(_perfect_head(t, 3, (24, 64)), (96, 256), [(192, 512)])[0]
    np.testing.assert_allclose(np.sort(dets.boxes_img[:, 0]), boxes[:, 0] * 2, atol=1e-3)


def test_ignore_regions_switch_the_heatmap_loss_off():
    t = encode_targets_2d(
        np.array([[0.0, 0, 16, 16]]), np.array([0]),
        np.array([[40.0, 40, 80, 80], [100.0, 0, 120, 20]]), np.array([-1, 1]), 2, (32, 32),
    )  # fmt: skip
    assert (t["weight"][:, 10:20, 10:20] == 0).all()  # DontCare: every class
    assert (t["weight"][1, 0:5, 25:30] == 0).all() and (t["weight"][0, 0:5, 25:30] == 1).all()
    assert t["weight"][0, 2, 2] == 1  # a positive is never ignored


def test_kitti_targets_ignore_dontcare_and_van(kitti_root):
    frame = KittiObjectDataset(kitti_root, ids=["000008"]).frame(8)
    boxes, labels, ign, ign_labels = boxes_2d_targets(frame.objects, ("Car", "Pedestrian"))
    assert len(boxes) == 6 and (labels == 0).all()
    assert len(ign) == 4 and (ign_labels == -1).all()  # the four DontCare rows


def test_flip_and_crop_move_the_boxes_with_the_image():
    img = np.zeros((3, 16, 64), dtype=np.uint8)
    img[:, 4:8, 10:20] = 255
    box = np.array([[10.0, 4, 20, 8]])
    for seed in range(6):
        rng = np.random.default_rng(seed)
        none = np.zeros((0, 4))
        out, b, _, ign, _ = augment_2d(img, box, np.array([0]), none, np.zeros(0, int), 32, rng)
        assert out.shape == (3, 16, 32)
        if len(b):  # the box survived the crop: the bright patch is where the box says
            x1, y1, x2, y2 = b[0].astype(int)
            assert out[0, y1:y2, x1:x2].min() > 0 and out[0].sum() > 0
        else:
            assert len(ign) == 1


def test_shapes_and_errors():
    model = CenterNet2D(("Car", "Pedestrian", "Cyclist"), **TINY).eval()
    out = model(torch.rand(2, 3, 64, 128))
    assert out["heatmap"].shape == (2, 3, 16, 32) and out["size"].shape == (2, 2, 16, 32)
    # initial heatmap: probability 0.01 everywhere (prior bias, zero weights)
    torch.testing.assert_close(torch.sigmoid(out["heatmap"]), torch.full_like(out["heatmap"], 0.01))
    with pytest.raises(ValueError, match="images must be"):
        model(torch.rand(3, 64, 128))
    with pytest.raises(ValueError, match="image_srgb must be"):
        detect_2d(model, np.zeros((64, 128, 3), dtype=np.float32))


@pytest.mark.slow
def test_tiny_overfit_finds_the_cars(kitti_root):
    torch.manual_seed(0)
    input_hw = (96, 320)
    model = CenterNet2D(("Car",), **TINY, input_hw=input_hw, score_threshold=0.3)
    ds = KittiObjectDataset(kitti_root, ids=["000000", "000008"])
    frames = list(ds)
    images, targets, gt = [], [], []
    for f in frames:
        h, w = f.image.shape[1:]
        images.append(resize_image(torch.from_numpy(f.image), input_hw)[0])
        boxes, labels, ign, ign_l = boxes_2d_targets(f.objects, ("Car",))
        big = (boxes[:, 3] - boxes[:, 1]) > 30  # keep it learnable at this resolution
        scale = np.array([input_hw[1] / w, input_hw[0] / h] * 2)
        targets.append(encode_targets_2d(boxes[big] * scale, labels[big], ign * scale, ign_l, 1,
                                         (input_hw[0] // 4, input_hw[1] // 4)))  # fmt: skip
        gt.append(boxes[big])
    batch = torch.stack(images)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    losses = []
    with torch_threads(1):  # the same float reductions whatever the machine's thread count
        for _ in range(150):
            loss, _ = compute_loss_2d(model(batch), targets)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    assert losses[-1] < 0.2 * losses[0]
    model.eval()  # running statistics, converged on the one repeated batch
    assert sum(len(b) for b in gt) >= 3
    for f, boxes in zip(frames, gt):
        if len(boxes) == 0:  # 000000 holds a pedestrian only
            continue
        with torch.no_grad():
            det = detect_2d(model, f.image)
        assert len(det.boxes_img) >= len(boxes)
        best = iou_2d(boxes, det.boxes_img).max(axis=1)
        assert (best > 0.5).all(), best


def test_mobilenet_backbone_head_on_encoded_features_is_forward():
    with torch_threads(1):
        torch.manual_seed(0)
        model = CenterNet2D(("Car", "Pedestrian"), backbone="mobilenet_v2",
                            freeze_backbone=True, head_channels=16).eval()  # fmt: skip
        x = torch.rand(1, 3, 64, 128)
        out = model(x)
        again = model.head_forward(*model.encode(x))
    assert out["heatmap"].shape == (1, 2, 16, 32) and out["size"].shape == (1, 2, 16, 32)
    torch.testing.assert_close(out["heatmap"], again["heatmap"], rtol=0, atol=0)
    with pytest.raises(ValueError, match="backbone must be one of"):
        CenterNet2D(("Car",), backbone="resnet")
    with pytest.raises(ValueError, match="only the mobilenet_v2 backbone"):
        CenterNet2D(("Car",), **TINY).load_imagenet()


def test_feature_cache_needs_a_frozen_mobilenet():
    from perception3d.config import from_dict
    from perception3d.engine.frustum_config import Detector2DExperiment

    base = {"model": {"backbone": "mobilenet_v2", "freeze_backbone": True},
            "data": {"root": None, "cache_variants": 2, "crop_width": 256}}  # fmt: skip
    assert from_dict(Detector2DExperiment, base).data.cache_variants == 2
    with pytest.raises(ValueError, match=r"cache_variants needs model\.backbone"):
        from_dict(Detector2DExperiment, {**base, "model": {"backbone": "small"}})
    with pytest.raises(ValueError, match="multiples of 16"):
        from_dict(Detector2DExperiment, {**base, "data": {"cache_variants": 1, "crop_width": 200}})


def test_cached_samples_crop_features_and_boxes_together():
    """A cached sample's features are the encoder's on the (flipped, randomized) full image,
    cropped at a 16-px step, and its boxes are shifted by the same crop."""
    from perception3d.data.image_augment import ImageAugmentConfig
    from perception3d.engine.tasks.detector2d import cache_features, crop_boxes_2d

    with torch_threads(1):
        torch.manual_seed(0)
        model = CenterNet2D(("Car",), backbone="mobilenet_v2", freeze_backbone=True,
                            input_hw=(64, 128), head_channels=8)  # fmt: skip
        images = np.random.default_rng(0).integers(0, 255, (2, 3, 64, 128), dtype=np.uint8)
        boxes = np.array([[40.0, 10, 70, 40]])
        targets = [(boxes, np.array([0]), np.zeros((0, 4)), np.zeros(0, int))] * 2
        feats, _ = cache_features(model, images, targets, 2, ImageAugmentConfig(), 0, False)
    assert len(feats) == 4 and [tuple(f.shape) for f in feats[0]] == [(24, 16, 32), (32, 8, 16),
                                                                       (96, 4, 8)]  # fmt: skip
    assert feats[0][0].dtype == torch.float16
    none = np.zeros((0, 4))
    b, _, ign, _ = crop_boxes_2d(boxes, np.array([0]), none, np.zeros(0, int), 32, 64)
    np.testing.assert_allclose(b, [[8.0, 10, 38, 40]])
    b, _, ign, _ = crop_boxes_2d(boxes, np.array([0]), none, np.zeros(0, int), 64, 64)
    assert len(b) == 0 and len(ign) == 1  # cut to less than half its width: ignored


def test_zoomed_cache_encodes_windows_and_needs_the_cache():
    """With scale_range, each cached variant is a cache_crop_width window of a rescaled image;
    the config refuses scale_range without the cache."""
    from perception3d.config import from_dict
    from perception3d.data.image_augment import ImageAugmentConfig
    from perception3d.engine.frustum_config import Detector2DExperiment
    from perception3d.engine.tasks.detector2d import cache_zoomed_features

    base = {"model": {"backbone": "mobilenet_v2", "freeze_backbone": True, "input_hw": [64, 128]},
            "data": {"root": None, "cache_variants": 2, "crop_width": 32,
                     "scale_range": [0.8, 2.0], "cache_crop_width": 64}}  # fmt: skip
    cfg = from_dict(Detector2DExperiment, base)
    assert cfg.data.zooms
    with pytest.raises(ValueError, match="cache_crop_width"):
        from_dict(Detector2DExperiment, {**base, "data": {**base["data"], "cache_variants": 0}})

    class Frame:
        image = np.random.default_rng(0).random((3, 90, 300), dtype=np.float32)
        objects = ()

    with torch_threads(1):
        torch.manual_seed(0)
        model = CenterNet2D(("Car",), backbone="mobilenet_v2", freeze_backbone=True,
                            input_hw=(64, 128), head_channels=8)  # fmt: skip
        feats, tgts = cache_zoomed_features(model, [Frame(), Frame()], ("Car",), cfg.data,
                                            ImageAugmentConfig(), 0, (64, 128), False)  # fmt: skip
    assert len(feats) == len(tgts) == 4
    assert [tuple(f.shape) for f in feats[0]] == [(24, 16, 16), (32, 8, 8), (96, 4, 4)]


def test_box_source_projects_training_boxes_and_rejects_unknown_values(kitti_root):
    """data.box_source projected_3d trains on KITTI-convention boxes recomputed from the 3D
    labels (here the real frame's own boxes, which already follow it); other values fail."""
    from perception3d.config import from_dict
    from perception3d.engine.frustum_config import Detector2DExperiment
    from perception3d.engine.tasks.detector2d import frame_objects

    frame = next(f for f in KittiObjectDataset(kitti_root, "training") if f.frame_id == "000008")
    cars = [o.bbox for o in frame.objects if o.type == "Car"]
    projected = [o.bbox for o in frame_objects(frame, "projected_3d") if o.type == "Car"]
    np.testing.assert_allclose(projected, cars, atol=1.0)
    assert frame_objects(frame, "label") == frame.objects
    cfg = {"model": {}, "data": {"root": None, "box_source": "projected_3d"}}
    assert from_dict(Detector2DExperiment, cfg).data.box_source == "projected_3d"
    with pytest.raises(ValueError, match="box_source"):
        from_dict(Detector2DExperiment, {**cfg, "data": {"root": None, "box_source": "amodal"}})


def test_dense_regression_targets_decode_to_their_box_from_every_cell():
    """With regression_beta, every regression cell's size and offset say its box (so a peak
    one cell off the centre still decodes it), each box's weights sum to 1, a perfect head
    has zero loss, and beta 0 gives the centre cells alone with weight 1."""
    boxes = np.array([[10.0, 20.0, 90.0, 60.0], [60.0, 24.0, 76.0, 44.0]])  # the second inside
    labels = np.array([0, 0])
    none = (np.zeros((0, 4)), np.zeros(0, int))
    t = encode_targets_2d(boxes, labels, *none, 1, (24, 32), regression_beta=0.54)
    rows, cols = t["reg_cells"].T
    ctr = t["reg_offset"] + np.stack([cols, rows], 1)  # box centre (x, y) in cells
    wh = np.exp(t["reg_size"])
    decoded = np.concatenate([ctr - wh / 2, ctr + wh / 2], 1) * 4  # (K, 4) input pixels
    owner = np.array([int(np.argmin(np.abs(boxes - d).sum(1))) for d in decoded])
    np.testing.assert_allclose(decoded, boxes[owner], atol=1e-4)
    assert len(t["reg_cells"]) > 10 and set(owner) == {0, 1}
    np.testing.assert_allclose(np.bincount(owner, weights=t["reg_weight"]), [1.0, 1.0], rtol=1e-6)
    for k, (r, c) in enumerate(t["centers"]):  # each centre cell regresses its own box
        j = int(np.flatnonzero((rows == r) & (cols == c))[0])
        assert owner[j] == k and t["reg_weight"][j] == t["reg_weight"][owner == k].max()
    head = _perfect_head(t, 1, (24, 32))
    head["size"][0, :, rows, cols] = torch.from_numpy(t["reg_size"]).T
    head["offset"][0, :, rows, cols] = torch.from_numpy(t["reg_offset"]).T
    _, parts = compute_loss_2d(head, [t])
    assert parts["size"] < 1e-6 and parts["offset"] < 1e-6
    t0 = encode_targets_2d(boxes, labels, *none, 1, (24, 32))
    np.testing.assert_array_equal(t0["reg_cells"], t0["centers"])
    np.testing.assert_array_equal(t0["reg_weight"], [1.0, 1.0])
