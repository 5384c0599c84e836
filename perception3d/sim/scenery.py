"""Procedural meshes of street furniture and vegetation: poles, street lights, signs, trees,
bushes, buildings and flat ground pieces.

Object frame (x forward, y left, z up, origin at the bottom centre) unless stated otherwise.
Parts: ``pole``, ``lamp``, ``sign``, ``trunk``, ``foliage``, ``wall``, ``roof``, ``ground``.

Example:
    >>> m = street_light(8.0, 2.0)
    >>> m.part_names, round(float(m.bounds[1, 2]), 2)
    (('pole', 'lamp'), 8.0)
"""

from __future__ import annotations

from functools import cache

import numpy as np

from perception3d.sim.foliage import trunk
from perception3d.sim.meshes import Mesh, box, cylinder, ellipsoid, freeze, merge

__all__ = ["building", "bush", "ground_quad", "sign_pole", "street_light", "tree"]


@cache
def street_light(height: float, arm_length: float, pole_radius: float = 0.08) -> Mesh:
    """A pole with an arm reaching along +y (over the road when y points at it) and a lamp
    (built once per process per size: read-only)."""
    pole = cylinder(
        pole_radius,
        height,
        (0, 0, height / 2),
        segments=8,
        part="pole",
        top_radius=pole_radius * 0.6,
    )
    arm = box((0.08, arm_length, 0.08), (0, arm_length / 2, height - 0.15), part="pole")
    lamp = box((0.3, 0.6, 0.12), (0, arm_length, height - 0.06), part="lamp")
    return freeze(merge([pole, arm, lamp]))


@cache
def sign_pole(height: float = 2.6, plate_size: float = 0.65) -> Mesh:
    """A thin pole carrying a square sign plate facing +x (cached: read-only)."""
    pole = cylinder(0.035, height, (0, 0, height / 2), segments=6, part="pole")
    plate = box((0.03, plate_size, plate_size), (0.05, 0, height - plate_size / 2), part="sign")
    return freeze(merge([pole, plate]))


def tree(
    rng: np.random.Generator, trunk_height: float, crown_radius: float, trunk_radius: float = 0.15
) -> Mesh:
    """A trunk and an irregular ellipsoidal crown (vertices pushed in and out by up to 15 %)."""
    radii = crown_radius * np.array([1.0, 1.0, rng.uniform(0.8, 1.3)])
    crown = ellipsoid(
        radii, (0, 0, trunk_height + radii[2] * 0.9), rings=7, segments=10, part="foliage"
    )
    centre = np.array([0, 0, trunk_height + radii[2] * 0.9])
    bumps = 1.0 + rng.uniform(-0.15, 0.15, (len(crown.vertices), 1))
    verts = centre + (crown.vertices - centre) * bumps
    crown = Mesh(verts, crown.triangles, crown.parts, crown.part_names)
    return merge([trunk(trunk_height, trunk_radius), crown])


def bush(rng: np.random.Generator, size: float) -> Mesh:
    """A low irregular foliage blob of about ``size`` metres."""
    radii = size / 2 * rng.uniform(0.7, 1.3, 3) * np.array([1, 1, 0.7])
    m = ellipsoid(radii, (0, 0, radii[2] * 0.8), rings=5, segments=8, part="foliage")
    bumps = 1.0 + rng.uniform(-0.2, 0.2, (len(m.vertices), 1))
    verts = (m.vertices - [0, 0, radii[2] * 0.8]) * bumps + [0, 0, radii[2] * 0.8]
    return Mesh(verts, m.triangles, m.parts, m.part_names)


def building(length: float, depth: float, height: float, base_z: float = 0.0) -> Mesh:
    """A box building: walls (``wall``) and a flat roof (``roof``), from ``base_z`` up."""
    faces = ("wall", "roof", "wall", "wall", "wall", "wall")
    return box((length, depth, height), (0, 0, base_z + height / 2), face_parts=faces)


def ground_quad(x0: float, x1: float, y0: float, y1: float, z: float, part: str) -> Mesh:
    """A horizontal rectangle [x0, x1] x [y0, y1] at height z (road frame)."""
    verts = np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]], np.float64)
    tris = np.array([[0, 1, 2], [0, 2, 3]], np.int64)
    return Mesh(verts, tris, np.zeros(2, np.int64), (part,))
