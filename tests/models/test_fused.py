"""The fused inference PointPillars computes what the detector computes: on the real sweep
004139 with OpenPCDet's reference weights its head outputs stay within OpenPCDet's own
tolerances of the detector's and of OpenPCDet's outputs, and the same boxes come out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perception3d.engine.config import load_experiment
from perception3d.interop.checkpoints import load_framework_model
from perception3d.models.decode import decode_at
from perception3d.models.detector import build_detector
from perception3d.models.fused import FusedPointPillars
from perception3d.models.postprocess import select_detections
from tests.interop.conftest import (
    compact,
    compact_model,
    compact_state,
    config,
    expected,
    frame_inputs,
)

NAME = "openpcdet_pointpillar"


@pytest.fixture(scope="module")
def pair():
    cfg = config(NAME)
    z = compact(NAME)
    model = load_framework_model("openpcdet", compact_state(z), cfg, NAME)
    _, _, _, batch = frame_inputs(cfg)
    with torch.no_grad():
        return z, model, batch, model(batch), FusedPointPillars(model)(batch)


@pytest.mark.parametrize(
    ("index", "key", "tol"),
    [(0, "cls_preds", 3e-4), (1, "box_preds", 8e-5), (2, "dir_cls_preds", 4e-4)],
)
def test_head_outputs_within_openpcdets_tolerances(pair, index, key, tol):
    z, _, _, eager, fused = pair
    assert float((fused[index] - eager[index]).abs().max()) <= tol
    sample = torch.from_numpy(z["sample_anchor_indices"]).long()
    assert np.abs(fused[index][0][sample].numpy() - z[f"sample_{key}"]).max() <= tol


def test_same_pre_nms_selection(pair):
    _, _, _, eager, fused = pair
    s_eager = torch.sigmoid(eager.cls_logits[0]).max(1).values
    s_fused = torch.sigmoid(fused.cls_logits[0]).max(1).values
    top_e, top_f = torch.topk(s_eager, 4096).indices, torch.topk(s_fused, 4096).indices
    assert len(set(top_e.tolist()) ^ set(top_f.tolist())) <= 4  # only near-ties may swap


def test_pillar_features_match_openpcdets(pair):
    z, model, batch, _, _ = pair
    with torch.no_grad():
        features = FusedPointPillars(model).pillars(batch.points, batch.num_points, batch.coords)
    rows = torch.from_numpy(z["pillar_features_rows"])
    tol = expected(NAME)["tolerances"]["pillar_features"]
    assert np.abs(features[rows].numpy() - z["pillar_features"]).max() <= tol


def test_decoded_boxes_and_final_set_match_openpcdets(pair):
    """The fused network's boxes before NMS within OpenPCDet's tolerances of its own, and the
    same 500 boxes after its class-agnostic NMS (as the eager detector,
    tests/interop/test_parity_openpcdet_pointpillar.py)."""
    z, model, _, _, fused = pair
    tol = expected(NAME)["tolerances"]
    boxes = decode_at(model.box_coder, model.anchors, fused.box_deltas[0], fused.dir_logits[0])
    pre = torch.from_numpy(z["pre_nms_anchor_indices"]).long()
    assert np.abs(boxes[pre].numpy() - z["pre_nms_boxes"]).max() <= tol["batch_box_preds"]
    best, label = torch.sigmoid(fused.cls_logits[0][pre]).max(dim=1)
    assert np.abs(best.numpy() - z["pre_nms_scores"]).max() <= tol["batch_cls_preds"]
    np.testing.assert_array_equal(label.numpy() + 1, z["pre_nms_labels"])
    with torch.no_grad():
        det = select_detections(
            *(h[0] for h in fused), model.anchors, model.box_coder, model.post_cfg
        )
    assert len(det.anchor_index) == 500
    assert set(det.anchor_index.tolist()) == set(z["final_anchor_indices"].tolist())


def _random_pillar_batch(v: int, seed: int):
    """A batch of up to ``v`` random pillars on the lite grid (160 x 160), 32 slots each, the
    slots past each pillar's count zero."""
    from perception3d.models.detector import VoxelBatch

    g = torch.Generator().manual_seed(seed)
    cells = [torch.randint(0, 160, (v,), generator=g) for _ in range(2)]
    zeros = torch.zeros(v, dtype=torch.long)
    coords = torch.stack([zeros, zeros, *cells], 1).unique(dim=0).int()
    v = len(coords)
    points = torch.randn(v, 32, 4, generator=g)
    num = torch.randint(1, 33, (v,), generator=g).int()
    points[torch.arange(32)[None, :] >= num[:, None]] = 0
    return VoxelBatch(points, num, coords, 1)


