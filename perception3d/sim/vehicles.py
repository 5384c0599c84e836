"""Procedural vehicle meshes: sedan, hatchback, SUV, van and truck.

Each builder returns a :class:`~perception3d.sim.meshes.Mesh` in the object frame (x
forward, y left, z up, origin at the bottom centre) whose bounding box is exactly
``length x width x height`` (so a label box drawn around it is tight, as KITTI's are) and whose
wheels touch z = 0. Parts: ``body`` (paint), ``window``, ``tyre``, ``head_light``,
``tail_light``, ``plate`` and, for trucks, ``cargo``.

Example:
    >>> m = vehicle_mesh("sedan", 4.2, 1.75, 1.45)
    >>> np.round(m.bounds, 6).tolist()
    [[-2.1, -0.875, 0.0], [2.1, 0.875, 1.45]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception3d.sim.meshes import Mesh, box, cylinder, hexahedron, merge
from perception3d.sim.profiles import prism

__all__ = ["BODY_TYPES", "vehicle_mesh"]

BODY_TYPES = ("sedan", "hatchback", "suv", "van", "truck")

_INSET = 0.015  # m: the body sits this far inside the box so lights and plates are not coplanar


@dataclass(frozen=True)
class _Shape:
    """Side-view proportions of a body type (fractions of length l / height h)."""

    clearance: float  # body bottom, of h
    hood_front: float  # top of the front face, of h
    belt: float  # beltline (bottom of the windows), of h
    hood: float  # windshield base from the front, of l
    windshield: float  # horizontal run of the windshield, of l
    tail: float  # rear-window base from the rear, of l
    rear_window: float  # horizontal run of the rear window, of l
    tail_top: float  # top of the rear face, of h
    wheel_radius: float  # of h
    wheelbase: float  # of l


_SHAPES = {
    "sedan": _Shape(0.12, 0.50, 0.60, 0.30, 0.17, 0.20, 0.14, 0.60, 0.21, 0.60),
    "hatchback": _Shape(0.12, 0.50, 0.60, 0.27, 0.16, 0.03, 0.10, 0.58, 0.21, 0.63),
    "suv": _Shape(0.13, 0.55, 0.58, 0.24, 0.12, 0.02, 0.05, 0.58, 0.22, 0.60),
    "van": _Shape(0.09, 0.45, 0.45, 0.14, 0.10, 0.0, 0.0, 0.45, 0.15, 0.62),
}


def _wheels(xs, radius: float, width: float, tyre_w: float = 0.2) -> list[Mesh]:
    """Tyres along y at each x, touching z = 0, inside the body width."""
    y = width / 2 - tyre_w / 2 - 0.02
    return [
        cylinder(radius, tyre_w, (x, s * y, radius), axis="y", segments=16, part="tyre")
        for x in xs
        for s in (1, -1)
    ]


def _lights_and_plates(l: float, w: float, z_light: float, z_plate: float) -> list[Mesh]:
    """Head/tail lights at the corners and plates in the middle, flush with the box faces."""
    out = []
    for sign, light in ((1, "head_light"), (-1, "tail_light")):
        x = sign * (l / 2 - 0.03)
        for side in (1, -1):
            out.append(box((0.06, 0.22, 0.10), (x, side * (w / 2 - 0.17), z_light), part=light))
        out.append(box((0.06, 0.52, 0.11), (x, 0.0, z_plate), part="plate"))
    return out


def _lower_body(s: _Shape, l: float, w: float, h: float) -> Mesh:
    """Side-view prism from the ground clearance to the hood, beltline and tail."""
    xf, xr = l / 2 - _INSET, -l / 2 + _INSET
    z0, zf, zb, zt = s.clearance * h, s.hood_front * h, s.belt * h, s.tail_top * h
    x_ws = l / 2 - s.hood * l  # windshield base
    x_rw = max(-l / 2 + s.tail * l, xr + 0.05)  # rear window base
    profile = [
        [xf - 0.12, z0],
        [xf, z0 + 0.12],
        [xf, zf],
        [x_ws, zb],
        [x_rw, zb],
        [xr, zt],
        [xr, z0 + 0.12],
        [xr + 0.12, z0],
    ]
    return prism(profile, w - 2 * _INSET)


def _running_gear(s: _Shape, l: float, w: float, h: float) -> list[Mesh]:
    """Four wheels, lights and plates."""
    wb, shift = s.wheelbase * l, 0.02 * l  # front wheels a little nearer the front
    parts = _wheels((wb / 2 + shift, -wb / 2 + shift), s.wheel_radius * h, w)
    return parts + _lights_and_plates(l, w, s.hood_front * h - 0.12, s.clearance * h + 0.22)


def _car(s: _Shape, l: float, w: float, h: float) -> Mesh:
    zb = s.belt * h
    x_ws = l / 2 - s.hood * l
    x_rw = max(-l / 2 + s.tail * l, -l / 2 + _INSET)
    # Greenhouse: a hexahedron from the beltline to the roof, narrower at the top (tumblehome).
    yb, yt = w / 2 - 0.04, w / 2 - 0.04 - 0.16 * (1 - s.belt) * h / 0.6
    x_roof_f, x_roof_r = x_ws - s.windshield * l, x_rw + s.rear_window * l
    cabin = hexahedron(
        _quad_solid(x_ws, x_rw, x_roof_f, x_roof_r, yb, yt, zb, h),
        ("body", "body", "window", "window", "window", "window"),
    )
    return merge([_lower_body(s, l, w, h), cabin, *_running_gear(s, l, w, h)])


def _van(l: float, w: float, h: float) -> Mesh:
    s = _SHAPES["van"]
    zb = s.belt * h
    xr = -l / 2 + _INSET
    x_ws = l / 2 - s.hood * l
    yb, yt = w / 2 - _INSET, w / 2 - 0.06
    x_split = x_ws - 0.32 * l  # side windows only around the driver's cab
    cab = hexahedron(
        _quad_solid(x_ws, x_split, x_ws - s.windshield * l, x_split, yb, yt, zb, h),
        ("body", "body", "window", "window", "body", "window"),
    )
    cargo = hexahedron(_quad_solid(x_split, xr, x_split, xr, yb, yt, zb, h), "body")
    return merge([_lower_body(s, l, w, h), cab, cargo, *_running_gear(s, l, w, h)])


def _quad_solid(xf_b, xr_b, xf_t, xr_t, yb, yt, zb, zt) -> np.ndarray:
    """(8, 3) corners: bottom quad at zb (x from xr_b to xf_b), top quad at zt."""
    return np.array(
        [
            [xf_b, yb, zb],
            [xr_b, yb, zb],
            [xr_b, -yb, zb],
            [xf_b, -yb, zb],
            [xf_t, yt, zt],
            [xr_t, yt, zt],
            [xr_t, -yt, zt],
            [xf_t, -yt, zt],
        ]
    )


def _truck(l: float, w: float, h: float) -> Mesh:
    cab_l = min(2.3, 0.3 * l)
    r = 0.5
    xf, xr = l / 2 - _INSET, -l / 2 + _INSET
    cab_h = 0.82 * h
    chassis = box((l - 2 * _INSET - 0.3, w - 0.3, 0.35), (-0.1, 0, 0.75))
    cab_lower = box(
        (cab_l, w - 2 * _INSET, 0.55 * cab_h - 0.35), (xf - cab_l / 2, 0, (0.55 * cab_h + 0.35) / 2)
    )
    cab_upper = hexahedron(
        _quad_solid(
            xf, xf - cab_l, xf - 0.15, xf - cab_l, w / 2 - _INSET, w / 2 - 0.08, 0.55 * cab_h, cab_h
        ),
        ("body", "body", "window", "window", "body", "window"),
    )
    cargo_l = l - 2 * _INSET - cab_l - 0.15
    cargo = box(
        (cargo_l, w - 2 * _INSET, h - 1.0), (xr + cargo_l / 2, 0, (h + 1.0) / 2), part="cargo"
    )
    cargo = Mesh(cargo.vertices, cargo.triangles, cargo.parts, ("cargo",))
    xs = (xf - 0.6 * cab_l, xr + 0.25 * cargo_l + 0.6, xr + 0.25 * cargo_l - 0.6)
    parts = [chassis, cab_lower, cab_upper, cargo, *_wheels(xs, r, w, tyre_w=0.3)]
    parts += _lights_and_plates(l, w, 0.6, 0.45)
    return merge(parts)


def vehicle_mesh(body_type: str, length: float, width: float, height: float) -> Mesh:
    """A vehicle of ``body_type`` filling the box ``length x width x height`` (metres).

    Args:
        body_type: one of :data:`BODY_TYPES`.
        length, width, height: box size; trucks need length >= 5 m and height >= 2.2 m.

    Returns:
        Mesh in the object frame (x forward, y left, z up, bottom centre at the origin).

    Raises:
        ValueError: unknown body type or a size the body cannot take.
    """
    if body_type not in BODY_TYPES:
        raise ValueError(f"body_type must be one of {BODY_TYPES}, got {body_type!r}")
    if min(length, width, height) <= 0.5:
        raise ValueError(f"vehicle size must exceed 0.5 m, got {(length, width, height)}")
    if body_type == "truck":
        if length < 5.0 or height < 2.2:
            raise ValueError(
                f"a truck needs length >= 5 m, height >= 2.2 m, got {length}, {height}"
            )
        mesh = _truck(length, width, height)
    elif body_type == "van":
        mesh = _van(length, width, height)
    else:
        mesh = _car(_SHAPES[body_type], length, width, height)
    # Snap to the exact box: plates/lights reach the front and rear, the roof the top.
    lo, hi = mesh.bounds
    target_lo = np.array([-length / 2, -width / 2, 0.0])
    target_hi = -target_lo + np.array([0, 0, height])
    scale = (target_hi - target_lo) / (hi - lo)
    verts = (mesh.vertices - lo) * scale + target_lo
    return Mesh(verts, mesh.triangles, mesh.parts, mesh.part_names)
