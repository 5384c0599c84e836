"""Spherical form and range images, checked by hand and on real KITTI sweeps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from perception3d.geometry.spherical import RangeImage, from_spherical, to_spherical

PI32 = np.float32(np.pi)


def _ulps_of_range(back: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Per-coordinate error in units of the float32 spacing of the point's range."""
    range_m = np.linalg.norm(points[:, :3].astype(np.float64), axis=1)
    err = np.abs(back[:, :3].astype(np.float64) - points[:, :3])
    return err / np.spacing(range_m.astype(np.float32))[:, None]


@pytest.mark.parametrize(
    ("xyz", "expected"),
    [
        ((1, 0, 0), (1, 0, 0)),
        ((0, 1, 0), (1, np.pi / 2, 0)),
        ((0, -1, 0), (1, -np.pi / 2, 0)),
        ((1, 0, 1), (np.sqrt(2), 0, np.pi / 4)),
        ((0, 0, -2), (2, 0, -np.pi / 2)),
        ((-1, 0, 0), (1, np.pi, 0)),  # behind: +pi, never -pi
        ((-1, -0.0, 0), (1, np.pi, 0)),  # atan2(-0.0, -1) = -pi is folded to +pi
        ((-1, -1e-30, 0), (1, np.pi, 0)),  # rounds to -pi in float64, folded too
        ((-0.0, -0.0, -0.0), (0, 0, 0)),  # the origin: azimuth 0, elevation 0
    ],
)
def test_to_spherical_hand_checked_values(xyz, expected):
    sph = to_spherical(np.array([[*xyz, 0.75]]), dtype=np.float64)
    np.testing.assert_allclose(sph[0], [*expected, 0.75], rtol=0, atol=1e-15)


def test_to_spherical_float32_azimuth_stays_in_half_open_interval():
    # az = -pi + 1e-8 rounds to -float32(pi) in float32; it must come back as +float32(pi).
    pts = np.array([[-1, -1e-8, 0, 0], [-1, 1e-8, 0, 0], [-1, -1e-5, 0, 0]], np.float32)
    az = to_spherical(pts)[:, 1]
    assert az.dtype == np.float32
    np.testing.assert_array_equal(az[:2], [PI32, PI32])
    assert -PI32 < az[2] < 0


def test_spherical_round_trip_on_real_sweep_float64(sweep):
    back = from_spherical(to_spherical(sweep, dtype=np.float64))
    bitwise = (back == sweep).all(axis=1)
    # Measured: 123,263 of 123,266 points bitwise; the other 3 have an exact 0 coordinate that
    # comes back as ~1e-15 m (cos(pi / 2) is not 0 in floating point).
    assert bitwise.sum() >= len(sweep) - 3
    assert np.all(sweep[back != sweep] == 0)  # only exact zeros differ
    np.testing.assert_allclose(back, sweep, rtol=0, atol=2e-15)
    np.testing.assert_array_equal(back[:, 3], sweep[:, 3])


def test_spherical_round_trip_on_real_sweep_float32(sweep):
    back = from_spherical(to_spherical(sweep))
    # float32 angles carry ~r * 6e-8 of position: the error is bounded in ulps of the range,
    # not of each coordinate (a y of 1 mm at x = -10 m cannot survive a float32 azimuth).
    # Measured: max 2.0 ulps of the range; 62 % of coordinates bitwise, 90 % within 1 own ulp.
    assert _ulps_of_range(back, sweep).max() <= 3.0
    assert (back[:, :3] == sweep[:, :3]).mean() > 0.5
    np.testing.assert_array_equal(back[:, 3], sweep[:, 3])


def test_spherical_round_trip_on_random_points(rng):
    pts = np.concatenate([rng.uniform(-120, 120, (20_000, 3)), rng.uniform(-1e-3, 1e-3, (1000, 3))])
    pts = np.concatenate([pts, rng.random((len(pts), 1))], axis=1).astype(np.float32)
    assert _ulps_of_range(from_spherical(to_spherical(pts)), pts).max() <= 4.0
    back64 = from_spherical(to_spherical(pts, np.float64))
    assert (back64 == pts).mean() > 0.999


