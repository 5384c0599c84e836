"""Street furniture (never labelled): bollards, bins, benches, parked bicycles and racks,
street cabinets, signs, planters, advertising columns and traffic lights.

Object frame: x forward (a bench faces +x, a sign's plate faces +x), y left, z up, origin at
the bottom centre. Each kind has a few variants, built once per process and copied (the scene
moves a copy into place). Parts: ``pole``, ``sign``, ``lamp``, ``furniture`` (bins, benches,
cabinets, planters' boxes, columns), ``frame`` and ``tyre`` (bicycles), ``foliage``.

Example:
    >>> bool(furniture_mesh("bollard", 0).bounds[1, 2] > 0.7)
    True
"""

from __future__ import annotations

from functools import cache

import numpy as np

from perception3d.sim.meshes import Mesh, box, cylinder, ellipsoid, freeze, merge, tube
from perception3d.sim.people import bicycle_mesh

__all__ = ["FURNITURE_VARIANTS", "furniture_mesh", "traffic_light", "warm_templates"]

FURNITURE_VARIANTS = {
    "bollard": 3,
    "bin": 3,
    "bench": 2,
    "bicycle": 4,
    "cabinet": 3,
    "sign": 4,
    "planter": 2,
    "column": 1,
}


def _bollard(v: int) -> Mesh:
    if v == 0:  # steel post
        return cylinder(0.05, 0.9, (0, 0, 0.45), segments=8, part="pole")
    if v == 1:  # concrete bollard with a cap
        return merge(
            [
                cylinder(0.12, 0.7, (0, 0, 0.35), segments=10, part="furniture"),
                cylinder(0.13, 0.06, (0, 0, 0.73), segments=10, part="furniture"),
            ]
        )
    return merge(  # flexible delineator post with a reflective band
        [
            box((0.1, 0.12, 1.0), (0, 0, 0.5), "furniture"),
            box((0.11, 0.13, 0.12), (0, 0, 0.85), "sign"),
        ]
    )


def _bin(v: int) -> Mesh:
    if v == 0:  # litter bin on a post
        return merge(
            [
                cylinder(0.04, 0.8, (0, 0, 0.4), segments=6, part="pole"),
                cylinder(0.2, 0.5, (0.07, 0, 0.65), segments=10, part="furniture"),
            ]
        )
    if v == 1:  # wheelie bin
        return merge(
            [
                box((0.7, 0.58, 0.95), (0, 0, 0.475), "furniture"),
                box((0.76, 0.62, 0.05), (0, 0, 1.0), "furniture"),
            ]
        )
    return box((1.3, 1.1, 1.35), (0, 0, 0.675), "furniture")  # big container


def _bench(v: int) -> Mesh:
    length = 1.8 if v == 0 else 1.4
    parts = [
        box((0.42, length, 0.05), (0, 0, 0.45), "furniture"),  # seat
        box((0.05, length, 0.4), (-0.2, 0, 0.75), "furniture"),  # backrest
    ]
    for y in (-0.4 * length, 0.4 * length):
        parts.append(box((0.4, 0.06, 0.43), (0, y, 0.215), "pole"))
    return merge(parts)


def _bicycle(v: int) -> Mesh:
    wheel = 0.34 if v % 2 == 0 else 0.30
    bike = bicycle_mesh(wheel, 1.0 + 0.05 * v, 0.5 + 0.04 * v)
    if v >= 2:  # leaning on its stand: tilted 12 degrees about x
        c, s = np.cos(0.21), np.sin(0.21)
        bike = bike.transformed(np.array([[1, 0, 0], [0, c, -s], [0, s, c]]), (0, 0, 0))
    return bike.transformed(np.eye(3), (0.0, 0.0, -bike.vertices[:, 2].min()))


def _cabinet(v: int) -> Mesh:
    w, h = ((0.9, 1.2), (1.3, 1.45), (0.6, 1.6))[v]
    return merge(
        [
            box((0.35, w, h), (0, 0, h / 2), "furniture"),
            box((0.39, w + 0.04, 0.04), (0, 0, h + 0.02), "furniture"),
        ]
    )


def _sign(v: int) -> Mesh:
    height = (2.5, 2.8, 2.3, 3.2)[v]
    pole = cylinder(0.035, height, (0, 0, height / 2), segments=6, part="pole")
    if v == 0:  # round plate
        plate = cylinder(0.3, 0.02, (0.05, 0, height - 0.3), "x", 12, "sign")
    elif v == 1:  # two square plates
        plate = merge(
            [
                box((0.02, 0.6, 0.6), (0.05, 0, height - 0.3), "sign"),
                box((0.02, 0.6, 0.4), (0.05, 0, height - 0.85), "sign"),
            ]
        )
    elif v == 2:  # triangle (a flattened cylinder of 3 sides)
        plate = cylinder(0.4, 0.02, (0.05, 0, height - 0.35), "x", 3, "sign")
    else:  # big direction sign on the pole
        plate = box((0.03, 1.2, 0.8), (0.05, 0.3, height - 0.4), "sign")
    return merge([pole, plate])


def _planter(v: int) -> Mesh:
    size = (1.0, 1.6)[v]
    pot = box((size, size * 0.6, 0.5), (0, 0, 0.25), "furniture")
    leaves = ellipsoid(
        (size / 2, size * 0.3, 0.4), (0, 0, 0.75), rings=5, segments=8, part="foliage"
    )
    return merge([pot, leaves])


def _column(v: int) -> Mesh:  # advertising column (Litfasssaeule)
    return merge(
        [
            cylinder(0.6, 2.6, (0, 0, 1.3), segments=14, part="furniture"),
            cylinder(0.7, 0.25, (0, 0, 2.72), segments=14, part="furniture", top_radius=0.3),
        ]
    )


_BUILDERS = {
    "bollard": _bollard,
    "bin": _bin,
    "bench": _bench,
    "bicycle": _bicycle,
    "cabinet": _cabinet,
    "sign": _sign,
    "planter": _planter,
    "column": _column,
}


@cache
def furniture_mesh(kind: str, variant: int) -> Mesh:
    """Variant ``variant`` of street furniture ``kind`` (:data:`FURNITURE_VARIANTS`), built
    once per process (read-only; place copies with ``Mesh.transformed``).

    Raises:
        ValueError: unknown kind or variant.
    """
    if kind not in FURNITURE_VARIANTS or not 0 <= variant < FURNITURE_VARIANTS[kind]:
        raise ValueError(
            f"kind must be one of {tuple(FURNITURE_VARIANTS)} with a variant in range, "
            f"got {kind!r}, {variant}"
        )
    return freeze(_BUILDERS[kind](variant))


@cache
def traffic_light(arm_m: float = 0.0) -> Mesh:
    """A traffic-light pole (3.2 m) with a signal head facing +x, and, when ``arm_m`` > 0,
    an arm reaching ``arm_m`` along -y (over the road) carrying a second head."""
    parts = [
        cylinder(0.07, 3.2, (0, 0, 1.6), segments=8, part="pole"),
        box((0.25, 0.32, 0.9), (0.12, 0, 2.7), "lamp"),
    ]
    if arm_m > 0:
        parts.append(tube((0, 0, 3.0), (0, -arm_m, 5.2), 0.06, part="pole"))
        parts.append(box((0.25, 0.32, 0.9), (0.12, -arm_m, 4.7), "lamp"))
    return freeze(merge(parts))


def warm_templates() -> None:
    """Build every furniture variant now (see ``warmup.py``)."""
    for kind, n in FURNITURE_VARIANTS.items():
        for v in range(n):
            furniture_mesh(kind, v)
