"""Frustum PointNet v1 networks (perception3d.models.frustum) and the pipeline around them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from perception3d.data.kitti import KittiObjectDataset, read_label_file, write_label_file
from perception3d.engine.frustum_infer import predict_frustum
from perception3d.engine.tasks.frustum import collect_frustum_objects, make_training_frustum
from perception3d.geometry.iou import iou3d_cam
from perception3d.models.frustum import FrustumPointNet, mask_object_points
from perception3d.models.frustum_coder import compute_frustum_loss, decode_boxes
from perception3d.runtime import torch_threads

SMALL = dict(
    seg_local_channels=(16, 32),
    seg_global_channels=(32, 64),
    seg_head_channels=(64, 32),
    center_channels=(32, 64),
    center_head_channels=(64, 32),
    box_channels=(32, 64, 128),
    box_head_channels=(128, 64),
)


def _model(**kw) -> FrustumPointNet:
    torch.manual_seed(0)
    return FrustumPointNet(**{**SMALL, **kw})


def test_output_shapes_and_errors():
    model = _model(num_object_points=16).eval()
    out = model(torch.randn(3, 40, 4), torch.eye(3))
    assert out["seg_logits"].shape == (3, 40, 2) and out["mask"].shape == (3, 40)
    assert out["center"].shape == (3, 3) and out["heading_scores"].shape == (3, 12)
    assert out["size_residual_norm"].shape == (3, 3, 3)
    with pytest.raises(ValueError, match="one_hot must be"):
        model(torch.randn(3, 40, 4), torch.eye(2))
    with pytest.raises(ValueError, match="points must be"):
        model(torch.randn(40, 4), torch.eye(3))


def test_networks_are_invariant_to_the_order_of_points():
    # With at most num_object_points points every masked point is kept (repeats do not
    # change a max-pool), so the whole model is permutation invariant, the segmentation
    # permutation equivariant.
    model = _model(num_object_points=64).eval()
    gen = torch.Generator().manual_seed(1)
    pts = torch.randn(2, 50, 4, generator=gen, dtype=torch.float64) * 3
    model = model.double()
    one_hot = torch.eye(3, dtype=torch.float64)[[0, 2]]
    perm = torch.randperm(50, generator=gen)
    a, b = model(pts, one_hot), model(pts[:, perm], one_hot)
    torch.testing.assert_close(b["seg_logits"], a["seg_logits"][:, perm])
    for key in ("stage1_center", "center", "heading_scores", "size_residual_norm"):
        torch.testing.assert_close(b[key], a[key])


def test_masking_takes_the_object_points_and_their_centroid():
    xyz = torch.arange(30, dtype=torch.float64).reshape(1, 10, 3)
    logits = torch.zeros(1, 10, 2, dtype=torch.float64)
    logits[0, [2, 5, 7], 1] = 1.0
    obj, centroid, mask = mask_object_points(xyz, logits, 6)
    torch.testing.assert_close(centroid[0], xyz[0, [2, 5, 7]].mean(0))
    picked = obj[0] + centroid[0]
    assert {tuple(p.tolist()) for p in picked} == {tuple(xyz[0, i].tolist()) for i in (2, 5, 7)}
    assert mask[0].tolist() == [i in (2, 5, 7) for i in range(10)]
    # nothing segmented: all points are used
    _, centroid, _ = mask_object_points(xyz, torch.zeros(1, 10, 2, dtype=torch.float64), 4)
    torch.testing.assert_close(centroid[0], xyz[0].mean(0))


@pytest.fixture(scope="module")
def real_objects(kitti_root):
    ds = KittiObjectDataset(kitti_root, ids=["000000", "000008"])
    return collect_frustum_objects(ds, ("Car", "Pedestrian", "Cyclist"), 0.2, 20, False)


@pytest.mark.slow
def test_tiny_overfit_recovers_the_boxes(real_objects):
    objects = real_objects[:4]
    assert len(objects) == 4
    model = _model(num_points=128, num_object_points=64)
    eye = torch.eye(3)
    rng = np.random.default_rng(0)
    items = [make_training_frustum(o, 128, 0.0, 0.0, rng) for o in objects]
    pts = torch.from_numpy(np.stack([it[0] for it in items]))
    seg = torch.from_numpy(np.stack([it[1] for it in items]))
    boxes = torch.from_numpy(np.stack([it[2] for it in items])).float()
    cls = torch.tensor([o.class_index for o in objects])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    with torch_threads(1):  # the same float reductions whatever the machine's thread count
        for _ in range(400):
            out = model(pts, eye[cls])
            loss, _ = compute_frustum_loss(out, seg, boxes, cls, model.templates_lhw)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    assert losses[-1] < 0.1 * losses[0]
    # batch norm with the batch's statistics, as fitted (running averages of a 4-sample batch
    # lag behind the last steps)
    with torch.no_grad():
        decoded = decode_boxes(model(pts, eye[cls]), model.templates_lhw).double()

    # frustum frame boxes (geometric centre) -> bottom-centre boxes for the IoU
    def bottom(b):
        b = b.clone()
        b[:, 1] += b[:, 4] / 2
        return b.numpy()

    iou = np.diag(iou3d_cam(bottom(decoded), bottom(boxes.double())))
    assert (iou > 0.7).all(), iou


def test_predict_frustum_rows_parse_back(real_objects, kitti_root, tmp_path):
    frame = KittiObjectDataset(kitti_root, ids=["000008"]).frame(8)
    cars = [o for o in frame.objects if o.type == "Car"]
    model = _model(num_points=64, num_object_points=32).eval()
    rows = predict_frustum(
        None, model, None, frame.points, frame.calib,
        np.array([o.bbox for o in cars]), np.zeros(len(cars), dtype=np.int64),
        np.linspace(0.9, 0.4, len(cars)),
    )  # fmt: skip
    assert len(rows) == len(cars)  # every car of 000008 has LiDAR points in its frustum
    for row, car in zip(rows, cars):
        assert row.type == "Car" and row.bbox == car.bbox and 0 <= row.score <= 0.9
        assert row.location[2] > 0 and min(row.dimensions) > 0
    path = write_label_file(tmp_path / "000008.txt", rows)
    back = read_label_file(path)
    assert len(back) == len(rows) and all(b.score is not None for b in back)
    np.testing.assert_allclose([b.location for b in back], [r.location for r in rows], atol=0.006)
    with pytest.raises(ValueError, match="boxes_2d"):
        predict_frustum(None, model, None, frame.points, frame.calib)


def test_predict_frustum_sizes_boxes_with_the_2d_class_template(kitti_root):
    """A Pedestrian 2D box gets the Pedestrian size template even when the size scores favour
    another class (the residuals are trained at the 2D box's class)."""
    frame = KittiObjectDataset(kitti_root, ids=["000008"]).frame(8)
    cars = [o for o in frame.objects if o.type == "Car"][:2]
    model = _model(num_points=64, num_object_points=32).eval()
    nh, k = model.num_heading_bins, model.num_classes
    with torch.no_grad():  # size scores: Cyclist wins by far; size residuals: zero
        model.box.out.bias[3 + 2 * nh + 2] = 1e3
        model.box.out.weight[3 + 2 * nh + k :] = 0.0
        model.box.out.bias[3 + 2 * nh + k :] = 0.0
    boxes = np.array([c.bbox for c in cars])
    rows = predict_frustum(None, model, None, frame.points, frame.calib, boxes,
                           np.array([1, 0]))  # fmt: skip
    assert [r.type for r in rows] == ["Pedestrian", "Car"]
    (pl, pw, ph), (cl, cw, ch) = model.templates_lhw[[1, 0]][:, [0, 2, 1]].tolist()
    np.testing.assert_allclose(rows[0].dimensions, (ph, pw, pl), rtol=1e-6)  # (h, w, l)
    np.testing.assert_allclose(rows[1].dimensions, (ch, cw, cl), rtol=1e-6)


def test_training_on_detected_boxes_takes_the_matched_detection(kitti_root, tmp_path):
    # 000008's cars: a detection shifted by 6 px stands for the first (IoU > 0.5), one of
    # another class and one far off stand for nobody; the other cars keep their label box.
    frame = KittiObjectDataset(kitti_root, ids=["000008"]).frame(8)
    cars = [o for o in frame.objects if o.type == "Car"]
    x1, y1, x2, y2 = cars[0].bbox
    shifted = (x1 + 6, y1 + 3, x2 + 6, y2 + 3)
    rows = [
        replace(cars[0], bbox=shifted, score=0.9),
        replace(cars[1], type="Pedestrian", score=0.8),
        replace(cars[2], bbox=(0.0, 0.0, 10.0, 10.0), score=0.7),
    ]
    write_label_file(tmp_path / "000008.txt", rows)
    ds = KittiObjectDataset(kitti_root, ids=["000008"])
    classes = ("Car", "Pedestrian", "Cyclist")
    plain = collect_frustum_objects(ds, classes, 0.2, 20, False)
    det = collect_frustum_objects(ds, classes, 0.2, 20, False, boxes_dir=tmp_path)
    assert len(det) == len(plain) >= 3
    np.testing.assert_allclose(det[0].bbox, shifted)
    for a, b in zip(det[1:], plain[1:]):
        np.testing.assert_array_equal(a.bbox, b.bbox)
    # the frustum is cut around the detection: points project inside the shifted box + margin
    w, h = shifted[2] - shifted[0], shifted[3] - shifted[1]
    u, v = det[0].uv_img[:, 0], det[0].uv_img[:, 1]
    assert ((u >= shifted[0] - 0.2 * w - 1e-3) & (u <= shifted[2] + 0.2 * w + 1e-3)).all()
    assert ((v >= shifted[1] - 0.2 * h - 1e-3) & (v <= shifted[3] + 0.2 * h + 1e-3)).all()
    with pytest.raises(FileNotFoundError, match=r"000000\.txt.*frame 000000"):
        collect_frustum_objects(KittiObjectDataset(kitti_root, ids=["000000"]), classes, 0.2,
                                20, False, boxes_dir=tmp_path)  # fmt: skip


def test_boxes_min_iou_out_of_range_is_refused_by_name():
    from perception3d.config import ConfigError
    from perception3d.engine.frustum_config import load_frustum_experiment

    cfg = "configs/frustum/frustum_pointnet.yaml"
    assert load_frustum_experiment(cfg).data.boxes_dir is None  # the committed stage: labels
    with pytest.raises(ConfigError, match=r"frustum_pointnet\.yaml.*boxes_min_iou"):
        load_frustum_experiment(cfg, ["data.boxes_min_iou=1.5"])
