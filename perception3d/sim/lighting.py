"""Sun, sky and night lights, in the radiance units of the synthetic camera.

Units (docs/synthetic.md): radiance 1.0 is what a white (albedo 1) diffuse surface facing the
clear-day sun reflects of the sun alone; the sun's irradiance at normal incidence is then pi,
about 100 klx in photometric terms, so 1.0 is about 32,000 cd/m^2. A clear sky averages about
0.15 (a fifth of the direct light on a horizontal surface with the sun 45 degrees up, a typical
diffuse share), the sun's disk is about 1e4, street-lit asphalt at night about 1e-5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception3d.sim.config import SceneConfig

__all__ = ["SkyLight", "sample_sky_light", "sky_irradiance", "sky_radiance"]

_ATMOSPHERE_TAU = 0.12  # optical depth: sun strength exp(-tau (airmass - 1)), airmass 1/sin(el)
STREET_LAMP_INTENSITY = np.array([0.040, 0.036, 0.028])  # about 20 lx on the road 8 m below
STREET_LAMP_EMISSION = (0.3, 0.27, 0.2)  # lamp luminance ~1e4 cd/m^2
HEADLIGHT_INTENSITY = np.array([0.6, 0.6, 0.55])  # about 20,000 cd on axis (low beam)


@dataclass(frozen=True)
class SkyLight:
    """Sun and sky of a frame (directions in the road frame).

    Attributes:
        sun_direction: (3,) unit vector towards the sun.
        sun_rgb: (3,) sun strength (irradiance at normal incidence / pi); 0 when hidden.
        zenith_rgb, horizon_rgb: (3,) sky radiance straight up and at the horizon.
        night: a night frame (street lights and car lights on).
        overcast: no direct sun, a brighter grey sky.
    """

    sun_direction: np.ndarray
    sun_rgb: np.ndarray
    zenith_rgb: np.ndarray
    horizon_rgb: np.ndarray
    night: bool
    overcast: bool


def sample_sky_light(cfg: SceneConfig, rng: np.random.Generator) -> SkyLight:
    """Draw day / overcast / night, the sun's position and colour, and the sky."""
    night = bool(rng.uniform() < cfg.night_probability)
    overcast = bool(not night and rng.uniform() < cfg.overcast_probability)
    elevation = np.radians(rng.uniform(*cfg.sun_elevation_deg)) if not night else np.radians(-20.0)
    azimuth = rng.uniform(-np.pi, np.pi)
    direction = np.array(
        [
            np.cos(elevation) * np.cos(azimuth),
            np.cos(elevation) * np.sin(azimuth),
            np.sin(elevation),
        ]
    )
    if night:
        sun = np.zeros(3)
        zenith, horizon = np.array([2e-6, 2.5e-6, 4e-6]), np.array([9e-6, 7e-6, 5e-6])
    elif overcast:
        sun = np.zeros(3)
        k = rng.uniform(0.4, 1.0)
        zenith, horizon = k * np.array([0.36, 0.37, 0.40]), k * np.array([0.26, 0.27, 0.29])
    else:
        airmass = 1.0 / max(np.sin(elevation), 0.05)
        # Low sun: weaker and redder (blue is scattered out along the longer path).
        sun = np.exp(-_ATMOSPHERE_TAU * (airmass - 1) * np.array([0.6, 1.0, 1.8]))
        k = rng.uniform(0.8, 1.2)
        zenith = k * np.array([0.05, 0.10, 0.24])
        horizon = k * np.array([0.22, 0.25, 0.30])
    return SkyLight(direction, sun, zenith, horizon, night, overcast)


def sky_radiance(
    directions: np.ndarray,
    sun_direction: np.ndarray,
    sun_rgb: np.ndarray,
    zenith_rgb: np.ndarray,
    horizon_rgb: np.ndarray,
    sun_disk_rad: float | None = None,
) -> np.ndarray:
    """Radiance of the sky seen along ``directions``.

    Args:
        directions: (N, 3) unit view directions (same frame as ``sun_direction``, z up).
        sun_disk_rad: angular radius of the visible sun disk, or None to leave it out.

    Returns:
        (N, 3) float32 radiance: horizon-to-zenith gradient, a glow around the sun, the disk
        (sun strength * pi / its solid angle).
    """
    d = np.asarray(directions, np.float32)
    # Everything in float32 (the colours come as float64): half the memory traffic; colour by
    # colour on (N,) columns (several times faster than (N, 3) broadcasting).
    horizon = np.asarray(horizon_rgb, np.float32)
    zenith = np.asarray(zenith_rgb, np.float32)
    sun = np.asarray(sun_rgb, np.float32)
    rise = np.sqrt(np.clip(d[:, 2], 0.0, 1.0))
    below = d[:, 2] < 0
    s = np.asarray(sun_direction, np.float32)
    cos_sun = d[:, 0] * s[0] + d[:, 1] * s[1] + d[:, 2] * s[2]
    glow = np.exp((cos_sun - 1.0) * np.float32(1 / 0.03)) * np.float32(0.4)
    glow += np.exp((cos_sun - 1.0) * np.float32(1 / 0.3)) * np.float32(0.08)
    span, low = zenith - horizon, horizon * np.float32(0.7)
    out = np.empty((len(d), 3), np.float32)
    for c in range(3):  # horizon-to-zenith gradient (0.7 x horizon below it) + the glow
        out[:, c] = np.where(below, low[c], horizon[c] + span[c] * rise) + glow * sun[c]
    if sun_disk_rad is not None and np.any(sun > 0):
        solid_angle = 2 * np.pi * (1 - np.cos(sun_disk_rad))
        disk = np.flatnonzero(cos_sun > np.cos(sun_disk_rad))
        out[disk] += (sun * np.pi / solid_angle).astype(np.float32)
    return out


def sky_irradiance(sun_direction, sun_rgb, zenith_rgb, horizon_rgb) -> np.ndarray:
    """(3,) mean sky radiance over the upper hemisphere, cosine weighted (disk excluded): the
    diffuse light a horizontal white surface reflects from the whole sky."""
    # Fixed Fibonacci-spiral directions on the hemisphere (deterministic quadrature).
    n = 400
    k = np.arange(n) + 0.5
    z = 1 - k / n
    phi = k * np.pi * (3 - np.sqrt(5))
    r = np.sqrt(1 - z * z)
    dirs = np.stack([r * np.cos(phi), r * np.sin(phi), z], 1)
    rad = sky_radiance(dirs, sun_direction, sun_rgb, zenith_rgb, horizon_rgb)
    return (rad * dirs[:, 2:3]).sum(0) / dirs[:, 2].sum()
