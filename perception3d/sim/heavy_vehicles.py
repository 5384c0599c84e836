"""Trucks, trams, trailers and caravans: the distractor vehicles KITTI labels ``Truck``,
``Tram`` and ``Misc`` (see ``vehicles.py`` for the conventions and parts).

Built from boxes per object (they are few per frame and their lengths vary too much to scale
one template): a rigid truck has a cab-over cab, a chassis, a cargo box, twin rear axles and
side guards; past 12 m it becomes a tractor with a semi-trailer. A tram is a chain of sections
joined by bellows, with a window band, skirts hiding its bogies and roof equipment. A trailer
is a flatbed with low sides (or a tarp) and a drawbar; a caravan a rounded box with windows.

Example:
    >>> m = truck_mesh(9.0, 2.5, 3.3)
    >>> {"cargo", "window", "tyre"} <= set(m.part_names)
    True
"""

from __future__ import annotations

import numpy as np

from perception3d.sim.meshes import Mesh, box, cylinder, hexahedron, merge, tube

__all__ = ["HEAVY_BUILDERS", "caravan_mesh", "trailer_mesh", "tram_mesh", "truck_mesh"]

_CAB_FACES = ("body", "body", "window", "window", "body", "window")  # glass on 3 sides


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


def _axle(x: float, r: float, w: float, tyre_w: float = 0.3, dual: bool = False) -> list[Mesh]:
    out = []
    for side in (1, -1):
        offsets = (0.0, -0.32) if dual else (0.0,)
        for o in offsets:
            y = side * (w / 2 - tyre_w / 2 - 0.02 + o)
            out.append(cylinder(r, tyre_w, (x, y, r), "y", 12, part="tyre"))
        y = side * (w / 2 - 0.01)
        out.append(cylinder(0.55 * r, 0.02, (x, y, r), "y", 8, part="rim"))
    return out


def _lights(l: float, w: float, z_front: float, z_rear: float) -> list[Mesh]:
    out = []
    for side in (1, -1):
        y = side * (w / 2 - 0.25)
        out.append(box((0.06, 0.25, 0.12), (l / 2 - 0.03, y, z_front), "head_light"))
        out.append(box((0.06, 0.20, 0.14), (-l / 2 + 0.03, y, z_rear), "tail_light"))
    out.append(box((0.06, 0.52, 0.11), (l / 2 - 0.03, 0.0, z_front - 0.2), "plate"))
    out.append(box((0.06, 0.52, 0.11), (-l / 2 + 0.03, 0.0, z_rear - 0.2), "plate"))
    return out


def _cab(x_front: float, cab_l: float, w: float, cab_h: float) -> list[Mesh]:
    """Cab-over cab: a lower box to the window line, a glass-sided upper box, mirrors."""
    z_win = 0.58 * cab_h
    lower = box((cab_l, w, z_win - 0.4), (x_front - cab_l / 2, 0, (z_win + 0.4) / 2))
    upper = hexahedron(
        _quad_solid(
            x_front,
            x_front - cab_l,
            x_front - 0.12,
            x_front - cab_l,
            w / 2,
            w / 2 - 0.06,
            z_win,
            cab_h,
        ),
        _CAB_FACES,
    )
    mirrors = [
        box((0.1, 0.12, 0.35), (x_front - 0.2, s * (w / 2 + 0.05), z_win + 0.2), "mirror")
        for s in (1, -1)
    ]
    return [lower, upper, *mirrors]


