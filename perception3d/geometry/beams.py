"""Beam tables: the elevation of each laser of a spinning LiDAR, and which beam each point is.

A range-image row is a beam. For KITTI sweeps the beams are recovered from the .bin's firing
order when it is intact, else from the geometry of the points (see `estimate_beam_table`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

from perception3d.geometry.spherical import (
    _check_finite,
    _check_points,
    _positive_int,
    _spherical_columns,
)

__all__ = ["HDL64E_ELEVATIONS_DEG", "BeamTable", "estimate_beam_table"]

# Nominal Velodyne HDL-64E beam elevations, degrees, descending. HDL-64E S2 user's manual: the
# 64 lasers sit in an upper block of 32 (about 1/3 deg apart) and a lower block of 32 (about
# 1/2 deg apart); KITTI (Geiger et al., IJRR 2013) quotes a +2.0 to -24.9 deg vertical field of
# view. Measured on KITTI 004139: each laser fits z = hypot(x, y) * tan(theta) + h within
# 0.001 deg (median), theta from +1.94 to -25.00 deg (mean spacing 0.34 / 0.52 deg), head
# height h = 0.21-0.20 m (upper block) and 0.125-0.115 m (lower); seen from the LiDAR origin the
# beams' median elevations therefore span +2.39 to -23.63 deg instead.
HDL64E_ELEVATIONS_DEG = np.concatenate([2.0 - np.arange(32) / 3.0, np.linspace(-8.83, -24.9, 32)])
HDL64E_ELEVATIONS_DEG.setflags(write=False)

_WRAP_JUMP_RAD = 0.1  # a backward azimuth jump larger than this starts a new turn (scan order)
_START_SLACK_RAD = 0.5  # scan order: a sweep starting this far past azimuth 0 is cut at 0
_REFINE_RAD = 0.1  # scan order: points this close to the cut azimuth may belong to a neighbour
_BIN_TAN = float(np.tan(np.radians(0.02)))  # fallback histogram bin, in tan(elevation)
_PEAK_HALF_BINS = 5  # fallback: a beam is a histogram maximum within +-0.1 deg
_OFFSETS_M = np.linspace(-0.3, 0.3, 61)  # fallback: candidate laser-head heights
_INLIER_TAN = float(np.tan(np.radians(0.05)))  # fallback: cone fit on points this close
_LOCAL_BINS = 50  # fallback: head height chosen per +-1 deg of elevation


@dataclass(frozen=True, eq=False)
class BeamTable:
    """Beam elevations of a sweep and each point's beam.

    Attributes:
        elevations_rad: (num_beams,) float64, strictly descending: the median elevation (seen
            from the LiDAR origin) of the beam's points; beams without points are interpolated.
        ring: (N,) int64 beam (range-image row) of every point, 0 = highest elevation.
        method: "scan_order" (from the firing order of the .bin) or "clustering" (geometry).
    """

    elevations_rad: np.ndarray
    ring: np.ndarray
    method: Literal["scan_order", "clustering"]


def _grouped_median(values: np.ndarray, group: np.ndarray, num_groups: int) -> np.ndarray:
    """Median of `values` per group id in [0, num_groups); NaN for empty groups."""
    order = np.lexsort((values, group))
    counts = np.bincount(group, minlength=num_groups)
    starts = np.cumsum(counts) - counts
    ordered = np.append(values[order], np.nan)  # empty groups read the NaN
    lo = np.where(counts > 0, starts + (counts - 1) // 2, len(values))
    hi = np.where(counts > 0, starts + counts // 2, len(values))
    return (ordered[lo] + ordered[hi]) / 2


def _cone_coords(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """u = z / d, v = 1 / d with d = hypot(x, y) >= 1 m: a laser is the line u = tan(t) + h v."""
    dist = np.maximum(np.hypot(xyz[:, 0], xyz[:, 1]), 1.0)
    return xyz[:, 2] / dist, 1.0 / dist


def _fit_cones(ring, u, v, tan_t, h, h_prior, ridge=1e-6):
    """Least-squares line u = tan_t + h v per beam; h shrunk to h_prior when v barely varies."""
    n = len(tan_t)
    count = np.bincount(ring, minlength=n)
    c = np.maximum(count, 1)
    mu, mv = np.bincount(ring, u, n) / c, np.bincount(ring, v, n) / c
    var_v = np.bincount(ring, v * v, n) / c - mv * mv
    cov = np.bincount(ring, u * v, n) / c - mu * mv
    h_new = (cov + ridge * h_prior) / (var_v + ridge)
    return np.where(count > 0, mu - h_new * mv, tan_t), np.where(count > 0, h_new, h)


def _assign_cones(tan_t, h, u, v) -> np.ndarray:
    """Index of the nearest line (lines ordered top to bottom): count the midlines above."""
    size = 1 << max(len(tan_t) - 1, 0).bit_length()
    mid_t, mid_h = np.full(size, -np.inf), np.zeros(size)
    mid_t[: len(tan_t) - 1] = (tan_t[1:] + tan_t[:-1]) / 2
    mid_h[: len(tan_t) - 1] = (h[1:] + h[:-1]) / 2
    ring, step = np.zeros(len(u), np.int64), size // 2
    while step:  # branchless binary search over the ordered midlines
        probe = ring + (step - 1)
        ring += step * (u < mid_t[probe] + mid_h[probe] * v)
        step //= 2
    return ring


def _scan_order_rings(az: np.ndarray, u, v, num_beams: int) -> tuple[np.ndarray, int] | None:
    """Rings from the firing order: each laser turns once, starting where the sweep starts."""
    turns = np.concatenate([[0], np.cumsum(np.diff(az) < -_WRAP_JUMP_RAD)])
    found = max(int(turns[-1]), 1)
    # Lasers start at azimuth ~0: when the first return comes a little later (nothing was hit
    # straight ahead), cut at 0 anyway, or the next laser's first returns join this laser.
    cut = 0.0 if 0.0 <= az[0] < _START_SLACK_RAD else az[0]
    phase = az + 2 * np.pi * turns - cut
    ring = np.clip(np.floor(phase / (2 * np.pi)).astype(np.int64), 0, found - 1)
    counts = np.bincount(ring, minlength=found)
    if found > num_beams or counts.min() < 0.1 * len(az) / found:
        return None
    # Lasers start within an azimuth step of each other: a point near the cut may belong to the
    # neighbouring laser; give it to whichever laser's cone fits it better.
    tan_t, h = _fit_cones(ring, u, v, np.zeros(found), np.zeros(found), 0.0)
    rest = np.mod(phase, 2 * np.pi)
    other = ring + np.where(rest < _REFINE_RAD, -1, np.where(rest > 2 * np.pi - _REFINE_RAD, 1, 0))
    other = np.clip(other, 0, found - 1)
    worse = np.abs(u - tan_t[ring] - h[ring] * v) > np.abs(u - tan_t[other] - h[other] * v)
    ring = np.where(worse, other, ring)
    # Each ring must be one laser: its cone fits 80 % of its points within 0.1 deg.
    misfit = np.abs(np.arctan(u) - np.arctan(tan_t[ring] + h[ring] * v)) > np.radians(0.1)
    if np.any(np.bincount(ring, misfit, found) > 0.2 * counts):
        return None
    return ring, found


def _cluster_rings(u, v, el, num_beams: int) -> tuple[np.ndarray, int]:
    """Rings by clustering laser cones u = tan(theta) + h v (shuffled clouds).

    Histograms of the head-corrected elevation u - h (v - v_ref) for each candidate head height
    h: one h for the whole cloud (the sharpest histogram) or, per +-1 deg of elevation, the
    locally sharpest h (KITTI's two laser blocks have different heads). Each choice gives beam
    peaks refined by Lloyd iterations; the one whose cones explain more points wins.
    """
    v_ref, lo, num_bins = float(np.median(v)), -1.0, int(2.0 / _BIN_TAN)
    hists = np.empty((len(_OFFSETS_M), num_bins))  # (head heights, elevation bins) counts
    for j, offset in enumerate(_OFFSETS_M):
        bins = ((u - offset * (v - v_ref) - lo) / _BIN_TAN).astype(np.int64)
        hists[j] = np.bincount(np.clip(bins, 0, num_bins - 1), minlength=num_bins)
    hists[:, [0, -1]] = 0.0  # outside +-45 deg
    cum = np.cumsum(np.pad(hists**2, ((0, 0), (_LOCAL_BINS + 1, _LOCAL_BINS))), axis=1)
    local = cum[:, 2 * _LOCAL_BINS + 1 :] - cum[:, : -2 * _LOCAL_BINS - 1]  # +-1 deg sharpness
    cols = np.arange(num_bins)
    whole = np.full(num_bins, np.argmax((hists**2).sum(axis=1)))
    best = np.argmax(local, axis=0)
    best = np.where(local[best, cols] > 1.1 * local[whole, cols], best, whole)
    candidates = [_cones_from_peaks(hists[whole, cols], _OFFSETS_M[whole], u, v, el, num_beams)]
    if np.any(best != whole):
        candidates.append(
            _cones_from_peaks(hists[best, cols], _OFFSETS_M[best], u, v, el, num_beams)
        )
    ring, found, _ = max(candidates, key=lambda candidate: candidate[2])
    return ring, found


def _cones_from_peaks(hist, heads, u, v, el, num_beams: int) -> tuple[np.ndarray, int, float]:
    """Beam peaks of one corrected-elevation histogram, refined; (ring, found, explained)."""
    window = sliding_window_view(np.pad(hist, _PEAK_HALF_BINS), 2 * _PEAK_HALF_BINS + 1)
    min_mass = max(5.0, 0.05 * len(u) / num_beams)
    peaks = np.flatnonzero((window.max(axis=1) == hist) & (hist >= min_mass))
    peaks = peaks[np.argsort(-hist[peaks], kind="stable")][:num_beams]
    if len(peaks) == 0:
        return np.zeros(len(u), np.int64), 0, 0.0
    peaks = np.sort(peaks[hist[peaks] >= 0.1 * np.median(hist[peaks])])[::-1]
    h_prior = heads[peaks]
    tan_t, h = -1.0 + (peaks + 0.5) * _BIN_TAN - h_prior * np.median(v), h_prior.copy()
    first = ring = _assign_cones(tan_t, h, u, v)
    for tol in (np.inf, _INLIER_TAN):  # Lloyd iterations, then on inliers only, so that
        for _ in range(30):  # points taken from a neighbour cannot hold a cone off its beam
            inlier = np.abs(u - tan_t[ring] - h[ring] * v) < tol
            tan_t, h = _fit_cones(ring[inlier], u[inlier], v[inlier], tan_t, h, h_prior)
            new = _assign_cones(tan_t, h, u, v)
            if np.array_equal(new, ring):
                break
            ring = new
    if not np.all(np.diff(_grouped_median(el, ring, len(peaks))) < 0):
        ring = first  # refinement crossed beams: keep the peaks' assignment
    explained = float(np.mean(np.abs(u - tan_t[ring] - h[ring] * v) < _INLIER_TAN))
    return ring, len(peaks), explained


def estimate_beam_table(points: ArrayLike, num_beams: int = 64) -> BeamTable:
    """Estimate the beam (laser) elevations of a sweep and the beam of every point.

    Each laser is a cone: z = hypot(x, y) * tan(theta) + h, h its head height (KITTI: 0.20 m
    upper block, 0.12 m lower, so elevations seen from the origin spread with range and plain
    1D clustering mixes neighbouring beams). Method "scan_order": KITTI .bin sweeps (and crops
    of them) are stored laser by laser, each turning once from about azimuth 0 through +pi, -pi
    back to 0; counting the turns (backward azimuth jumps) gives the ring, and points within
    0.1 rad of the cut go to whichever neighbouring laser's cone fits them. Used when it finds at
    most `num_beams` rings, each of at least 10 % of the mean size and fitting its cone (80 % of
    points within 0.1 deg). Method "clustering" (shuffled clouds): peaks of the head-corrected
    elevation histogram, refined by Lloyd iterations on the cones; needs a few hundred points
    per beam (a shuffled 10 % subsample of a sweep is too sparse). Beams not found (crops) take
    the nominal table (HDL-64E for 64 beams, else +2.0 to -24.9 deg evenly), shifted like their
    found neighbours; in a crop two neighbours' medians can invert, and rings follow the table.

    Args:
        points: (N, 4) [x, y, z, intensity] LiDAR frame, metres, N >= 1, finite.
        num_beams: number of lasers of the sensor.

    Returns:
        BeamTable: elevations_rad (num_beams,) strictly descending (median elevation of each
        beam's points, seen from the origin), ring (N,) int64, method.

    Raises:
        ValueError: bad shape, empty or non-finite points, num_beams not a positive int.

    Example:
        >>> from perception3d.geometry.spherical import from_spherical
        >>> el = np.radians([1.0, -1.0, -3.0])
        >>> az = np.tile(np.linspace(0, 2 * np.pi, 500, endpoint=False), 3)
        >>> az = np.where(az > np.pi, az - 2 * np.pi, az)  # each laser turns once, in order
        >>> sph = np.stack([np.full(1500, 20.0), az, np.repeat(el, 500), np.zeros(1500)], 1)
        >>> table = estimate_beam_table(from_spherical(sph), num_beams=3)
        >>> table.method, np.degrees(table.elevations_rad).round(3)
        ('scan_order', array([ 1., -1., -3.]))
    """
    pts = _check_points(points)
    num_beams = _positive_int(num_beams, "num_beams")
    if len(pts) == 0:
        raise ValueError(f"points must hold at least one point, got {pts.shape}")
    _check_finite(pts)
    _, az, el = _spherical_columns(pts)
    u, v = _cone_coords(pts[:, :3].astype(np.float64))
    method: Literal["scan_order", "clustering"] = "scan_order"
    if (scan := _scan_order_rings(az, u, v, num_beams)) is not None:
        ring, found = scan
    else:
        method, (ring, found) = "clustering", _cluster_rings(u, v, el, num_beams)
    nominal = np.radians(
        HDL64E_ELEVATIONS_DEG if num_beams == 64 else np.linspace(2.0, -24.9, num_beams)
    )
    if found == 0:  # too few points for any peak: nearest nominal beam
        return BeamTable(nominal, np.argmin(np.abs(el[:, None] - nominal), axis=1), method)
    elevations = _grouped_median(el, ring, found)
    # Place the found beams on the nominal table (a crop loses top or bottom beams) and fill.
    costs = [
        np.nansum(np.abs(elevations - nominal[s : s + found])) for s in range(num_beams - found + 1)
    ]
    shift = int(np.argmin(costs))
    known = np.flatnonzero(~np.isnan(elevations))
    offsets = elevations[known] - nominal[known + shift]
    full = nominal + np.interp(np.arange(num_beams), known + shift, offsets)
    full[known + shift] = elevations[known]
    order = np.argsort(-full, kind="stable")  # in a crop two neighbours' medians can invert
    rank = np.empty(num_beams, np.int64)
    rank[order] = np.arange(num_beams)
    return BeamTable(full[order], rank[ring + shift], method)
