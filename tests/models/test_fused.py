"""The fused inference PointPillars computes what the detector computes: on the real sweep
004139 with OpenPCDet's reference weights its head outputs stay within OpenPCDet's own
tolerances of the detector's and of OpenPCDet's outputs, and the same boxes come out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perception3d.engine.config import load_experiment
from perception3d.interop.checkpoints import load_framework_model
from perception3d.models.detector import build_detector
from perception3d.models.fused import FusedPointPillars
from tests.interop.conftest import compact, compact_state, config, frame_inputs

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


def test_lite_model_and_layouts():
    cfg = load_experiment("configs/models/pointpillars_lite.yaml")
    torch.manual_seed(0)
    model = build_detector(cfg.model).eval()
    g = torch.Generator().manual_seed(0)
    v = 300
    coords = (
        torch.stack(
            [
                torch.zeros(v, dtype=torch.long),
                torch.zeros(v, dtype=torch.long),
                torch.randint(0, 160, (v,), generator=g),
                torch.randint(0, 160, (v,), generator=g),
            ],
            1,
        )
        .unique(dim=0)
        .int()
    )
    v = len(coords)
    points = torch.randn(v, 32, 4, generator=g)
    num = torch.randint(1, 33, (v,), generator=g).int()
    points[torch.arange(32)[None, :] >= num[:, None]] = 0
    from perception3d.models.detector import VoxelBatch

    batch = VoxelBatch(points, num, coords, 1)
    with torch.no_grad():
        eager = model(batch)
        for channels_last in (True, False):
            fused = FusedPointPillars(model, channels_last=channels_last)(batch)
            for a, b in zip(fused, eager):
                torch.testing.assert_close(a, b, rtol=0, atol=1e-4)
    with pytest.raises(TypeError, match="PointPillars"):
        FusedPointPillars(build_detector(load_experiment("configs/models/second.yaml").model))


def test_folded_pillar_net_reproduces_mmdet3d_legacy_decoration():
    from perception3d.interop.keymap import key_map
    from perception3d.models.fused import FusedPillarNet

    name = "mmdet3d_pointpillars"
    cfg, z = config(name), compact(name)
    model = build_detector(cfg.model).eval()
    ours = key_map(model.state_dict(), "mmdet3d")
    model.load_state_dict({ours[k]: v for k, v in compact_state(z).items()}, strict=False)
    _, _, _, batch = frame_inputs(cfg)
    with torch.no_grad():
        net = FusedPillarNet(model.encoder.feature_net)
        features = net(batch.points, batch.num_points, batch.coords)
    rows = torch.from_numpy(z["pillar_features_rows"])
    assert np.abs(features[rows].numpy() - z["pillar_features"]).max() <= 2e-3  # its tolerance
