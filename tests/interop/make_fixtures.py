"""Write the compact in-repo parity fixtures (tests/data/interop/) from the full ones.

The full fixtures (``shared/interop/*.npz``, 40 MB: random-weight state dicts under the
frameworks' own key names, frame 004139, every stage's outputs) are not in the repository; CI
runs on a clean clone. What the must-have tests need is kept here, compactly:

- OpenPCDet PointPillars: the whole state dict, losslessly (each float16 tensor as its sorted
  distinct values plus a uint8 index: the weights were drawn on a grid of std/4, so a tensor
  has at most 254 distinct values; 2.9 MB compressed instead of 9.7 MB), and every stage's
  reference at a sample (pillar-feature rows, channel sums of every BEV map, a strided window
  of the last one, head outputs and decoded boxes at the 4096 sampled anchors, the pre-NMS
  boxes and the final set).
- OpenPCDet SECOND: the sparse 3D encoder's weights and its references (SHA-256 of every
  sparse stage's active sites, their channel sums, rows of its output); its 2D part is the
  same code as PointPillars' and is checked on the full fixture when present.
- mmdetection3d PointPillars: the pillar encoder's weights (its legacy decoration), the head
  outputs and decoded boxes at the sampled anchors, the pre-NMS rows with the direction fix.
- For all three: SHA-256 of the FOV mask, the points and the voxels (exact stages), the
  anchor positions, and every state-dict key with its shape (expected.json).

Run from the repository root: ``python tests/interop/make_fixtures.py /path/to/shared/interop``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).parents[1] / "data" / "interop"
FIXTURES = {
    "openpcdet_pointpillar": "openpcdet_pointpillar_kitti",
    "openpcdet_second": "openpcdet_second_kitti",
    "mmdet3d_pointpillars": "openmmlab_mmdet3d_pointpillars_kitti",
}
HASHED = ("in/fov_mask", "in/points", "in/voxels", "in/voxel_coords", "in/voxel_num_points")
# SECOND's active sites per sparse stage, (M, 4) int32 (b, z, y, x) sorted
SPARSE_SITES = tuple(
    f"out/{n}_indices"
    for n in ("x_conv1", "x_conv2", "x_conv3", "x_conv4", "encoded_spconv_tensor")
)


def sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def encode_state(z, prefix: str, out: dict) -> None:
    """Float16 tensors as distinct values + uint8 index; counters as they are."""
    for k in z.files:
        if not k.startswith("state/") or not k[len("state/") :].startswith(prefix):
            continue
        a = z[k]
        if a.dtype == np.float16:
            values, index = np.unique(a.ravel(), return_inverse=True)
            assert len(values) <= 256, k
            out[f"w_values/{k[6:]}"] = values
            out[f"w_index/{k[6:]}"] = index.astype(np.uint8).reshape(a.shape)
        else:
            out[f"w_raw/{k[6:]}"] = a


def stage_sums(z, names, out: dict) -> None:
    for n in names:
        for suffix in ("channel_sum", "channel_abssum"):
            out[f"{n}_{suffix}"] = z[f"out/{n}_{suffix}"]


def sampled_rows(z, name: str, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ``step``-th row of the output ``name``: the row indices and the rows."""
    values = z[f"out/{name}"]
    rows = np.arange(0, len(values), step)
    return rows, values[rows]


def head_at(z, index: np.ndarray, width: int) -> dict:
    """OpenPCDet head maps (1, H, W, K*n) at anchor indices, as (len, n) rows."""
    cell, k = np.divmod(index, 6)  # 6 anchors per cell
    iy, ix = np.divmod(cell, width)
    rows = {}
    for name, n in (("cls_preds", 3), ("box_preds", 7), ("dir_cls_preds", 2)):
        m = z[f"out/{name}"][0]
        cols = k[:, None] * n + np.arange(n)[None, :]
        rows[name] = m[iy[:, None], ix[:, None], cols]
    return rows


def openpcdet_pointpillar(z) -> dict:
    out: dict = {}
    encode_state(z, "", out)
    out["pillar_features_rows"], out["pillar_features"] = sampled_rows(z, "pillar_features", 16)
    names = ["spatial_features", "spatial_features_2d"]
    names += [f"backbone_2d_{p}{i}" for p in ("block", "deblock") for i in range(3)]
    stage_sums(z, names, out)
    out["window_origin"] = z["out/spatial_features_2d_window_origin"]
    out["window_strided"] = z["out/spatial_features_2d_window"][:, ::4, ::4]
    idx = z["out/sample_anchor_indices"]
    out["sample_anchor_indices"] = idx
    for name, rows in head_at(z, idx, 216).items():
        out[f"sample_{name}"] = rows
    out["sample_batch_box_preds"] = z["out/sample_batch_box_preds"]
    for k in ("anchor_indices", "scores", "labels", "boxes"):
        out[f"pre_nms_{k}"] = z[f"out/pre_nms_{k}"]
    out["final_anchor_indices"] = z["out/final_anchor_indices"]
    return out


def openpcdet_second(z) -> dict:
    out: dict = {}
    encode_state(z, "backbone_3d.", out)
    out["voxel_features_rows"], out["voxel_features"] = sampled_rows(z, "voxel_features", 8)
    names = ["x_conv1", "x_conv2", "x_conv3", "x_conv4", "encoded_spconv_tensor"]
    stage_sums(z, names, out)
    out["encoded_rows"], out["encoded_features"] = sampled_rows(
        z, "encoded_spconv_tensor_features", 32
    )
    return out


def mmdet3d_pointpillars(z) -> dict:
    out: dict = {}
    encode_state(z, "voxel_encoder.", out)
    out["pillar_features_rows"], out["pillar_features"] = sampled_rows(z, "pillar_features", 16)
    for k in ("anchor_indices", "cls_score", "bbox_pred", "dir_cls_pred", "decoded_boxes"):
        out[f"sample_{k}"] = z[f"out/sample_{k}"]
    for k in ("anchor_indices", "boxes", "dir_labels", "boxes_dir_fixed"):
        out[f"pre_nms_{k}"] = z[f"out/pre_nms_{k}"]
    return out


def main(shared: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    expected = {}
    for short, name in FIXTURES.items():
        z = np.load(shared / f"{name}.npz", allow_pickle=False)
        meta = json.loads((shared / f"{name}.json").read_text())
        arrays = globals()[short](z)
        for k in ("anchor_x", "anchor_y", "anchor_params"):
            arrays[k] = z[f"out/{k}"]
        np.savez_compressed(OUT / f"{short}_004139.npz", **arrays)
        expected[short] = {
            "source": meta["source"],
            "sha256": {k: sha256(z[k]) for k in HASHED + SPARSE_SITES if k in z.files},
            "state_dict": meta["weights"]["state_dict"],
            "tolerances": {k: v["suggested_atol"] for k, v in meta["tolerances"].items()},
        }
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
