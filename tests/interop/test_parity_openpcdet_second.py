"""OpenPCDet's SECOND (KITTI 3-class) on frame 004139: voxelization, mean VFE and the sparse 3D
encoder (VoxelBackBone8x) reproduced from its own random-weight state dict, against its outputs
stored compactly in tests/data/interop. The 2D part (BEV backbone, head, decoding, NMS) is the
same code as PointPillars' (test_parity_openpcdet_pointpillar.py) and is checked on SECOND's
full fixture in test_parity_full.py when that is present."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("spconv")

from perception3d.engine.config import load_experiment
from perception3d.models.anchors import anchor_positions
from perception3d.models.detector import build_detector
from perception3d.models.second import sparse_to_bev
from tests.interop.conftest import (
    ROOT,
    array_sha256,
    channel_sum_error,
    compact_model,
    expected,
    frame_inputs,
    max_abs,
)

NAME = "openpcdet_second"
STAGES = ["x_conv1", "x_conv2", "x_conv3", "x_conv4", "encoded_spconv_tensor"]


@pytest.fixture(scope="module")
def run():
    # only the sparse encoder's weights are in the compact fixture
    z, cfg, model, missing = compact_model(NAME, "openpcdet")
    assert all(not k.startswith("encoder.") for k in missing)
    mask, _, voxels, batch = frame_inputs(cfg)
    with torch.no_grad():
        vf = model.encoder.voxel_encoder(batch.points, batch.num_points)
        sparse = model.encoder.middle.forward_sparse(vf, batch.coords, 1)
    return z, expected(NAME), cfg, model, dict(mask=mask, voxels=voxels, vf=vf, sparse=sparse)


def test_fov_and_voxels_bit_exact(run):
    _, exp, _, _, out = run
    assert array_sha256(out["mask"].astype(np.uint8)) == exp["sha256"]["in/fov_mask"]
    assert array_sha256(out["voxels"].points) == exp["sha256"]["in/voxels"]
    assert len(out["voxels"].num_points) == 15878


def test_mean_voxel_features(run):
    z, exp, _, _, out = run
    ours = out["vf"][torch.from_numpy(z["voxel_features_rows"])]
    assert max_abs(ours, z["voxel_features"]) <= exp["tolerances"]["voxel_features"]


@pytest.mark.parametrize("stage", range(5))
def test_sparse_stages_active_sites_and_channel_sums(run, stage):
    z, _, _, _, out = run
    name = STAGES[stage]
    x = out["sparse"][stage]
    shapes = {"x_conv1": [41, 1600, 1408], "x_conv4": [5, 200, 176]}
    if name in shapes:
        assert list(x.spatial_shape) == shapes[name]
    sites = x.indices.numpy().astype(np.int32)
    sites = sites[np.lexsort(sites.T[::-1])]  # sorted by (b, z, y, x), as stored
    assert array_sha256(sites) == run[1]["sha256"][f"out/{name}_indices"]
    err = channel_sum_error(x.features, z[f"{name}_channel_sum"], z[f"{name}_channel_abssum"], 0)
    assert err <= 1e-5, f"{name}: {err:.2g}"


def test_encoded_tensor_features_and_bev_layout(run):
    z, exp, _, _, out = run
    x = out["sparse"][-1]
    assert list(x.spatial_shape) == [2, 200, 176] and len(x.indices) == 8972
    order = np.lexsort(x.indices.numpy().T[::-1])  # OpenPCDet's rows: sorted by (b, z, y, x)
    rows = torch.from_numpy(order[z["encoded_rows"]])
    tol = exp["tolerances"]["encoded_spconv_tensor_features"]
    assert max_abs(x.features[rows], z["encoded_features"]) <= tol
    bev = sparse_to_bev(x.features, x.indices, 1, tuple(x.spatial_shape))
    assert bev.shape == (1, 256, 200, 176)  # channel = c * 2 + d (HeightCompression)


def test_anchor_positions(run):
    z, _, cfg, _, _ = run
    xs, ys = anchor_positions(cfg.model)
    np.testing.assert_array_equal(xs.astype(np.float32), z["anchor_x"])
    np.testing.assert_array_equal(ys.astype(np.float32), z["anchor_y"])


def test_mmdet3d_second_config_builds_the_same_network(run):
    _, _, _, model, _ = run
    other = build_detector(load_experiment(ROOT / "configs/models/mmdet3d/second.yaml").model)
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    assert {k: v.shape for k, v in other.state_dict().items()} == shapes
