"""Rain and snow on a LiDAR sweep: Beer-Lambert attenuation plus returns from the particles.

After LISA (Kilic et al., "Lidar Light Scattering Augmentation", arXiv 2107.07004, 2021), a
hybrid Monte Carlo per ray, here on every ray of the range image, also those without a return
(between the highest and lowest return of their column: not the open sky above, nor what a
camera-FOV crop removed):

- particle sizes: exponential N(D) = N0 exp(-Lambda D) per m^3 per mm of diameter D (mm) for a
  rate R (mm/h): rain Marshall & Palmer (1948), N0 = 8000, Lambda = 4.1 R^-0.21; snow Gunn &
  Marshall (1958), N0 = 3800 R^-0.87, Lambda = 2.55 R^-0.48 (melted diameters, as LISA uses);
- extinction alpha = int Q_ext (pi D^2 / 4) N(D) dD with Q_ext = 2 (the Mie efficiency of
  particles much larger than the 905 nm wavelength); the hard return's power falls by
  exp(-2 alpha R0) and its range gets noise of std 0.09 m / sqrt(2 SNR) (LISA);
- a particle at range r in the beam (divergence 3 mrad, so its diameter is 3 r mm) returns
  P = rho_p min((D / D_beam)^2, 1) exp(-2 alpha r) / r^2 with rho_p the Fresnel reflectance
  |(n - 1) / (n + 1)|^2 of water (n = 1.328) or ice (1.3031); particles nearer than 1.5 m are
  not seen (bistatic optics);
- the sensor keeps the strongest echo (HDL-64E "strongest return" mode); anything under the
  detection floor (`intensity.DETECTION_FLOOR`) is not reported.

Only particles that could beat the floor matter (at 3 mrad, D >= 0.067 r^2 mm: a few metres at
most), so per ray their number is drawn directly: Poisson with mean int A(r) N(D >= D_min(r)) dr
along the ray, their ranges by inverse CDF, their diameters by the exponential's memorylessness.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numba
import numpy as np

from perception3d.data.sample import LidarSample
from perception3d.lidar.intensity import DETECTION_FLOOR, reflectivity_of, return_power
from perception3d.lidar.sample_ops import replace_points
from perception3d.lidar.scanner import ScannerModel

__all__ = ["PrecipitationConfig", "add_precipitation", "extinction_per_m", "size_distribution"]

_REFRACTIVE_INDEX = {"rain": 1.328, "snow": 1.3031}  # water, ice at 905 nm (LISA)
_GRID_STEP_M = 0.05
CLUTTER_KEY = "weather_clutter_mask"
_RANGE_ACCURACY_M = 0.09  # LISA's dR


@dataclass(frozen=True)
class PrecipitationConfig:
    """Rain or snow parameters.

    Attributes:
        rain_rate_mm_h: (min, max) rain rate, drawn log-uniformly.
        snow_rate_mm_h: (min, max) snowfall rate (melted water), drawn log-uniformly.
        beam_divergence_rad: full beam divergence (LISA: 3e-3).
        min_range_m: particles nearer are not seen (LISA: 1.5 m).
        min_diameter_mm: smallest particle considered (LISA: 0.05 mm).
    """

    rain_rate_mm_h: tuple[float, float] = (0.5, 15.0)
    snow_rate_mm_h: tuple[float, float] = (0.3, 2.5)
    beam_divergence_rad: float = 3e-3
    min_range_m: float = 1.5
    min_diameter_mm: float = 0.05

    def __post_init__(self) -> None:
        for name in ("rain_rate_mm_h", "snow_rate_mm_h"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} must be 0 < min <= max, got {(lo, hi)}")
        if min(self.beam_divergence_rad, self.min_range_m) <= 0 or self.min_diameter_mm < 0:
            raise ValueError("beam_divergence_rad, min_range_m > 0 and min_diameter_mm >= 0")


def size_distribution(kind: Literal["rain", "snow"], rate_mm_h: float) -> tuple[float, float]:
    """(N0 per m^3 per mm, Lambda per mm) of the exponential size distribution.

    Example:
        >>> [round(v, 3) for v in size_distribution("rain", 10.0)]
        [8000.0, 2.528]
    """
    if rate_mm_h <= 0:
        raise ValueError(f"rate_mm_h must be > 0, got {rate_mm_h}")
    if kind == "rain":
        return 8000.0, 4.1 * rate_mm_h**-0.21
    elif kind == "snow":
        return 3800.0 * rate_mm_h**-0.87, 2.55 * rate_mm_h**-0.48
    else:
        raise ValueError(f"kind must be 'rain' or 'snow', got {kind!r}")


def extinction_per_m(n0: float, lam: float, min_diameter_mm: float = 0.0) -> float:
    """alpha = 2 * pi / 4 * int_{D_min}^inf D^2 N0 exp(-Lambda D) dD, in 1/m.

    Example:
        >>> round(extinction_per_m(8000.0, 4.1 * 10.0**-0.21), 6)  # rain, 10 mm/h: MOR ~1.9 km
        0.001556
    """
    d = min_diameter_mm
    moment = np.exp(-lam * d) * (d * d / lam + 2 * d / lam**2 + 2 / lam**3)  # mm^3 / m^3 mm
    return float(0.5 * np.pi * n0 * moment * 1e-6)  # mm^2 -> m^2


@lru_cache(maxsize=64)
def _candidate_table(n0, lam, reflectance, divergence, min_range, min_diameter, floor):
    """Cumulative expected number (K,) of detectable particles along a ray up to r (K,)."""
    r_max = np.sqrt(reflectance / floor)  # even a beam-filling particle is too weak beyond
    r = np.arange(min_range, max(r_max, min_range) + _GRID_STEP_M, _GRID_STEP_M)
    beam_mm = 1e3 * np.tan(divergence) * r
    d_min = np.maximum(beam_mm * r * np.sqrt(floor / reflectance), min_diameter)  # mm
    density = n0 / lam * np.exp(-lam * d_min)  # particles per m^3 with D >= d_min
    rate = np.pi * (beam_mm / 2) ** 2 * 1e-6 * density  # per metre of ray
    cumulative = np.concatenate([[0.0], np.cumsum((rate[1:] + rate[:-1]) / 2 * _GRID_STEP_M)])
    end = int(np.searchsorted(cumulative, cumulative[-1] * (1 - 1e-9))) + 2  # rest negligible
    return r[:end], cumulative[:end], d_min[:end]


@numba.njit(cache=True)
def _occupancy_kernel(rows, cols, width, filled, top, bottom):
    """Mark the filled cells; per column the highest (top) and lowest (bottom) filled row."""
    for i in range(rows.shape[0]):
        r, c = rows[i], cols[i]
        filled[r * width + c] = True
        top[c] = min(top[c], r)
        bottom[c] = max(bottom[c], r)


def _ray_table(sample: LidarSample, scanner: ScannerModel):
    """Every ray: (row, col, range) of the N points first, then of the empty cells that lie
    between the highest and the lowest return of their column (range inf).

    Empty cells outside that span are not counted as rays: in a camera-FOV crop they were cut
    away, not scanned; in a full sweep they are open sky, where clutter is left out."""
    rows, cols, range_m = scanner.cells(sample.points)
    width = scanner.width
    filled = np.zeros(scanner.num_beams * width, bool)
    top = np.full(width, scanner.num_beams, np.int64)
    bottom = np.full(width, -1, np.int64)
    _occupancy_kernel(rows, cols, width, filled, top, bottom)
    grid_rows = np.arange(scanner.num_beams)[:, None]
    spanned = ((grid_rows >= top[None, :]) & (grid_rows <= bottom[None, :])).ravel()
    empty = np.flatnonzero(~filled & spanned)
    ray_row = np.concatenate([rows, empty // width])
    ray_col = np.concatenate([cols, empty % width])
    return ray_row, ray_col, np.concatenate([range_m, np.full(len(empty), np.inf)])


def add_precipitation(
    sample: LidarSample,
    scanner: ScannerModel,
    kind: Literal["rain", "snow"],
    rate_mm_h: float,
    config: PrecipitationConfig,
    rng: np.random.Generator,
    floor: float = DETECTION_FLOOR,
) -> LidarSample:
    """Rain or snow of ``rate_mm_h`` on ``sample`` (see the module docstring).

    Returns:
        The new sample: surviving returns (attenuated intensity, range noise), then the
        particle returns; extras ``weather_clutter_mask`` (N',) bool marks the particles.
    """
    n0, lam = size_distribution(kind, rate_mm_h)
    alpha = extinction_per_m(n0, lam, config.min_diameter_mm)
    n = _REFRACTIVE_INDEX[kind]
    reflectance = ((n - 1) / (n + 1)) ** 2
    r_grid, cumulative, d_min = _candidate_table(
        n0, lam, reflectance, config.beam_divergence_rad, config.min_range_m,
        config.min_diameter_mm, floor,
    )  # fmt: skip
    ray_row, ray_col, ray_range = _ray_table(sample, scanner)
    num_points = len(sample.points)
    range_m = ray_range[:num_points]
    # Rays (points first, then empty cells) and their particles: only rays whose range is
    # below the grid's end need their own expected count, the others see the whole table.
    expected, count = np.empty(len(ray_row)), np.empty(len(ray_row), np.int64)
    _count_kernel(ray_range, r_grid[0], _GRID_STEP_M, cumulative, rng.random(len(ray_row)),
                  expected, count)  # fmt: skip
    owner = np.repeat(np.arange(len(count)), count)  # the ray of each particle
    u = rng.random(len(owner)) * expected[owner]
    r_p = np.interp(u, cumulative, r_grid)
    diameter = np.interp(r_p, r_grid, d_min) + rng.exponential(1.0 / lam, len(owner))
    fill = np.minimum((diameter / (1e3 * np.tan(config.beam_divergence_rad) * r_p)) ** 2, 1.0)
    p_particle = return_power(reflectance * fill, r_p, alpha)
    order = np.lexsort((-p_particle, owner))  # per ray, strongest particle first
    first = order[np.concatenate([[True], owner[order][1:] != owner[order][:-1]])]
    ray_of = owner[first]  # rays with particles, and their strongest one
    out, p_hard = sample.points.copy(), np.empty(num_points)
    _hard_kernel(out, range_m, scanner.head_height_m[ray_row[:num_points]], alpha, floor,
                 rng.standard_normal(num_points, dtype=np.float32), p_hard)  # fmt: skip
    hard_of = np.where(ray_of < num_points, p_hard[np.minimum(ray_of, num_points - 1)], 0.0)
    wins = (p_particle[first] > hard_of) & (p_particle[first] >= floor)
    won_ray, won = ray_of[wins], first[wins]
    keep = p_hard >= floor
    keep[won_ray[won_ray < num_points]] = False
    theta = np.arctan(scanner.tan_elevation[ray_row[won_ray]])
    xyz = scanner.ray_points(ray_row[won_ray], ray_col[won_ray], r_p[won] * np.cos(theta))
    inten = reflectance * fill[won] * np.exp(-2 * alpha * r_p[won])
    added = np.concatenate([xyz, np.clip(np.round(inten, 2), 0, 1)[:, None]], axis=1)
    weather = {"kind": kind, "rate_mm_h": float(rate_mm_h), "alpha_per_m": alpha}
    result = replace_points(
        sample.with_(points=out), keep, added, {CLUTTER_KEY: np.ones(len(added), bool)}
    )
    return result.with_(extras={**result.extras, "weather": weather})


@numba.njit(cache=True)
def _count_kernel(ray_range, r_start, step, cumulative, uniform, expected, count):
    """Per ray: expected number of detectable particles before its surface (the cumulative
    table on the uniform grid r_start + k step, linear in between) and a Poisson draw of it by
    inverse CDF from ``uniform`` (a few terms: the means are small)."""
    last = cumulative.shape[0] - 1
    for i in range(ray_range.shape[0]):
        pos = (ray_range[i] - r_start) / step
        if pos <= 0.0:
            mean = 0.0
        elif pos >= last:
            mean = cumulative[last]
        else:
            k = int(pos)
            mean = cumulative[k] + (pos - k) * (cumulative[k + 1] - cumulative[k])
        expected[i] = mean
        pmf = np.exp(-mean)
        cdf, k = pmf, 0
        while uniform[i] >= cdf and pmf > 1e-300:
            k += 1
            pmf *= mean / k
            cdf += pmf
        count[i] = k


@numba.njit(cache=True)
def _hard_kernel(points, range_m, head_m, alpha, floor, normal, power):
    """Hard returns in place: received power (out), range noise 0.09 m / sqrt(2 SNR) along the
    ray from the laser head (LISA), intensity attenuated by exp(-2 alpha r), 0.01 quantized."""
    for i in range(points.shape[0]):
        r = range_m[i]
        attenuation = np.exp(-2.0 * alpha * r)
        p = reflectivity_of(float(points[i, 3]), r, floor) * attenuation / max(r * r, 1e-6)
        power[i] = p
        if p < floor:
            continue
        factor = 1.0 + normal[i] * _RANGE_ACCURACY_M / np.sqrt(2.0 * p / floor) / max(r, 1e-9)
        points[i, 0] = points[i, 0] * factor
        points[i, 1] = points[i, 1] * factor
        points[i, 2] = head_m[i] + (points[i, 2] - head_m[i]) * factor
        points[i, 3] = np.rint(points[i, 3] * attenuation * 100.0) / 100.0
