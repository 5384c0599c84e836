"""Beam tables estimated from real KITTI sweeps (scan order and geometric fallback)."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.geometry.beams import HDL64E_ELEVATIONS_DEG, estimate_beam_table
from tests.geometry.conftest import _velodyne


def _synthetic_sweep(elevations_rad, head_m, rng, per_beam=1500, keep=0.8):
    """Lasers in firing order, each turning once from about azimuth 0; z = d tan(el) + head.

    Returns (N, 4) float32 points and the (N,) true beam of each.
    """
    chunks, rings = [], []
    for beam, (el, head) in enumerate(zip(elevations_rad, head_m)):
        az = np.linspace(0, 2 * np.pi, per_beam, endpoint=False) + rng.uniform(0, 1e-3)
        az = np.where(az > np.pi, az - 2 * np.pi, az)[rng.random(per_beam) < keep]
        dist = rng.uniform(4.0, 60.0, len(az))
        z = dist * np.tan(el) + head
        chunks.append(np.stack([dist * np.cos(az), dist * np.sin(az), z, rng.random(len(az))], 1))
        rings.append(np.full(len(az), beam))
    return np.concatenate(chunks).astype(np.float32), np.concatenate(rings)


# --- spherical form -------------------------------------------------------------------------


def test_nominal_hdl64e_table():
    table = HDL64E_ELEVATIONS_DEG
    assert table.shape == (64,) and np.all(np.diff(table) < 0)
    assert table[0] == 2.0 and table[-1] == pytest.approx(-24.9)
    np.testing.assert_allclose(np.diff(table[:32]), -1 / 3)  # upper block, 1/3 deg
    assert table[32] == pytest.approx(-8.83)
    with pytest.raises(ValueError, match="read-only"):
        table[0] = 0.0


def test_beam_table_on_real_sweep_uses_scan_order(sweep, sweep_table):
    elevations_deg = np.degrees(sweep_table.elevations_rad)
    assert sweep_table.method == "scan_order"
    assert elevations_deg.shape == (64,) and np.all(np.diff(elevations_deg) < 0)
    assert 1.5 < elevations_deg[0] < 4.0  # measured +2.385 deg
    assert -26.0 < elevations_deg[-1] < -23.0  # measured -23.634 deg
    ring = sweep_table.ring
    assert ring.shape == (len(sweep),) and ring.dtype == np.int64
    assert np.all(np.diff(ring) >= 0)  # lasers are stored one after the other
    assert np.bincount(ring, minlength=64).min() > 1000  # measured 1,133 (lowest laser)


def test_scan_order_reassigns_only_points_at_the_cut(sweep, sweep_table):
    # The plain rule ring = floor((unwrapped - start) / 2pi) puts 3 points that end rings 12,
    # 14, 18 (azimuth 0.0000-0.0001, below the start azimuth 0.000124) in the wrong ring; their
    # elevation is that of the next laser. The cone check moves exactly those.
    az = np.arctan2(sweep[:, 1].astype(np.float64), sweep[:, 0])
    unwrapped = az + 2 * np.pi * np.concatenate([[0], np.cumsum(np.diff(az) < -np.pi)])
    plain = np.floor((unwrapped - unwrapped[0]) / (2 * np.pi)).astype(np.int64)
    moved = np.flatnonzero(plain != sweep_table.ring)
    np.testing.assert_array_equal(plain[moved], [12, 14, 18])
    np.testing.assert_array_equal(sweep_table.ring[moved], [13, 15, 19])


def test_beam_table_fallback_on_shuffled_sweep_matches_scan_order(sweep, sweep_table, rng):
    perm = rng.permutation(len(sweep))
    table = estimate_beam_table(sweep[perm])
    assert table.method == "clustering"
    # Measured: every point gets the same beam, so the tables are identical; allow 0.001 deg
    # median / 0.01 deg max and 99.9 % of rings for other seeds or platforms.
    diff_deg = np.degrees(np.abs(table.elevations_rad - sweep_table.elevations_rad))
    assert np.median(diff_deg) < 1e-3 and diff_deg.max() < 1e-2
    assert (table.ring == sweep_table.ring[perm]).mean() > 0.999


def test_beam_table_on_camera_crop(kitti_root, rng):
    # 000008 is the camera-field-of-view crop (17,238 points) but still in firing order: the
    # 46 lasers that reach the image are found in scan order; the 18 lower ones are filled in.
    crop = _velodyne(kitti_root, "000008")
    table = estimate_beam_table(crop)
    assert table.method == "scan_order"
    assert np.all(np.diff(table.elevations_rad) < 0)
    assert np.unique(table.ring).tolist() == list(range(46))
    # Shuffled, the clustering fallback needs the per-block head heights (0.20 m upper, 0.12 m
    # lower block): measured, it then gives every point the scan-order beam.
    perm = rng.permutation(len(crop))
    shuffled = estimate_beam_table(crop[perm])
    assert shuffled.method == "clustering"
    assert (shuffled.ring == table.ring[perm]).mean() > 0.999
    np.testing.assert_allclose(shuffled.elevations_rad, table.elevations_rad, atol=1e-4)


def test_beam_table_on_tiny_cloud(kitti_root):
    points = _velodyne(kitti_root, "000000")  # 800 points from the two top lasers
    table = estimate_beam_table(points)
    assert table.elevations_rad.shape == (64,) and np.all(np.diff(table.elevations_rad) < 0)
    assert np.unique(table.ring).tolist() == [0, 1]


@pytest.mark.parametrize("head_m", [0.0, 0.2])
def test_both_methods_recover_a_known_table(head_m, rng):
    true_rad = np.radians(HDL64E_ELEVATIONS_DEG + rng.uniform(-0.05, 0.05, 64))
    heads = np.where(np.arange(64) < 32, head_m, 0.6 * head_m)  # two blocks, like KITTI's
    points, truth = _synthetic_sweep(true_rad, heads, rng)
    ordered = estimate_beam_table(points)
    perm = rng.permutation(len(points))
    shuffled = estimate_beam_table(points[perm])
    assert (ordered.method, shuffled.method) == ("scan_order", "clustering")
    np.testing.assert_array_equal(ordered.ring, truth)
    np.testing.assert_array_equal(shuffled.ring, truth[perm])
    np.testing.assert_allclose(shuffled.elevations_rad, ordered.elevations_rad, atol=1e-12)
    if head_m == 0.0:  # elevations seen from the origin are the beam angles themselves
        np.testing.assert_allclose(ordered.elevations_rad, true_rad, atol=1e-6)


def test_scan_order_when_the_sweep_starts_late(rng):
    """Nothing straight ahead: the first laser's first return comes at 0.08 rad. Lasers still
    start at azimuth 0, so the next laser's first returns (here a car 11.5 m ahead) must not be
    taken for the previous laser's (here a sparse one seeing only far things)."""
    elevations, chunks, truth = np.radians(HDL64E_ELEVATIONS_DEG), [], []
    for beam, el in enumerate(elevations):
        az = np.linspace(0, 2 * np.pi, 2000, endpoint=False)
        az = np.where(az > np.pi, az - 2 * np.pi, az)
        dist = rng.uniform(10, 60, len(az))
        keep = np.ones(len(az), bool)
        if beam == 0:
            keep = (az < 0) | (az >= 0.08)
        if beam == 8:
            keep, dist = rng.random(len(az)) < 0.12, rng.uniform(90, 110, len(az))
        if beam == 9:
            dist = np.where((az >= 0) & (az < 0.1), 11.5, dist)
        az, dist = az[keep], dist[keep]
        chunks.append(
            np.stack([dist * np.cos(az), dist * np.sin(az), dist * np.tan(el) + 0.2, 0 * az], 1)
        )
        truth.append(np.full(len(az), beam))
    table = estimate_beam_table(np.concatenate(chunks).astype(np.float32))
    assert table.method == "scan_order"
    np.testing.assert_array_equal(table.ring, np.concatenate(truth))


def test_beam_table_rejects_bad_input():
    with pytest.raises(ValueError, match=r"points must be \(N, 4\), got \(3, 3\)"):
        estimate_beam_table(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="num_beams must be a positive int, got 0"):
        estimate_beam_table(np.ones((3, 4)), num_beams=0)
    with pytest.raises(ValueError, match="num_beams must be a positive int, got True"):
        estimate_beam_table(np.ones((3, 4)), num_beams=True)
    with pytest.raises(ValueError, match="at least one point"):
        estimate_beam_table(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="points must be finite, got 1 NaN/inf"):
        estimate_beam_table(np.array([[1.0, 2.0, np.nan, 0.0]]))