@settings(max_examples=200, derandomize=True, deadline=None)
@given(arrays(np.float32, (8, 4), elements=st.floats(-200, 200, width=32)))
def test_spherical_round_trip_property(pts):
    sph = to_spherical(pts)
    assert np.all((sph[:, 1] > -PI32) & (sph[:, 1] <= PI32))
    assert np.all(np.abs(sph[:, 2]) <= np.float32(np.pi / 2))
    assert _ulps_of_range(from_spherical(sph), pts).max(initial=0) <= 4.0
    back64 = from_spherical(to_spherical(pts, np.float64), np.float64)
    np.testing.assert_allclose(back64[:, :3], pts[:, :3], rtol=1e-15, atol=1e-12)


@pytest.mark.parametrize("bad", [np.zeros((5, 3)), np.zeros(4), np.zeros((2, 4, 1))])
def test_spherical_rejects_bad_shapes(bad):
    with pytest.raises(ValueError, match=r"points must be \(N, 4\), got"):
        to_spherical(bad)
    with pytest.raises(ValueError, match=r"spherical must be \(N, 4\), got"):
        from_spherical(bad)


def test_spherical_rejects_bad_dtypes():
    with pytest.raises(TypeError, match="dtype must be a floating type, got int32"):
        to_spherical(np.zeros((1, 4)), dtype=np.int32)
    with pytest.raises(TypeError, match="points must hold real numbers"):
        to_spherical(np.array([["a", "b", "c", "d"]]))


# --- beam tables ----------------------------------------------------------------------------


# --- range images ---------------------------------------------------------------------------

BEAMS_3 = np.radians([1.0, 0.0, -1.0])


def test_range_image_nearest_return_wins_in_any_order():
    far, near = [20.0, 0.0, 0.0, 0.1], [5.0, 0.0, 0.0, 0.9]
    for pts, winner in [([far, near], 1), ([near, far], 0), ([near, near, far], 0)]:
        image = RangeImage.from_points(np.array(pts, np.float32), BEAMS_3, width=16)
        assert image.mask.sum() == 1
        assert image.point_index[1, 8] == winner  # ties in range: the lower index wins
        assert image.range_m[1, 8] == 5.0 and image.intensity[1, 8] == np.float32(0.9)
        assert image.winner_mask().tolist() == [i == winner for i in range(len(pts))]


def test_range_image_column_and_row_conventions():
    width = 8
    az = np.array([0.0, 0.1, -0.1, np.pi, -np.pi + 1e-6, np.pi / 2, -np.pi / 2 + 0.1])
    el = np.radians([1.2, 0.1, -0.9, 0.6, -2.0, 0.0, 0.4])
    sph = np.stack([np.full(len(az), 10.0), az, el, np.zeros(len(az))], 1)
    image = RangeImage.from_points(from_spherical(sph, np.float64), BEAMS_3, width=width)
    # straight ahead is the centre column, +y (left) is left of it; +pi is column 0, -pi W-1
    assert image.point_col.tolist() == [4, 3, 4, 0, 7, 2, 5]
    # row 0 is the highest beam; nearest beam elevation, clamped at the ends
    assert image.point_row.tolist() == [0, 1, 2, 0, 2, 1, 1]
    assert (image.height, image.width) == (3, 8)


def test_range_image_rows_from_given_ring():
    pts = np.array([[10, 0, 0, 1], [10, 1, 0, 1], [10, 2, 3, 1]], np.float32)
    image = RangeImage.from_points(pts, BEAMS_3, width=32, rows=np.array([2, 0, 1]))
    assert image.point_row.tolist() == [2, 0, 1]
    assert image.point_index[2, image.point_col[0]] == 0  # elevation 0 deg, yet row 2