def truck_mesh(length: float, width: float, height: float) -> Mesh:
    """A rigid truck (or, longer than 12 m, a tractor with a semi-trailer), cargo box to the
    top; needs length >= 5 m and height >= 2.2 m."""
    if length < 5.0 or height < 2.2:
        raise ValueError(f"a truck needs length >= 5 m, height >= 2.2 m, got {length}, {height}")
    l, w, h = length, width, height
    xf, xr = l / 2, -l / 2
    cab_l, cab_h = min(2.3, 0.3 * l), min(h, max(2.2, 0.88 * h))
    r = 0.5
    parts = _cab(xf, cab_l, w, cab_h)
    semi = l > 12.0
    cargo_front = xf - cab_l - (0.9 if semi else 0.15)
    cargo_bottom = 1.25 if semi else 1.1
    cargo = box(
        (cargo_front - xr, w, h - cargo_bottom),
        ((cargo_front + xr) / 2, 0, (h + cargo_bottom) / 2),
        "cargo",
    )
    chassis_end = xr + (0.3 if not semi else l - 6.2)
    chassis = box(
        (xf - cab_l - chassis_end, w - 0.5, 0.3), ((xf - cab_l + chassis_end) / 2, 0, 0.85)
    )
    parts += [cargo, chassis]
    parts += _axle(xf - 0.55 * cab_l, r, w)
    if semi:
        parts += _axle(xf - cab_l - 1.6, r, w, dual=True)
        for k in range(3):
            parts += _axle(xr + 1.4 + 1.35 * k, r, w)
    else:
        rear = xr + 0.22 * l
        axles = (rear - 0.67, rear + 0.67) if l > 8.0 else (rear,)
        for x in axles:
            parts += _axle(x, r, w, dual=True)
        guard = (xf - cab_l - 0.3) - (max(axles) + r + 0.2)
        if guard > 0.5:
            for s in (1, -1):
                gx = (xf - cab_l - 0.3 + max(axles) + r + 0.2) / 2
                parts.append(box((guard, 0.04, 0.12), (gx, s * (w / 2 - 0.05), 0.55)))
    parts += _lights(l, w, 0.75, 0.9)
    return merge(parts)


def tram_mesh(length: float, width: float, height: float) -> Mesh:
    """A low-floor articulated tram: sections of 7-12 m joined by bellows, a window band with
    pillars every 1.6 m, skirts, roof equipment and a pantograph reaching the top."""
    if length < 8.0 or height < 2.8:
        raise ValueError(f"a tram needs length >= 8 m, height >= 2.8 m, got {length}, {height}")
    l, w, h = length, width, height
    n_sec = max(1, round(l / 9.5))
    roof = h - 0.45
    sec_l = (l - 0.5 * (n_sec - 1)) / n_sec
    parts: list[Mesh] = []
    for k in range(n_sec):
        x0 = -l / 2 + k * (sec_l + 0.5)
        xc = x0 + sec_l / 2
        parts.append(box((sec_l, w, 0.75), (xc, 0, 0.15 + 0.375), "body"))  # skirt, floor
        parts.append(box((sec_l, w, roof - 2.3), (xc, 0, (roof + 2.3) / 2), "body"))  # roof band
        n_win = max(1, int(sec_l / 1.6))
        pitch = sec_l / n_win
        for j in range(n_win):
            parts.append(
                box((pitch - 0.15, w - 0.02, 1.4), (x0 + (j + 0.5) * pitch, 0, 1.6), "window")
            )
            parts.append(box((0.15, w, 1.4), (x0 + j * pitch + 0.075, 0, 1.6), "body"))
        parts.append(box((0.15, w, 1.4), (x0 + sec_l - 0.075, 0, 1.6), "body"))
        parts.append(box((min(3.0, sec_l / 2), 1.4, 0.35), (xc, 0, roof + 0.175), "body"))
        if k < n_sec - 1:
            parts.append(
                box((0.6, w - 0.3, roof - 0.4), (x0 + sec_l + 0.25, 0, roof / 2 + 0.2), "interior")
            )
    for k in range(n_sec + 1):  # bogies: steel wheels behind the skirts
        xb = float(np.clip(-l / 2 + k * (sec_l + 0.5) - 0.25, -l / 2 + 1.2, l / 2 - 1.2))
        for dx in (-0.9, 0.9):
            for s in (1, -1):
                parts.append(cylinder(0.33, 0.12, (xb + dx, s * 0.72, 0.33), "y", 10, part="tyre"))
    x_p = -l / 2 + sec_l / 2
    parts.append(tube((x_p - 0.8, 0, roof + 0.35), (x_p, 0, h - 0.03), 0.03, part="body"))
    parts.append(box((0.3, 1.6, 0.06), (x_p, 0, h - 0.03), "body"))
    for s in (1, -1):  # windshield glass at both ends
        parts.append(box((0.05, w - 0.2, 1.2), (s * (l / 2 - 0.03), 0, 1.75), "window"))
    parts += _lights(l, w, 0.6, 0.6)
    return merge(parts)