def test_lite_model_and_layouts():
    cfg = load_experiment("configs/models/pointpillars_lite.yaml")
    torch.manual_seed(0)
    model = build_detector(cfg.model).eval()
    batch = _random_pillar_batch(300, 0)
    with torch.no_grad():
        eager = model(batch)
        for channels_last in (True, False):
            fused = FusedPointPillars(model, channels_last=channels_last)(batch)
            for a, b in zip(fused, eager):
                torch.testing.assert_close(a, b, rtol=0, atol=1e-4)
    with pytest.raises(TypeError, match="PointPillars"):
        FusedPointPillars(build_detector(load_experiment("configs/models/second.yaml").model))


def test_geometry_only_model_ignores_intensity_eager_and_fused():
    """``read_intensity: false`` (the lite config since docs/sim2real.md row 25): the eager and
    the fused detector give the same outputs whatever the points' intensities."""
    cfg = load_experiment("configs/models/pointpillars_lite.yaml").model
    assert cfg.pillar_encoder.read_intensity is False
    torch.manual_seed(0)
    model = build_detector(cfg).eval()
    batch = _random_pillar_batch(200, 1)
    points = batch.points.clone()
    points[..., 3] = torch.where(points[..., 3] != 0, points[..., 3] + 5.0, 0.0)
    bright = batch._replace(points=points)
    with torch.no_grad():
        eager = model(batch)
        for out in (
            model(bright),
            FusedPointPillars(model)(batch),
            FusedPointPillars(model)(bright),
        ):
            for a, b in zip(out, eager):
                torch.testing.assert_close(a, b, rtol=0, atol=1e-4)


def test_folded_pillar_net_reproduces_mmdet3d_legacy_decoration():
    from perception3d.models.fused import FusedPillarNet

    name = "mmdet3d_pointpillars"
    z, cfg, model, _ = compact_model(name, "mmdet3d")
    _, _, _, batch = frame_inputs(cfg)
    with torch.no_grad():
        net = FusedPillarNet(model.encoder.feature_net)
        features = net(batch.points, batch.num_points, batch.coords)
    rows = torch.from_numpy(z["pillar_features_rows"])
    assert np.abs(features[rows].numpy() - z["pillar_features"]).max() <= 2e-3  # its tolerance


@pytest.mark.slow
def test_stands_in_for_the_detector_of_detect(pair):
    """``Detector(FusedPointPillars(model), experiment)`` on the full 360-degree sweep (two
    passes, batch of 2): the same boxes as the eager detector's, within OpenPCDet's decoded-box
    tolerance."""
    from perception3d.data.kitti import KittiObjectDataset
    from perception3d.engine.detect import Detector
    from tests.interop.conftest import KITTI

    _, model, _, _, _ = pair
    cfg = config(NAME)
    points = KittiObjectDataset(KITTI).frame("004139").points
    eager = Detector(model, cfg)(points)
    fused = Detector(FusedPointPillars(model), cfg)(points)
    assert len(eager) == len(fused) > 0
    np.testing.assert_array_equal(fused.labels, eager.labels)
    np.testing.assert_allclose(fused.boxes_lidar, eager.boxes_lidar, rtol=0, atol=5e-4)
    np.testing.assert_allclose(fused.scores, eager.scores, rtol=0, atol=3e-4)