def test_range_image_on_real_sweep_is_lossless(sweep, sweep_table):
    image = RangeImage.from_points(sweep, sweep_table.elevations_rad, rows=sweep_table.ring)
    assert (image.height, image.width) == (64, 2048)
    for field in (image.range_m, image.intensity, image.azimuth_rad, image.elevation_rad):
        assert field.dtype == np.float32 and field.shape == (64, 2048)
    mask, index = image.mask, image.point_index
    # every point has a valid pixel; each pixel holds the exact spherical values of its point
    assert image.point_row.min() >= 0 and image.point_row.max() < 64
    assert image.point_col.min() >= 0 and image.point_col.max() < 2048
    np.testing.assert_array_equal(image.point_row, sweep_table.ring)
    stored = np.stack([image.range_m, image.azimuth_rad, image.elevation_rad, image.intensity])
    np.testing.assert_array_equal(stored[:, mask].T, to_spherical(sweep)[index[mask]])
    assert np.all(stored[:, ~mask] == 0) and np.all(index[~mask] == -1)
    # the points come back (float32 angles: within 2 ulps of the range, measured) ...
    winners = sweep[index[mask]]
    assert _ulps_of_range(image.to_points(), winners).max() <= 3.0
    np.testing.assert_array_equal(image.to_points()[:, 3], winners[:, 3])
    # ... and no loser is nearer than its pixel's winner (measured: 114,280 pixels filled)
    won = image.winner_mask()
    assert won.sum() == mask.sum() == len(np.unique(index[mask]))
    range_m = np.linalg.norm(sweep[:, :3].astype(np.float64), axis=1)
    pixel_winner = index[image.point_row, image.point_col]
    assert np.all(range_m[pixel_winner] <= range_m)


def test_range_image_matches_sort_based_reference(sweep, sweep_table):
    image = RangeImage.from_points(sweep, sweep_table.elevations_rad)  # nearest-beam rows
    range_m = to_spherical(sweep, np.float64)[:, 0]
    pixel = image.point_row * image.width + image.point_col
    order = np.lexsort((np.arange(len(sweep)), range_m, pixel))  # by (pixel, range, index)
    first = order[np.concatenate([[True], np.diff(pixel[order]) != 0])]
    reference = np.full(image.height * image.width, -1)
    reference[pixel[first]] = first
    np.testing.assert_array_equal(image.point_index.ravel(), reference)


def test_range_image_of_no_points():
    image = RangeImage.from_points(np.zeros((0, 4), np.float32), BEAMS_3, width=4)
    assert image.mask.sum() == 0 and image.to_points().shape == (0, 4)
    assert image.winner_mask().shape == (0,)


def test_range_image_rejects_bad_input():
    pts = np.ones((2, 4), np.float32)
    with pytest.raises(ValueError, match=r"points must be \(N, 4\), got \(2, 3\)"):
        RangeImage.from_points(pts[:, :3], BEAMS_3)
    with pytest.raises(ValueError, match="strictly descending"):
        RangeImage.from_points(pts, BEAMS_3[::-1])
    with pytest.raises(ValueError, match=r"beam_elevations_rad must be \(H,\) finite"):
        RangeImage.from_points(pts, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="width must be a positive int, got 0"):
        RangeImage.from_points(pts, BEAMS_3, width=0)
    with pytest.raises(ValueError, match=r"rows must be in \[0, 3\), got \[0, 3\]"):
        RangeImage.from_points(pts, BEAMS_3, rows=np.array([0, 3]))
    with pytest.raises(ValueError, match=r"rows must be \(2,\) int, got \(3,\)"):
        RangeImage.from_points(pts, BEAMS_3, rows=np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"rows must be \(2,\) int, got \(2,\) float64"):
        RangeImage.from_points(pts, BEAMS_3, rows=np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="points must be finite"):
        RangeImage.from_points(np.array([[np.inf, 0, 0, 0]]), BEAMS_3)
