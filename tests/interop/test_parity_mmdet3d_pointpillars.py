"""mmdetection3d's PointPillars (KITTI 3-class, 1.4.0) on frame 004139: its FOV reduction,
strict range filter and voxelization, its legacy pillar decoration, its anchors, box decoding
and direction rule, against its outputs stored compactly in tests/data/interop. The BEV
backbone and head are OpenPCDet's layers under other names (test_keymap.py); the whole
forward is checked on the full fixture in test_parity_full.py when that is present."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.interop.conftest import (
    array_sha256,
    compact_model,
    expected,
    frame_inputs,
    max_abs,
)

NAME = "mmdet3d_pointpillars"


@pytest.fixture(scope="module")
def run():
    z, cfg, model, _ = compact_model(NAME, "mmdet3d")
    mask, points, voxels, batch = frame_inputs(cfg)
    with torch.no_grad():
        pf = model.encoder.feature_net(batch.points, batch.num_points, batch.coords)
    return z, expected(NAME), cfg, model, dict(mask=mask, points=points, voxels=voxels, pf=pf)


def test_frustum_reduction_strict_range_and_voxels_bit_exact(run):
    _, exp, _, _, out = run
    sha = exp["sha256"]
    assert int(out["mask"].sum()) == 20069
    assert array_sha256(out["mask"].astype(np.uint8)) == sha["in/fov_mask"]
    assert len(out["voxels"].num_points) == 6840
    assert array_sha256(out["voxels"].points) == sha["in/voxels"]
    assert array_sha256(out["voxels"].num_points) == sha["in/voxel_num_points"]


def test_legacy_pillar_features(run):
    z, exp, _, _, out = run
    ours = out["pf"][torch.from_numpy(z["pillar_features_rows"])]
    assert max_abs(ours, z["pillar_features"]) <= exp["tolerances"]["pillar_features"]


def test_anchors_at_cell_centres(run):
    z, _, _, model, _ = run
    a = model.anchors.view(248, 216, 6, 7)
    assert max_abs(a[0, :, 0, 0], z["anchor_x"]) < 1e-5  # ours in float64, theirs linspace
    assert max_abs(a[:, 0, 0, 1], z["anchor_y"]) < 1e-5
    bottom = a[0, 0, :, 2] - a[0, 0, :, 5] / 2  # mmdet3d anchors hold the bottom z
    params = torch.cat([bottom[:, None], a[0, 0, :, 3:7]], 1)
    assert max_abs(params, z["anchor_params"]) < 1e-6


def test_decoding_and_direction_at_sampled_anchors(run):
    z, exp, _, model, _ = run
    idx = torch.from_numpy(z["sample_anchor_indices"]).long()
    deltas = torch.from_numpy(z["sample_bbox_pred"])
    boxes = model.box_coder.decode(deltas, model.anchors[idx])
    boxes[:, 2] -= boxes[:, 5] / 2  # mmdetection3d's z is the bottom
    tol = exp["tolerances"]["decoded_boxes"]
    assert max_abs(boxes, z["sample_decoded_boxes"]) <= tol
    pre = torch.from_numpy(z["pre_nms_boxes"]).clone()
    labels = torch.from_numpy(z["pre_nms_dir_labels"]).long()
    pre[:, 6] = model.box_coder.apply_direction(pre[:, 6], labels)
    assert max_abs(pre, z["pre_nms_boxes_dir_fixed"]) <= tol
