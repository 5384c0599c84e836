"""Fog on a LiDAR sweep after Hahner et al., "Fog Simulation on Real LiDAR Point Clouds for 3D
Object Detection in Adverse Weather", ICCV 2021; the `Weather` transform (fog, rain or snow).

Fog is a soft target filling the air. Meteorological optical range MOR = ln(20) / alpha
(alpha: extinction per metre), backscatter beta = 0.046 / MOR (1/(m sr)). Each return at range
R0 is one ray, and the sensor reports the strongest of two echoes:

- the hard return of the surface, attenuated on the way there and back:
  i_hard = i exp(-2 alpha R0);
- the soft return of the fog, the transmitted pulse P_T(t) = P0 sin^2(pi t / (2 tau_H)),
  0 <= t <= 2 tau_H (tau_H = 20 ns, c tau_H = 6 m) convolved with the fog in front of the
  surface: S(R) = int_{R - c tau_H}^{min(R, R0)} sin^2(pi (R - r) / (c tau_H)) xi(r)
  exp(-2 alpha r) / r^2 dr, xi the receiver/transmitter overlap (0 before R1 = 0.9 m, linear to
  1 at R2 = 1.0 m). Its peak, in Hahner et al.'s intensity scale, is
  i_soft = i R0^2 (beta pi / gamma) (2 / c) max_R S(R), with gamma = 1e-6 their hard-target
  reflectivity parameter, reported at the peak's range minus c tau_H / 2 (where a hard target
  would read) plus Hahner's "v4" noise, 10 m x Beta(2, 20).

If i_soft > i_hard the point becomes fog clutter at the soft peak; otherwise the surface keeps
its attenuated intensity, unless its received power (`intensity.return_power`) fell below the
detection floor, and the return is lost. In practice every return beyond about 0.8 MOR turns
into clutter near the sensor (e.g. beyond ~40 m at MOR 50 m); `fog_max_range` gives the exact
range for a reflectivity. As in Hahner et al. only rays that had a return are changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numba
import numpy as np

from perception3d.data.sample import LidarSample
from perception3d.lidar.intensity import (
    DETECTION_FLOOR,
    apparent_reflectivity,
    reflectivity_of,
    return_power,
)
from perception3d.lidar.precipitation import PrecipitationConfig, add_precipitation
from perception3d.lidar.sample_ops import replace_points
from perception3d.lidar.scanner import ScannerModel

__all__ = ["FogConfig", "Weather", "WeatherConfig", "add_fog", "fog_max_range", "soft_response"]

SPEED_OF_LIGHT = 299_792_458.0  # m/s
CLUTTER_KEY = "weather_clutter_mask"
_GRID_STEP_M = 0.1  # Hahner et al.'s lookup tables: 0.1 m steps
_GRID_MAX_M = 20.0  # the soft peak is read within ~5 m: the table is constant well before 20 m


@dataclass(frozen=True)
class FogConfig:
    """Fog parameters (defaults: Hahner et al. 2021).

    Attributes:
        alpha_range_per_m: (min, max) extinction alpha, drawn log-uniformly; (0.005, 0.06) is
            MOR 600 m down to 50 m (Hahner et al. simulate 0.005-0.2).
        beta_times_mor: backscatter beta = beta_times_mor / MOR (0.046).
        half_power_width_ns: tau_H of the pulse (20 ns).
        overlap_m: (R1, R2) of the receiver overlap xi (0.9, 1.0 m).
        gamma: Hahner et al.'s hard-target reflectivity in the soft/hard comparison (1e-6).
        noise_m: scale of the clutter range noise, noise_m x Beta(2, 20) metres (10).
    """

    alpha_range_per_m: tuple[float, float] = (0.005, 0.06)
    beta_times_mor: float = 0.046
    half_power_width_ns: float = 20.0
    overlap_m: tuple[float, float] = (0.9, 1.0)
    gamma: float = 1e-6
    noise_m: float = 10.0

    def __post_init__(self) -> None:
        lo, hi = self.alpha_range_per_m
        if not 0 < lo <= hi:
            raise ValueError(f"fog.alpha_range_per_m must be 0 < min <= max, got {(lo, hi)}")
        if not 0 <= self.overlap_m[0] < self.overlap_m[1]:
            raise ValueError(f"fog.overlap_m must be 0 <= R1 < R2, got {self.overlap_m}")
        if min(self.beta_times_mor, self.half_power_width_ns, self.gamma) <= 0:
            raise ValueError("fog: beta_times_mor, half_power_width_ns and gamma must be > 0")


@lru_cache(maxsize=64)
def soft_response(
    alpha: float, tau_h_ns: float, r1: float, r2: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Peak of the fog's echo for a surface at each R0 of a 0.1 m grid (0-40 m).

    Returns:
        r0_m: (K,) grid of surface ranges; peak: (K,) max_R S(R) for that R0 (1/m, range
        integral); peak_range_m: (K,) where the peak is read (R at the peak - c tau_H / 2).
        Beyond the grid both are constant (the surface is behind the whole echo).
    """
    dr, pulse_m = _GRID_STEP_M, SPEED_OF_LIGHT * tau_h_ns * 1e-9  # c tau_H
    r = np.arange(0.0, _GRID_MAX_M + dr / 2, dr)
    xi = np.clip((r - r1) / (r2 - r1), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(r > 0, xi * np.exp(-2.0 * alpha * r) / r**2, 0.0)
    taps = np.sin(np.pi * np.arange(round(pulse_m / dr) + 1) * dr / pulse_m) ** 2
    num_r, num_m = len(r), len(r) + len(taps)
    lag = np.arange(num_m)[:, None] - np.arange(num_r)[None, :]  # (M, K) measured - fog cell
    inside = (lag >= 0) & (lag < len(taps))
    contrib = np.where(inside, taps[np.clip(lag, 0, len(taps) - 1)] * f[None, :] * dr, 0.0)
    # partial[m, n]: echo read at measured range m when the surface is at fog cell n (only the
    # fog in front of it, cells k <= n, scatters)
    partial = np.cumsum(contrib, axis=1)  # (M, K)
    where = np.argmax(partial, axis=0)  # (K,) peak per surface range
    best = partial[where, np.arange(num_r)]
    measured = np.arange(num_m) * dr - pulse_m / 2
    return r, best, np.maximum(measured[where], 0.0)


def _beta(alpha: float, config: FogConfig) -> float:
    return config.beta_times_mor * alpha / np.log(20.0)  # beta = 0.046 / MOR


def _fog_intensities(reflectivity, range_m, alpha, config):
    """(i_hard, i_soft, soft peak range) of returns of apparent reflectivity at range_m."""
    grid, peak, peak_range = soft_response(
        float(f"{alpha:.3g}"), config.half_power_width_ns, *config.overlap_m
    )
    i_hard = reflectivity * np.exp(-2.0 * alpha * range_m)
    scale = _beta(alpha, config) * np.pi / config.gamma * 2.0 / SPEED_OF_LIGHT
    i_soft = reflectivity * range_m**2 * scale * np.interp(range_m, grid, peak)
    return i_hard, i_soft, np.interp(range_m, grid, peak_range)


def fog_max_range(
    reflectivity: float, alpha: float, config: FogConfig = FogConfig(),
    floor: float = DETECTION_FLOOR, limit_m: float = 300.0,
) -> float:  # fmt: skip
    """Farthest range (0.01 m grid) at which a surface of ``reflectivity`` still returns in fog
    of extinction ``alpha``: its echo beats the fog's and stays above the detection floor.

    Example:
        >>> round(fog_max_range(0.3, np.log(20) / 50.0), 1)  # MOR 50 m
        29.5
    """
    r = np.arange(0.5, limit_m, 0.01)
    refl = apparent_reflectivity(np.full(len(r), reflectivity), r, floor)
    i_hard, i_soft, _ = _fog_intensities(refl, r, alpha, config)
    lost = (i_soft > i_hard) | (return_power(refl, r, alpha) < floor)
    return float(r[np.argmax(lost)] - 0.01) if lost.any() else float(limit_m)


@numba.njit(cache=True)
def _fog_kernel(points, step, peak, peak_range, alpha, gain, floor, status, intensity, soft_m):
    """Per return: status 0 lost, 1 hard return kept, 2 fog wins; new intensity; soft range."""
    last = peak.shape[0] - 1
    for i in range(points.shape[0]):
        x, y, z = float(points[i, 0]), float(points[i, 1]), float(points[i, 2])
        r = np.sqrt(x * x + y * y + z * z)
        refl = reflectivity_of(float(points[i, 3]), r, floor)
        attenuation = np.exp(-2.0 * alpha * r)
        pos = r / step
        k = int(pos)
        if k >= last:
            soft, at = peak[last], peak_range[last]
        else:
            w = pos - k
            soft = peak[k] * (1.0 - w) + peak[k + 1] * w
            at = peak_range[k] * (1.0 - w) + peak_range[k + 1] * w
        i_soft = refl * r * r * gain * soft
        if i_soft > refl * attenuation:
            status[i], intensity[i], soft_m[i] = 2, min(np.rint(i_soft * 100.0) / 100.0, 1.0), at
        elif refl * attenuation >= floor * r * r:
            status[i] = 1
            intensity[i] = np.rint(float(points[i, 3]) * attenuation * 100.0) / 100.0
        else:
            status[i] = 0


def add_fog(
    sample: LidarSample,
    scanner: ScannerModel,
    alpha: float,
    config: FogConfig,
    rng: np.random.Generator,
    floor: float = DETECTION_FLOOR,
) -> LidarSample:
    """Fog of extinction ``alpha`` (1/m, MOR = ln(20) / alpha) on ``sample``.

    Returns:
        The new sample: surviving hard returns (attenuated intensity, in their order), then
        the fog clutter; extras ``weather_clutter_mask`` (N',) bool and ``weather`` (dict).
    """
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0 (1/m), got {alpha}")
    pts = sample.points
    grid, peak, peak_range = soft_response(
        float(f"{alpha:.3g}"), config.half_power_width_ns, *config.overlap_m
    )
    gain = _beta(alpha, config) * np.pi / config.gamma * 2.0 / SPEED_OF_LIGHT
    n = len(pts)
    status, intensity, soft_m = np.zeros(n, np.int8), np.zeros(n), np.zeros(n)
    _fog_kernel(pts, grid[1] - grid[0], peak, peak_range, float(alpha), gain, floor,
                status, intensity, soft_m)  # fmt: skip
    idx = np.flatnonzero(status == 2)
    clutter_range = soft_m[idx] + config.noise_m * rng.beta(2.0, 20.0, len(idx))
    heads = scanner.head_height_m[scanner.rows(pts[idx])]
    xyz = pts[idx, :3].astype(np.float64)
    factor = (clutter_range / np.maximum(np.linalg.norm(xyz, axis=1), 1e-9))[:, None]
    xyz[:, 2] -= heads
    xyz *= factor  # along the ray from the laser head, which keeps the point on its beam
    xyz[:, 2] += heads
    clutter = np.concatenate([xyz, intensity[idx, None]], axis=1)
    out = pts.copy()
    out[:, 3] = intensity
    weather = {"kind": "fog", "alpha_per_m": float(alpha), "mor_m": float(np.log(20) / alpha)}
    result = replace_points(
        sample.with_(points=out), status == 1, clutter, {CLUTTER_KEY: np.ones(len(idx), bool)}
    )
    return result.with_(extras={**result.extras, "weather": weather})


@dataclass(frozen=True)
class WeatherConfig:
    """With probability ``prob`` one weather, chosen with the relative ``weights``.

    Attributes:
        prob: probability of adding weather to a sweep.
        weights: relative weights of "fog", "rain", "snow".
        fog: fog parameters; precipitation: rain and snow parameters.
    """

    prob: float = 0.3
    weights: dict[str, float] = field(
        default_factory=lambda: {"fog": 1.0, "rain": 1.0, "snow": 1.0}
    )
    fog: FogConfig = field(default_factory=FogConfig)
    precipitation: PrecipitationConfig = field(default_factory=PrecipitationConfig)

    def __post_init__(self) -> None:
        if not 0.0 <= self.prob <= 1.0:
            raise ValueError(f"weather.prob must be in [0, 1], got {self.prob}")
        unknown = set(self.weights) - {"fog", "rain", "snow"}
        if (
            unknown
            or any(w < 0 for w in self.weights.values())
            or (self.prob > 0 and sum(self.weights.values()) <= 0)
        ):
            raise ValueError(f"weather.weights: non-negative fog/rain/snow, got {self.weights}")


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]))))


@dataclass(frozen=True, eq=False)
class Weather:
    """Transform: fog (`add_fog`), rain or snow (`add_precipitation`) drawn from the config."""

    scanner: ScannerModel
    config: WeatherConfig

    def __call__(self, sample: LidarSample, rng: np.random.Generator) -> LidarSample:
        cfg = self.config
        if rng.random() >= cfg.prob:
            return sample
        kinds = sorted(cfg.weights)
        weights = np.array([cfg.weights[k] for k in kinds], dtype=np.float64)
        kind: Literal["fog", "rain", "snow"] = kinds[
            rng.choice(len(kinds), p=weights / weights.sum())
        ]
        if kind == "fog":
            alpha = _log_uniform(rng, cfg.fog.alpha_range_per_m)
            return add_fog(sample, self.scanner, alpha, cfg.fog, rng)
        bounds = getattr(cfg.precipitation, f"{kind}_rate_mm_h")
        rate = _log_uniform(rng, bounds)
        return add_precipitation(sample, self.scanner, kind, rate, cfg.precipitation, rng)