def trailer_mesh(length: float, width: float, height: float) -> Mesh:
    """A two-wheel trailer: deck, drawbar to the front tip; above 1.4 m high a tarp cover,
    else open with low sides."""
    l, w, h = length, width, height
    bar = min(1.2, 0.3 * l)
    xr, xd = -l / 2, l / 2 - bar  # deck from xr to xd
    r = min(0.3, 0.35 * h)
    deck_z = min(0.55, 0.5 * h)
    parts = [box((xd - xr, w, 0.12), ((xd + xr) / 2, 0, deck_z + 0.06), "body")]
    top = h if h > 1.4 else min(h, deck_z + 0.45)
    if h > 1.4:
        parts.append(
            box(
                (xd - xr, w, top - deck_z - 0.12),
                ((xd + xr) / 2, 0, (top + deck_z + 0.12) / 2),
                "cargo",
            )
        )
    else:
        for s in (1, -1):
            parts.append(
                box(
                    (xd - xr, 0.05, top - deck_z),
                    ((xd + xr) / 2, s * (w / 2 - 0.025), (top + deck_z) / 2),
                )
            )
        for x in (xr + 0.025, xd - 0.025):
            parts.append(box((0.05, w, top - deck_z), (x, 0, (top + deck_z) / 2)))
    parts.append(tube((xd, 0, deck_z), (l / 2 - 0.05, 0, 0.45), 0.05, part="body"))
    parts.append(box((0.1, 0.1, 0.08), (l / 2 - 0.05, 0, 0.45), "body"))
    x_axle = (xr + xd) / 2
    for s in (1, -1):
        y = s * (w / 2 - 0.12)
        parts.append(cylinder(r, 0.18, (x_axle, y, r), "y", 12, part="tyre"))
        parts.append(box((2.2 * r, 0.04, 0.05), (x_axle, s * (w / 2 - 0.02), 2 * r + 0.03), "body"))
    for s in (1, -1):
        parts.append(
            box((0.04, 0.2, 0.1), (xr + 0.02, s * (w / 2 - 0.15), deck_z - 0.05), "tail_light")
        )
    return merge(parts)


def caravan_mesh(length: float, width: float, height: float) -> Mesh:
    """A touring caravan: a box with a sloped front, windows, door, drawbar and two wheels."""
    l, w, h = length, width, height
    bar = min(1.2, 0.22 * l)
    xr, xf = -l / 2, l / 2 - bar
    z0, r = min(0.45, 0.25 * h), min(0.3, 0.2 * h)
    shell = hexahedron(
        _quad_solid(xf - 0.25, xr, xf - 0.7, xr, w / 2, w / 2 - 0.05, z0, h),
        ("body", "body", "body", "body", "body", "body"),
    )
    parts = [shell, box((0.3, w, (h - z0) * 0.5), (xf - 0.15, 0, z0 + (h - z0) * 0.25), "body")]
    zw = z0 + 0.55 * (h - z0)
    for x in np.linspace(xr + 0.8, xf - 1.0, max(2, int((xf - xr) / 2.0))):
        parts.append(box((0.7, w + 0.01, 0.45), (x, 0, zw), "window"))
    parts.append(box((0.05, w - 0.5, 0.5), (xf - 0.62, 0, zw), "window"))
    parts.append(tube((xf, 0, z0), (l / 2 - 0.05, 0, 0.45), 0.05, part="body"))
    parts.append(box((0.1, 0.1, 0.08), (l / 2 - 0.05, 0, 0.45), "body"))
    x_axle = (xr + xf) / 2
    for s in (1, -1):
        parts.append(cylinder(r, 0.18, (x_axle, s * (w / 2 - 0.15), r), "y", 12, part="tyre"))
        parts.append(box((0.04, 0.2, 0.12), (xr + 0.02, s * (w / 2 - 0.2), z0 + 0.2), "tail_light"))
    return merge(parts)


HEAVY_BUILDERS = {
    "truck": truck_mesh,
    "tram": tram_mesh,
    "trailer": trailer_mesh,
    "caravan": caravan_mesh,
}
