"""OpenPCDet's PointPillars (KITTI 3-class) on frame 004139, reproduced stage by stage from
its own random-weight state dict, against its outputs stored compactly in tests/data/interop
(every stage; make_fixtures.py says what is kept). Tolerances: the per-array ``suggested_atol``
of the fixture (about 10x the float32-vs-float64 noise of OpenPCDet itself)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perception3d.interop.checkpoints import load_framework_model
from perception3d.models.anchors import anchor_positions
from perception3d.models.decode import decode_anchors
from perception3d.models.pillars import scatter_to_bev
from perception3d.models.postprocess import select_detections
from tests.interop.conftest import (
    array_sha256,
    channel_sum_error,
    compact,
    compact_state,
    config,
    expected,
    frame_inputs,
    max_abs,
)

NAME = "openpcdet_pointpillar"
BEV_STAGES = ["spatial_features", "spatial_features_2d"] + [
    f"backbone_2d_{p}{i}" for p in ("block", "deblock") for i in range(3)
]


def staged_forward(model, batch, post_cfg) -> dict:
    """Every stage of our PointPillars forward, named as OpenPCDet names them."""
    out = {}
    with torch.no_grad():
        enc = model.encoder
        out["pillar_features"] = enc.feature_net(batch.points, batch.num_points, batch.coords)
        x = scatter_to_bev(out["pillar_features"], batch.coords, 1, enc.grid_hw)
        out["spatial_features"] = x
        ups = []
        for i, (block, up) in enumerate(zip(model.backbone.blocks, model.backbone.upsample)):
            x = out[f"backbone_2d_block{i}"] = block(x)
            ups.append(up(x))
            out[f"backbone_2d_deblock{i}"] = ups[-1]
        out["spatial_features_2d"] = torch.cat(ups, 1)
        out["head"] = model.head(out["spatial_features_2d"])
        out["decoded"] = decode_anchors(model, out["head"])[0]
        heads = (h[0] for h in out["head"])
        out["detections"] = select_detections(*heads, model.anchors, model.box_coder, post_cfg)
    return out


@pytest.fixture(scope="module")
def run():
    z, cfg = compact(NAME), config(NAME)
    model = load_framework_model("openpcdet", compact_state(z), cfg, NAME)
    mask, points, voxels, batch = frame_inputs(cfg)
    out = staged_forward(model, batch, cfg.model.postprocess)
    out.update(mask=mask, points=points, voxels=voxels)
    return z, expected(NAME), cfg, model, out


def test_fov_crop_range_mask_and_voxels_are_bit_exact(run):
    _, exp, _, _, out = run
    sha = exp["sha256"]
    assert array_sha256(out["mask"].astype(np.uint8)) == sha["in/fov_mask"]
    assert len(out["voxels"].num_points) == 6836
    assert array_sha256(out["voxels"].points) == sha["in/voxels"]
    assert array_sha256(out["voxels"].num_points) == sha["in/voxel_num_points"]
    coords = np.concatenate([np.zeros((6836, 1), np.int32), out["voxels"].coords_zyx], 1)
    assert array_sha256(coords) == sha["in/voxel_coords"]


def test_anchors_are_openpcdets_bit_for_bit(run):
    z, _, cfg, model, _ = run
    xs, ys = anchor_positions(cfg.model)
    np.testing.assert_array_equal(xs.astype(np.float32), z["anchor_x"])
    np.testing.assert_array_equal(ys.astype(np.float32), z["anchor_y"])
    params = model.anchors.view(248, 216, 6, 7)[0, 0][:, [2, 3, 4, 5, 6]]  # (z, dx, dy, dz, r)
    np.testing.assert_array_equal(params.numpy(), z["anchor_params"])


def test_pillar_features(run):
    z, exp, _, _, out = run
    ours = out["pillar_features"][torch.from_numpy(z["pillar_features_rows"])]
    assert max_abs(ours, z["pillar_features"]) <= exp["tolerances"]["pillar_features"]


@pytest.mark.parametrize("stage", BEV_STAGES)
def test_bev_maps_channel_sums(run, stage):
    z, _, _, _, out = run
    err = channel_sum_error(
        out[stage], z[f"{stage}_channel_sum"], z[f"{stage}_channel_abssum"], (0, 2, 3)
    )
    assert err <= 1e-5, f"{stage}: channel sums off by {err:.2g} of their abs-sum"


def test_last_bev_map_window(run):
    z, exp, _, _, out = run
    oy, ox = (int(v) for v in z["window_origin"])
    window = out["spatial_features_2d"][0, :, oy : oy + 16 : 4, ox : ox + 16 : 4]
    assert max_abs(window, z["window_strided"]) <= exp["tolerances"]["spatial_features_2d"]


def test_head_outputs_at_sampled_anchors(run):
    z, exp, _, _, out = run
    idx = torch.from_numpy(z["sample_anchor_indices"]).long()
    cls_logits, box_deltas, dir_logits = (h[0][idx] for h in out["head"])
    tol = exp["tolerances"]
    assert max_abs(cls_logits, z["sample_cls_preds"]) <= tol["cls_preds"]
    assert max_abs(box_deltas, z["sample_box_preds"]) <= tol["box_preds"]
    assert max_abs(dir_logits, z["sample_dir_cls_preds"]) <= tol["dir_cls_preds"]


def test_decoded_boxes_before_nms(run):
    z, exp, _, _, out = run
    tol = exp["tolerances"]["batch_box_preds"]
    boxes, scores = out["decoded"]
    sample = torch.from_numpy(z["sample_anchor_indices"]).long()
    # headings compared as they are (OpenPCDet leaves them in [0.785, 0.785 + 2 pi))
    assert max_abs(boxes[sample], z["sample_batch_box_preds"]) <= tol
    pre = torch.from_numpy(z["pre_nms_anchor_indices"]).long()
    assert max_abs(boxes[pre], z["pre_nms_boxes"]) <= tol
    best, label = scores[pre].max(dim=1)
    assert max_abs(best, z["pre_nms_scores"]) <= exp["tolerances"]["batch_cls_preds"]
    np.testing.assert_array_equal(label.numpy() + 1, z["pre_nms_labels"])


def test_pre_nms_selection_and_final_set_after_class_agnostic_nms(run):
    z, _, _, _, out = run
    det = out["detections"]
    # 14,345 anchors score >= 0.1; OpenPCDet keeps the best 4096 (a tie at rows 2487/2488)
    scores = out["decoded"].scores.max(dim=1).values
    assert int((scores >= 0.1).sum()) == 14345
    # class-agnostic rotated NMS at IoU 0.01, at most 500: the same set as OpenPCDet's
    assert len(det.anchor_index) == 500
    assert set(det.anchor_index.tolist()) == set(z["final_anchor_indices"].tolist())
    assert bool((det.scores[:-1] >= det.scores[1:]).all())
