"""Shared pieces of the interop tests: the compact in-repo fixtures (tests/data/interop, see
make_fixtures.py), the full ones when a copy of shared/interop is at hand, and frame 004139 run
through a framework config's FOV crop and voxelization."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from perception3d.data.kitti import KittiObjectDataset
from perception3d.engine.config import ExperimentConfig, load_experiment
from perception3d.geometry.fov import fov_mask
from perception3d.interop.keymap import key_map
from perception3d.lidar.voxelize import voxelize
from perception3d.models.detector import VoxelBatch, build_detector

ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "data" / "interop"
KITTI = ROOT / "tests" / "data" / "kitti_samples"
# 004139 ships without its image: (H, W) of the KITTI images of its recording day
IMAGE_HW = (370, 1224)
CONFIGS = {
    "openpcdet_pointpillar": "openpcdet/pointpillar.yaml",
    "openpcdet_second": "openpcdet/second.yaml",
    "mmdet3d_pointpillars": "mmdet3d/pointpillars.yaml",
}
FULL_NAMES = {
    "openpcdet_pointpillar": "openpcdet_pointpillar_kitti",
    "openpcdet_second": "openpcdet_second_kitti",
    "mmdet3d_pointpillars": "openmmlab_mmdet3d_pointpillars_kitti",
}


def expected(name: str) -> dict:
    return json.loads((DATA / "expected.json").read_text())[name]


def compact(name: str):
    return np.load(DATA / f"{name}_004139.npz", allow_pickle=False)


def compact_model(name: str, framework: str):
    """``(fixture, config, model, missing keys)``: our detector for the compact fixture ``name``
    (eval mode) holding the framework weights that fixture keeps, loaded non-strictly (a compact
    fixture keeps only some stages' weights; the rest are the load's missing keys)."""
    z, cfg = compact(name), config(name)
    model = build_detector(cfg.model).eval()
    ours = key_map(model.state_dict(), framework)
    state = {ours[k]: v for k, v in compact_state(z).items()}
    return z, cfg, model, model.load_state_dict(state, strict=False).missing_keys


def compact_state(z) -> dict[str, torch.Tensor]:
    """The framework state dict stored in a compact fixture, as the reference run used it
    (float16 values cast to float32)."""
    state = {}
    for k in z.files:
        if k.startswith("w_values/"):
            key = k[len("w_values/") :]
            values = z[k].astype(np.float32)
            state[key] = torch.from_numpy(values[z[f"w_index/{key}"]])
        elif k.startswith("w_raw/"):
            state[k[len("w_raw/") :]] = torch.from_numpy(z[k])
    return state


def full_fixture_dir() -> Path | None:
    """shared/interop: $PERCEPTION3D_INTEROP_FIXTURES, beside the repository (as CI lays it
    out) or /work/shared/interop; None when absent."""
    candidates = [
        os.environ.get("PERCEPTION3D_INTEROP_FIXTURES"),
        ROOT.parent / "shared" / "interop",
    ]
    candidates.append("/work/shared/interop")
    for c in candidates:
        if c and (Path(c) / "openpcdet_pointpillar_kitti.npz").is_file():
            return Path(c)
    return None


def full_fixture(name: str):
    """(npz, json) of a full fixture, or skip the test."""
    d = full_fixture_dir()
    if d is None:
        pytest.skip(
            "full interop fixtures (shared/interop/*.npz) not found: set "
            "PERCEPTION3D_INTEROP_FIXTURES; the compact in-repo ones are tested regardless"
        )
    full = FULL_NAMES[name]
    return np.load(d / f"{full}.npz", allow_pickle=False), json.loads(
        (d / f"{full}.json").read_text()
    )


def full_state(z) -> dict[str, torch.Tensor]:
    return {
        k[len("state/") :]: torch.from_numpy(
            z[k].astype(np.float32) if z[k].dtype == np.float16 else z[k]
        )
        for k in z.files
        if k.startswith("state/")
    }


def config(name: str) -> ExperimentConfig:
    return load_experiment(ROOT / "configs" / "models" / CONFIGS[name])


def frame_inputs(cfg: ExperimentConfig):
    """004139 through the config's FOV rule and voxelization: (mask, points, voxels, batch)."""
    frame = KittiObjectDataset(KITTI).frame("004139")
    mask = fov_mask(frame.points, frame.calib, IMAGE_HW, cfg.data.fov_rule)
    points = frame.points[mask]
    v = voxelize(points, cfg.model.voxel, cfg.model.voxel.max_voxels_infer)
    coords = np.concatenate([np.zeros((len(v.coords_zyx), 1), np.int32), v.coords_zyx], axis=1)
    batch = VoxelBatch(
        torch.from_numpy(v.points), torch.from_numpy(v.num_points), torch.from_numpy(coords), 1
    )
    return mask, points, v, batch


def array_sha256(a) -> str:
    """SHA-256 of an array's bytes (C order): how the fixtures record bit-exact arrays."""
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def max_abs(a, b) -> float:
    a = a.detach().double().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, np.float64)
    return float(np.abs(a - np.asarray(b, np.float64)).max())


def channel_sum_error(t: torch.Tensor, sums: np.ndarray, abssums: np.ndarray, dims) -> float:
    """Largest |our channel sum - theirs| / their channel abs-sum (README: ~1e-5 allowed)."""
    ours = t.detach().double().sum(dims).numpy()
    return float((np.abs(ours - sums) / np.maximum(abssums, 1e-12)).max())
