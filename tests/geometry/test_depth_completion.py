"""Projection of a sweep into image_2 and Ku et al.'s morphological depth completion."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.data.kitti import read_velodyne
from perception3d.geometry.calib import Calibration
from perception3d.geometry.depth_completion import (
    complete_depth,
    holdout_error,
    sparse_depth_map,
    top_return_rows,
)
from tests.toy_scenes import permuted_pinhole

# x forward -> camera z, y left -> camera -x, z up -> camera -y; focal 100 px, centre (50, 20)
TOY = permuted_pinhole(100.0, 50.0, 20.0)


def test_projection_keeps_the_nearest_point_and_drops_what_is_not_seen():
    pts = np.array(
        [
            [10.0, 0.0, 0.0, 0.0],  # centre pixel (50, 20) at 10 m
            [5.0, 0.0, 0.0, 0.0],  # same pixel, nearer: wins
            [20.0, 0.0, 0.0, 0.0],  # same pixel, farther: hidden
            [-5.0, 0.0, 0.0, 0.0],  # behind the camera
            [10.0, -10.0, 0.0, 0.0],  # u = 150: outside a 100-px-wide image
            [10.0, 1.0, 0.5, 0.0],  # u = 40, v = 15
        ]
    )
    d = sparse_depth_map(pts, TOY, 40, 100)
    assert d.shape == (40, 100) and d.dtype == np.float32
    assert d[20, 50] == 5.0 and d[15, 40] == 10.0
    assert np.count_nonzero(d) == 2
    with pytest.raises(ValueError, match="image size must be positive"):
        sparse_depth_map(pts, TOY, 0, 100)


def _scene(h: int = 60, w: int = 120) -> np.ndarray:
    """Dense truth: a ground plane below the horizon (depth 1.65 f / (v - horizon)) and a box
    at 8 m in front of a 30 m wall."""
    v = np.arange(h, dtype=np.float64)[:, None] - 20.0
    depth = np.where(v > 0, 1.65 * 100.0 / np.maximum(v, 1e-9), 30.0) * np.ones((1, w))
    depth[:, :] = np.minimum(depth, 30.0)
    depth[25:45, 40:70] = 8.0
    return depth.astype(np.float32)


def _lidar_like(dense: np.ndarray, every_row: int = 3, top: int = 12) -> np.ndarray:
    """Sparse map with returns on every ``every_row``-th row from ``top`` down (beams), every
    second column."""
    sparse = np.zeros_like(dense)
    sparse[top::every_row, ::2] = dense[top::every_row, ::2]
    return sparse


def test_completion_fills_planes_and_keeps_the_near_object_in_front():
    dense = _scene()
    out = complete_depth(_lidar_like(dense))
    assert out.shape == dense.shape and out.dtype == np.float32 and (out > 0).all()
    # planes at one depth come back exactly: the wall (rows 12-20) and the box interior
    assert np.allclose(out[12:19, 4:36], 30.0, rtol=1e-3)
    assert np.allclose(out[28:38, 44:66], 8.0, rtol=1e-3)
    # the ground (1.65 f / (v - horizon)) is steep at this tiny scale (focal 100 px): the
    # dilations take the nearest neighbour, a few per cent off where the depth changes fast
    ground = (slice(24, 58), slice(4, 36))
    rel = np.abs(out[ground] - dense[ground]) / dense[ground]
    assert np.median(rel) < 0.05 and np.mean(rel < 0.1) > 0.8
    # above the returns (rows < 12) each column carries its top-most value upwards
    assert np.allclose(out[:6, 4:30], 30.0, rtol=0.02)


def test_completion_options_and_errors():
    sparse = _lidar_like(_scene(), top=40)
    no_top = complete_depth(sparse, extend_top=False, fill_all=False)
    assert (no_top[:15] == 0).all()  # 31 x 31 dilation reaches 15 rows up, not the top
    assert (complete_depth(sparse, extend_top=False) > 0).all()  # fill_all: repeated
    top = complete_depth(sparse)[:10]  # extension: each column's top-most value (row 40)
    assert np.allclose(top[:, :30], 8.25) and np.allclose(top[:, 46:64], 8.0)  # ground, box
    # without the median (the reprojection alignment's speed setting) planes still come back
    fast = complete_depth(_lidar_like(_scene()), median=False)
    assert np.allclose(fast[12:19, 4:36], 30.0, rtol=1e-3) and (fast > 0).all()
    assert (complete_depth(np.zeros((8, 8))) == 0).all()  # no return: nothing to fill from
    far = np.zeros((9, 9), np.float32)
    far[4, 4] = 250.0
    assert complete_depth(far).max() == pytest.approx(100.0)  # clipped at max_depth_m
    with pytest.raises(ValueError, match=r"sparse_depth must be \(H, W\)"):
        complete_depth(np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="blur must be gaussian or none"):
        complete_depth(sparse, blur="bilateral")


def test_top_return_rows():
    sparse = np.zeros((5, 3), np.float32)
    sparse[2, 0], sparse[4, 0], sparse[1, 2] = 3.0, 4.0, 5.0
    assert top_return_rows(sparse).tolist() == [2, 5, 1]


def test_holdout_error_measures_the_completion(rng):
    dense = _scene()
    sparse = _lidar_like(dense)
    random = holdout_error(sparse, rng, fraction=0.2)
    assert random["points"] > 100 and random["unfilled"] == 0
    assert random["median_abs_rel"] < 0.05 and random["within_10pct"] > 0.8  # steep toy ground
    assert sum(b["points"] for b in random["by_range"].values()) == random["points"]
    top = holdout_error(sparse, rng, fraction=0.2, region="top", top_rows=3)
    assert top["points"] == np.count_nonzero(sparse[12:15])  # one beam row per column
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\)"):
        holdout_error(sparse, rng, fraction=1.0)
    with pytest.raises(ValueError, match="region must be random or top"):
        holdout_error(sparse, rng, region="edges")


def test_on_a_real_frame(kitti_root, rng):
    """Frame 000008 (the camera-field-of-view crop of a real sweep): a random tenth of its
    returns is predicted by the completion from the others to within 10 % for 89 % of them
    (measured: median relative error 0.4 %); the bound leaves room for float differences."""
    base = kitti_root / "training"
    calib = Calibration.from_file(base / "calib" / "000008.txt")
    sparse = sparse_depth_map(read_velodyne(base / "velodyne" / "000008.bin"), calib, 375, 1242)
    assert 15_000 < np.count_nonzero(sparse) < 17_238
    check = holdout_error(sparse, rng, fraction=0.1)
    assert check["within_10pct"] > 0.85 and check["median_abs_rel"] < 0.01
    dense = complete_depth(sparse)
    assert (dense > 0).all() and dense.max() <= 100.0
