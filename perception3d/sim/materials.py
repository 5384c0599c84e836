"""Materials: camera albedo and gloss, LiDAR reflectivity, emission, and procedural patterns.

Colours are linear RGB albedos in [0, 1]. ``lidar_reflectivity`` is the KITTI reflectance value
(0..1) the surface returns at normal incidence and short range; it is set per material so that
the intensities of our sweeps resemble KITTI's (measured on 004139: median 0.28, 95th
percentile 0.43; road ~0.2-0.3, lane paint and plates bright, glass and tyres dark), not from
a 905 nm spectral library. Emission is radiance in the units of ``docs/synthetic.md``
(1.0 = a white diffuse surface facing the clear-day sun).

Example:
    >>> material_rows([ROAD, GLASS]).shape
    (2, 14)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = [
    "MATERIAL_COLUMNS",
    "PATTERN_FACADE",
    "PATTERN_NONE",
    "PATTERN_ROAD",
    "PATTERN_VARIED",
    "VEHICLE_UNREAD",
    "Material",
    "material_rows",
    "pedestrian_materials",
    "vehicle_materials",
]

PATTERN_NONE = 0  # plain material
PATTERN_ROAD = 1  # lane markings and crosswalks painted per the scene's road paint
PATTERN_FACADE = 2  # a grid of windows (p1: window spacing m, p2: storey height m)
PATTERN_VARIED = 3  # albedo varied by position (grass, foliage; p1: cell size m)


@dataclass(frozen=True)
class Material:
    """Surface properties seen by both sensors.

    Attributes:
        albedo_rgb: diffuse albedo, linear RGB in [0, 1].
        lidar_reflectivity: KITTI-scale reflectance at normal incidence, [0, 1].
        specular: weight of the glossy lobe (sun highlight and sky reflection), [0, 1].
        shininess: Blinn-Phong exponent of that lobe.
        emission_rgb: emitted radiance (lamps at night), relative units.
        pattern: one of the ``PATTERN_*`` codes; p1, p2 its parameters.
        lidar_transmission: probability that a laser pulse passes the surface and returns from
            what lies behind it (glass), [0, 1].
        lidar_unread: probability that a detected return from the surface reads intensity 0
            whatever its power (KITTI reads 0 on about half of its car returns at any range).
    """

    albedo_rgb: tuple[float, float, float]
    lidar_reflectivity: float
    specular: float = 0.0
    shininess: float = 50.0
    emission_rgb: tuple[float, float, float] = (0.0, 0.0, 0.0)
    pattern: int = PATTERN_NONE
    p1: float = 0.0
    p2: float = 0.0
    lidar_transmission: float = 0.0
    lidar_unread: float = 0.0


# Column layout of `material_rows` (what the renderers index per hit).
MATERIAL_COLUMNS = (
    "r",
    "g",
    "b",
    "reflectivity",
    "specular",
    "shininess",
    "er",
    "eg",
    "eb",
    "pattern",
    "p1",
    "p2",
    "transmission",
    "unread",
)


def material_rows(materials: list[Material]) -> np.ndarray:
    """(M, 14) float32 table of ``materials`` in the :data:`MATERIAL_COLUMNS` layout."""
    return np.array(
        [
            [
                *m.albedo_rgb,
                m.lidar_reflectivity,
                m.specular,
                m.shininess,
                *m.emission_rgb,
                m.pattern,
                m.p1,
                m.p2,
                m.lidar_transmission,
                m.lidar_unread,
            ]
            for m in materials
        ],
        np.float32,
    ).reshape(-1, len(MATERIAL_COLUMNS))


# -- static scenery ---------------------------------------------------------------------------
ROAD = Material((0.09, 0.09, 0.095), 0.35, pattern=PATTERN_ROAD)
LANE_PAINT = Material((0.62, 0.62, 0.6), 0.85)  # retro-reflective beads: bright in LiDAR
SIDEWALK = Material((0.2, 0.195, 0.185), 0.32)
CURB = Material((0.26, 0.26, 0.25), 0.35)
TERRAIN = Material((0.07, 0.12, 0.035), 0.45, pattern=PATTERN_VARIED, p1=1.5)
FOLIAGE = Material((0.04, 0.09, 0.025), 0.50, pattern=PATTERN_VARIED, p1=0.7)
BARK = Material((0.09, 0.065, 0.045), 0.35)
POLE = Material((0.25, 0.26, 0.27), 0.40, specular=0.05, shininess=40)
SIGN = Material((0.05, 0.15, 0.5), 0.95)  # retro-reflective sheeting
# Glass passes most of a 905 nm pulse (tempered side windows transmit about 0.7-0.9 in the near
# infrared, coated windscreens less): KITTI cars show returns from seats and the far side
# through their windows and few from the glass itself. What glass does not pass it reflects
# specularly, away from the sensor except at normal incidence (not modelled): its diffuse
# backscatter is a few thousandths, so a pulse stopped by glass mostly returns nothing.
GLASS = Material((0.02, 0.025, 0.03), 0.003, specular=0.9, shininess=800, lidar_transmission=0.8)
LAMP_OFF = Material((0.6, 0.6, 0.55), 0.30, specular=0.2, shininess=200)
TYRE = Material((0.025, 0.025, 0.025), 0.06)
PLATE = Material((0.7, 0.7, 0.65), 0.95, specular=0.1, shininess=100)
SKIN_TONES = ((0.45, 0.3, 0.22), (0.3, 0.19, 0.13), (0.15, 0.09, 0.06), (0.55, 0.4, 0.32))
BUILDING_COLOURS = (
    (0.45, 0.42, 0.38),
    (0.35, 0.3, 0.26),
    (0.55, 0.52, 0.47),
    (0.3, 0.18, 0.13),
    (0.5, 0.45, 0.35),
    (0.25, 0.25, 0.27),
)

# KITTI reads intensity 0 on about half of the returns of cars at any range (the real cars a
# synthetic-trained detector finds with confidence on the unlabelled sweeps: 60 % at 0-10 m,
# 50 % at 10-20 m, 60 % at 20-30 m), far more than their power explains: fitted by
# tools/fit_lidar_sensor.py --stages vehicle (docs/sim2real.md).
VEHICLE_UNREAD = 0.41

# -- scene content of issue 15 (vehicle fittings, people's extras, roadside clutter) -------
# Car glass is the one `GLASS` material (as building windows are): its lidar_transmission lets
# the sensor model pass pulses through it to the car's `interior` behind.
RIM = Material((0.45, 0.45, 0.47), 0.45, specular=0.3, shininess=120)  # alloy wheel
INTERIOR = Material((0.03, 0.03, 0.035), 0.08)  # seats and dashboard behind the glass
HI_VIS = Material((0.75, 0.7, 0.05), 0.95)  # retro-reflective safety vest
BAG = Material((0.06, 0.05, 0.05), 0.2)
CONCRETE = Material((0.32, 0.31, 0.29), 0.38)
WOOD = Material((0.22, 0.15, 0.09), 0.35)
FENCE_METAL = Material((0.15, 0.17, 0.15), 0.32, specular=0.05, shininess=40)  # painted wire
GALVANISED = Material((0.45, 0.46, 0.47), 0.55, specular=0.3, shininess=60)  # guard rails
CABINET = Material((0.5, 0.52, 0.47), 0.45)  # grey street cabinets
BIN_COLOURS = ((0.05, 0.12, 0.05), (0.03, 0.03, 0.03), (0.25, 0.15, 0.03), (0.05, 0.08, 0.2))
WALL_COLOURS = ((0.35, 0.33, 0.3), (0.3, 0.15, 0.1), (0.5, 0.48, 0.44), (0.2, 0.2, 0.21))

# Car paint: rough shares of the world's car colours (white, black, grey, silver lead; a few
# saturated colours), as linear albedos.
_PAINTS = (
    ((0.70, 0.70, 0.68), 0.26),
    ((0.025, 0.025, 0.028), 0.20),
    ((0.16, 0.165, 0.17), 0.17),
    ((0.42, 0.43, 0.44), 0.13),
    ((0.03, 0.07, 0.25), 0.09),
    ((0.40, 0.03, 0.025), 0.08),
    ((0.05, 0.15, 0.06), 0.03),
    ((0.45, 0.38, 0.25), 0.04),
)
_CLOTHES = (
    (0.03, 0.03, 0.035),
    (0.12, 0.12, 0.13),
    (0.05, 0.07, 0.2),
    (0.4, 0.4, 0.38),
    (0.3, 0.05, 0.04),
    (0.08, 0.15, 0.08),
    (0.45, 0.35, 0.2),
    (0.6, 0.6, 0.58),
)


def _jitter(rgb, rng: np.random.Generator, amount: float = 0.1) -> tuple[float, float, float]:
    out = np.clip(np.asarray(rgb) * (1 + amount * rng.uniform(-1, 1, 3)), 0.005, 0.9)
    return tuple(float(c) for c in out)


def building_material(rng: np.random.Generator) -> Material:
    """A facade: a random wall colour with a window grid."""
    rgb = _jitter(BUILDING_COLOURS[rng.integers(len(BUILDING_COLOURS))], rng)
    return Material(
        rgb,
        0.30 + 0.1 * rng.uniform(),
        pattern=PATTERN_FACADE,
        p1=float(rng.uniform(2.5, 4.0)),
        p2=float(rng.uniform(2.8, 3.4)),
    )


def vehicle_materials(rng: np.random.Generator, lights_on: bool) -> dict[str, Material]:
    """Materials of a vehicle's parts: a random paint, glass, tyres, lights, plates."""
    weights = np.array([w for _, w in _PAINTS])
    rgb = _jitter(_PAINTS[rng.choice(len(_PAINTS), p=weights / weights.sum())][0], rng, 0.08)
    # Near-infrared reflectance of paints follows their lightness, with dark paints above
    # their visible albedo (many pigments are transparent at 905 nm): white about 0.55,
    # grey 0.25, black 0.12.
    paint = Material(rgb, 0.08 + 0.6 * float(np.mean(rgb)) ** 0.7, specular=0.1, shininess=300)
    head = replace(LAMP_OFF, emission_rgb=(30.0, 30.0, 27.0) if lights_on else (0.0, 0.0, 0.0))
    tail = Material(
        (0.3, 0.02, 0.02),
        0.9,
        specular=0.2,
        shininess=200,
        emission_rgb=(6.0, 0.3, 0.2) if lights_on else (0.0, 0.0, 0.0),
    )
    cargo = Material(_jitter(_CLOTHES[rng.integers(len(_CLOTHES))], rng), 0.35)
    parts = {
        "body": paint,
        "window": GLASS,
        "tyre": TYRE,
        "head_light": head,
        "tail_light": tail,
        "plate": PLATE,
        "cargo": cargo,
    }
    return {k: replace(m, lidar_unread=VEHICLE_UNREAD) for k, m in parts.items()}


def pedestrian_materials(rng: np.random.Generator) -> dict[str, Material]:
    """Materials of a person (and bicycle): skin, hair, clothes, shoes, frame, tyres."""
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))]

    def cloth() -> Material:
        # Textile dyes are mostly transparent in the near infrared, so fabrics are brighter at
        # 905 nm than they look (0.2-0.7), except carbon-black ones (0.08-0.33).
        rgb = _jitter(_CLOTHES[rng.integers(len(_CLOTHES))], rng)
        dark = float(np.mean(rgb)) < 0.05
        return Material(rgb, (0.08 + 0.25 * rng.uniform()) if dark else (0.2 + 0.5 * rng.uniform()))

    frame_rgb = _jitter(_PAINTS[rng.integers(len(_PAINTS))][0], rng)
    return {
        "skin": Material(_jitter(skin, rng, 0.05), 0.5),  # skin at 905 nm: about 0.4-0.6
        "hair": Material(_jitter((0.05, 0.035, 0.02), rng, 0.5), 0.2),
        "shirt": cloth(),
        "pants": cloth(),
        "shoes": Material((0.03, 0.03, 0.03), 0.1),
        "frame": Material(frame_rgb, 0.3, specular=0.1, shininess=200),
        "tyre": TYRE,
    }
