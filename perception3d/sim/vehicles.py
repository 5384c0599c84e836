"""Procedural vehicle meshes: cars of six body types, vans, and (``heavy_vehicles.py``) trucks,
trams, trailers and caravans.

Cars and vans are lofts (``loft.py``): their side profile has a bumper, hood, windshield, roof,
rear window and trunk or hatch; the plan view has rounded corners; the greenhouse leans in
(tumblehome); the body's bottom rises over the wheels (wheel arches). Glass (``window``: the
windshield, side and rear windows) follows the profile; mirrors stick out of the sides.

Every builder returns a :class:`~perception3d.sim.meshes.Mesh` in the object frame (x forward,
y left, z up, origin at the bottom centre) whose bounding box *without the mirrors* is exactly
``length x width x height`` (the label box is tight around the body, as KITTI's are; mirrors
stick out about 0.1 m on each side, as real ones stick out of real boxes), and whose tyres
touch z = 0. Parts: ``body`` (paint), ``window`` (glass: the sensor model's
``materials.GLASS``), ``tyre``, ``rim``, ``mirror``, ``interior`` (seats and dashboard behind
the glass), ``head_light``, ``tail_light``, ``plate`` and, for trucks, ``cargo``.

Each body type is built once per process per variant (three variants of proportions) at a
typical size, then scaled to the requested box: a car costs a copy of a few hundred vertices.

Example:
    >>> m = vehicle_mesh("sedan", 4.2, 1.75, 1.45)
    >>> np.round(m.bounds, 6)[:, 2].tolist(), "window" in m.part_names
    ([0.0, 1.45], True)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from perception3d.sim.heavy_vehicles import HEAVY_BUILDERS
from perception3d.sim.loft import loft
from perception3d.sim.meshes import Mesh, box, cylinder, freeze, merge

__all__ = [
    "BODY_TYPES",
    "CAR_SHAPES",
    "VEHICLE_PARTS",
    "BodyShape",
    "vehicle_mesh",
    "warm_templates",
]

VEHICLE_PARTS = ("body", "window", "tyre", "rim", "mirror", "interior")
_PARTS = {name: i for i, name in enumerate(VEHICLE_PARTS)}
VARIANTS = 3  # proportion variants per body type


@dataclass(frozen=True)
class BodyShape:
    """Side view of a body type; x in fractions of the length from the rear (0) to the front
    (1), z in fractions of the height.

    Attributes:
        size: (l, w, h) metres the template is built at (typical label-box size of the type).
        top: (x, z) points of the roof line from the rear to the front.
        belt: the beltline (bottom of the side windows).
        clearance: the underbody between the wheels; bumper: the bumpers' lower edge.
        axles: x of the rear and front axle; wheel: tyre radius, of h.
        side_glass: x intervals of the side windows (pillars between them).
        top_glass: x intervals of the glass on the roof line (windshield, rear window).
        rear_glass: the rear face above the beltline is glass (vans, buses).
        tumblehome: inward lean of the greenhouse at the roof, fraction of the width.
    """

    size: tuple[float, float, float]
    top: tuple[tuple[float, float], ...]
    belt: float
    clearance: float
    bumper: float
    axles: tuple[float, float]
    wheel: float
    side_glass: tuple[tuple[float, float], ...]
    top_glass: tuple[tuple[float, float], ...]
    rear_glass: bool = False
    tumblehome: float = 0.08


# Profiles read off typical European models of the KITTI years (2011: Golf VI, Passat B6
# saloon and Variant, Tiguan, Touran, Transporter T5); sizes are KITTI-label-like boxes.
CAR_SHAPES: dict[str, BodyShape] = {
    "sedan": BodyShape(
        (4.30, 1.66, 1.44),
        ((0, 0.60), (0.03, 0.66), (0.17, 0.69), (0.33, 0.95), (0.40, 0.995), (0.52, 1.0),
         (0.60, 0.97), (0.72, 0.69), (0.90, 0.63), (0.985, 0.55), (1.0, 0.47)),
        0.63, 0.12, 0.21, (0.21, 0.80), 0.215,
        ((0.22, 0.45), (0.475, 0.70)), ((0.17, 0.33), (0.60, 0.72)),
    ),
    "hatchback": BodyShape(
        (3.75, 1.62, 1.48),
        ((0, 0.60), (0.015, 0.80), (0.05, 0.93), (0.12, 0.99), (0.45, 1.0), (0.57, 0.96),
         (0.71, 0.67), (0.90, 0.61), (0.985, 0.53), (1.0, 0.46)),
        0.62, 0.12, 0.22, (0.17, 0.81), 0.21,
        ((0.10, 0.42), (0.45, 0.68)), ((0.0, 0.06), (0.57, 0.71)),
    ),
    "wagon": BodyShape(
        (4.40, 1.68, 1.50),
        ((0, 0.60), (0.01, 0.78), (0.04, 0.95), (0.08, 0.99), (0.50, 1.0), (0.60, 0.97),
         (0.72, 0.68), (0.90, 0.62), (0.985, 0.54), (1.0, 0.46)),
        0.62, 0.12, 0.21, (0.21, 0.80), 0.21,
        ((0.05, 0.20), (0.23, 0.46), (0.49, 0.70)), ((0.0, 0.04), (0.60, 0.72)),
    ),
    "suv": BodyShape(
        (4.30, 1.74, 1.70),
        ((0, 0.55), (0.01, 0.80), (0.035, 0.96), (0.08, 1.0), (0.55, 1.0), (0.64, 0.97),
         (0.74, 0.70), (0.92, 0.64), (0.99, 0.57), (1.0, 0.48)),
        0.60, 0.15, 0.24, (0.20, 0.80), 0.23,
        ((0.04, 0.22), (0.25, 0.48), (0.51, 0.72)), ((0.0, 0.035), (0.64, 0.74)),
    ),
    "mpv": BodyShape(
        (4.20, 1.70, 1.62),
        ((0, 0.55), (0.01, 0.82), (0.04, 0.97), (0.10, 1.0), (0.52, 1.0), (0.66, 0.92),
         (0.80, 0.64), (0.93, 0.60), (0.99, 0.52), (1.0, 0.45)),
        0.58, 0.12, 0.21, (0.19, 0.80), 0.20,
        ((0.04, 0.22), (0.25, 0.49), (0.52, 0.76)), ((0.0, 0.04), (0.66, 0.80)),
    ),
    "pickup": BodyShape(
        (4.90, 1.76, 1.75),
        ((0, 0.55), (0.01, 0.57), (0.40, 0.57), (0.41, 0.97), (0.43, 1.0), (0.62, 1.0),
         (0.70, 0.95), (0.78, 0.68), (0.92, 0.64), (0.99, 0.56), (1.0, 0.48)),
        0.60, 0.17, 0.25, (0.18, 0.78), 0.22,
        ((0.43, 0.58), (0.60, 0.75)), ((0.40, 0.42), (0.70, 0.78)),
    ),
    "van": BodyShape(
        (5.00, 1.90, 2.20),
        ((0, 0.93), (0.01, 0.98), (0.03, 1.0), (0.80, 1.0), (0.83, 0.97), (0.90, 0.60),
         (0.97, 0.50), (1.0, 0.42)),
        0.48, 0.09, 0.15, (0.17, 0.82), 0.15,
        ((0.72, 0.88),), ((0.83, 0.90),), tumblehome=0.03,
    ),
    "minibus": BodyShape(
        (5.00, 1.90, 2.10),
        ((0, 0.92), (0.01, 0.97), (0.03, 1.0), (0.80, 1.0), (0.83, 0.97), (0.90, 0.60),
         (0.97, 0.50), (1.0, 0.42)),
        0.50, 0.09, 0.15, (0.17, 0.82), 0.16,
        ((0.04, 0.26), (0.28, 0.48), (0.50, 0.70), (0.72, 0.88)), ((0.83, 0.90),),
        rear_glass=True, tumblehome=0.03,
    ),
}  # fmt: skip
BODY_TYPES = (*CAR_SHAPES, *HEAVY_BUILDERS)


def _in(x: np.ndarray, intervals) -> np.ndarray:
    out = np.zeros(len(x), bool)
    for a, b in intervals:
        out |= (x > a) & (x < b)
    return out


def _stations(s: BodyShape, l: float, r: float) -> np.ndarray:
    """Loft stations (fractions of l): profile and glass breaks, wheel arches, a 4 % grid."""
    xs = [p[0] for p in s.top] + [v for iv in (*s.side_glass, *s.top_glass) for v in iv]
    for axle in s.axles:
        arch = (r + 0.05) / l
        xs += list(axle + arch * np.cos(np.linspace(0, np.pi, 7)))
    xs += list(np.linspace(0, 1, 26))
    xs = np.unique(np.clip(np.round(np.asarray(xs), 4), 0, 1))
    keep = np.r_[True, np.diff(xs) > 0.004]
    keep[-1] = True
    return xs[keep]


def _sections(s: BodyShape, xf: np.ndarray, size) -> np.ndarray:
    """(N, 10, 2) [y, z] sections at stations xf (see ``loft.py`` for the point order)."""
    l, w, h = size
    top = np.interp(xf, *np.array(s.top).T) * h
    r = s.wheel * h
    z0 = np.full(len(xf), s.clearance * h)
    x_m = xf * l
    lo, hi = s.axles[0] * l - r - 0.05, s.axles[1] * l + r + 0.05
    ends = np.where(
        x_m < lo, (lo - x_m) / max(lo, 1e-6), np.where(x_m > hi, (x_m - hi) / (l - hi), 0)
    )
    z0 = z0 + np.clip(ends, 0, 1) * (s.bumper - s.clearance) * h
    for axle in s.axles:
        d = x_m - axle * l
        arch = np.sqrt(np.clip((r + 0.05) ** 2 - d**2, 0, None))
        z0 = np.maximum(z0, np.where(np.abs(d) < r + 0.05, r + arch, 0))
    edge = np.minimum(xf, 1 - xf) * l  # distance to the nearest end, metres
    half = w / 2 * (1 - 0.09 * np.clip(1 - edge / (0.12 * l), 0, 1) ** 2)
    greenhouse = np.clip((top - s.belt * h) / (0.15 * h), 0, 1)
    zc = np.minimum(s.belt * h, top - 0.03 * h)
    zb = np.minimum(z0 + 0.05 * h, zc)
    yd = half - greenhouse * s.tumblehome * w - (1 - greenhouse) * 0.03 * w
    zd = np.maximum(zc, top - 0.05 * h)
    ye = yd - 0.06 * w
    left = np.stack(
        [
            np.stack([half - 0.04 * w, z0], -1),
            np.stack([half, zb], -1),
            np.stack([half, zc], -1),
            np.stack([yd, zd], -1),
            np.stack([ye, top], -1),
        ],
        1,
    )  # (N, 5, 2) bottom up
    right = left[:, ::-1] * np.array([-1.0, 1.0])
    return np.concatenate([left, right], axis=1)


def _body(s: BodyShape, size) -> Mesh:
    l, h = size[0], size[2]
    xf = _stations(s, l, s.wheel * h)
    xm = (xf[:-1] + xf[1:]) / 2
    side = np.where(_in(xm, s.side_glass), _PARTS["window"], _PARTS["body"])
    roof = np.where(_in(xm, s.top_glass), _PARTS["window"], _PARTS["body"])
    body = np.full(len(xm), _PARTS["body"])
    parts = np.stack([body, body, side, roof, roof, roof, side, body, body, body], 1)
    g, b = _PARTS["window"], _PARTS["body"]
    rear = np.array([b, b, g, g]) if s.rear_glass else np.full(4, b)
    return loft((xf - 0.5) * l, _sections(s, xf, size), parts, VEHICLE_PARTS, (rear, np.full(4, b)))


def _wheels(xs, radius: float, width: float, tyre_w: float = 0.2) -> list[Mesh]:
    """Tyres (12-gons along y) at each x, touching z = 0, inside the body width, with rims,
    and the dark wheel well seen through the gap of each arch."""
    out = []
    for x in xs:
        well = (2 * radius + 0.1, width - 2 * tyre_w - 0.1, radius + 0.06)
        out.append(box(well, (x, 0.0, 1.5 * radius + 0.03), "tyre"))
        for side in (1, -1):
            y = side * (width / 2 - tyre_w / 2 - 0.03)
            out.append(cylinder(radius, tyre_w, (x, y, radius), "y", 12, part="tyre"))
            out.append(
                cylinder(0.62 * radius, 0.02, (x, y + side * tyre_w / 2, radius), "y", 8, "rim")
            )
    return out


def _fittings(s: BodyShape, size) -> list[Mesh]:
    """Lights, plates, mirrors and the interior seen through the glass."""
    l, w, h = size
    z_head, z_tail = s.top[-1][1] * h - 0.10, s.belt * h - 0.09
    y_light = w / 2 * 0.91 - 0.15
    out = []
    for side in (1, -1):
        out.append(box((0.08, 0.24, 0.10), (l / 2 - 0.04, side * y_light, z_head), "head_light"))
        out.append(box((0.06, 0.20, 0.12), (-l / 2 + 0.03, side * y_light, z_tail), "tail_light"))
    z_plate = (s.bumper + 0.12) * h
    out.append(box((0.06, 0.52, 0.11), (l / 2 - 0.03, 0.0, z_plate), "plate"))
    out.append(box((0.06, 0.52, 0.11), (-l / 2 + 0.03, 0.0, z_plate + 0.1), "plate"))
    x_ws = (s.top_glass[-1][1] - 0.5) * l - 0.10
    for side in (1, -1):
        out.append(
            box((0.12, 0.15, 0.10), (x_ws, side * (w / 2 + 0.025), s.belt * h + 0.06), "mirror")
        )
    glass = [v for iv in (*s.side_glass, *s.top_glass) for v in iv]
    return [*out, *_cabin(s, size, (min(glass) - 0.5) * l + 0.15, x_ws - 0.05)]


def _cabin(s: BodyShape, size, x_rear: float, x_dash: float) -> list[Mesh]:
    """Seats, headrests, dashboard and parcel shelf between ``x_rear`` and ``x_dash`` (object
    frame, metres): what a pulse through the glass can meet. Above the seat backs the cabin is
    open, so a pulse through the rear window at a shallow angle crosses it and leaves through
    the windscreen, as on real cars (whose rear windows show as gaps in a sweep)."""
    w, h = size[1], size[2]
    zb = s.belt * h
    inner_w = w - 0.30
    z_floor = s.clearance * h + 0.10  # the cabin floor, above the underbody
    z_cushion = max(z_floor + 0.25, zb - 0.35)  # seat cushions, ~0.3 m under the belt
    out = [
        box(
            (x_dash - x_rear, inner_w, z_cushion - z_floor),
            ((x_rear + x_dash) / 2, 0.0, (z_floor + z_cushion) / 2),
            "interior",
        )
    ]
    out.append(box((0.45, inner_w, 0.12), (x_dash - 0.225, 0.0, zb - 0.04), "interior"))
    x_front = x_dash - 1.0  # front seat backs about 1 m behind the dashboard
    rows = [x for x in (x_front, x_front - 0.85) if x - 0.06 > x_rear]
    back_top = zb + 0.10 * h
    for x in rows:
        back = back_top - z_cushion
        out.append(box((0.12, inner_w, back), (x, 0.0, z_cushion + back / 2), "interior"))
        for y in (-0.26 * w, 0.26 * w):
            out.append(box((0.10, 0.26, 0.20), (x, y, back_top + 0.12), "interior"))
    if rows and rows[-1] - 0.3 > x_rear:  # parcel shelf / boot cover behind the rear seats
        x_shelf = (x_rear + rows[-1] - 0.06) / 2
        out.append(box((rows[-1] - 0.06 - x_rear, inner_w, 0.04), (x_shelf, 0.0, zb - 0.02),
                       "interior"))  # fmt: skip
    return out


@cache
def _template(body_type: str, variant: int) -> Mesh:
    """The body type at its typical size; variants move the roof line and glass by a few %."""
    s = CAR_SHAPES[body_type]
    if variant:
        rng = np.random.default_rng(1000 + variant)  # fixed: the same template in any process
        dz = rng.uniform(-0.025, 0.025, len(s.top))
        top = tuple((x, float(np.clip(z + d, 0.4, 1.0))) for (x, z), d in zip(s.top, dz))
        s = replace(s, top=top, belt=s.belt + float(rng.uniform(-0.02, 0.02)))
    size = s.size
    r = s.wheel * size[2]
    axles = [(a - 0.5) * size[0] for a in s.axles]
    mesh = merge([_body(s, size), *_wheels(axles, r, size[1]), *_fittings(s, size)])
    return freeze(_snap(mesh, *size))


def _snap(mesh: Mesh, length: float, width: float, height: float) -> Mesh:
    """Scale so the bounding box without the mirrors is exactly the box."""
    keep = np.ones(len(mesh.vertices), bool)
    mirror = mesh.part_mask("mirror")
    if mirror.any():
        keep[np.unique(mesh.triangles[mirror])] = False
    lo, hi = mesh.vertices[keep].min(axis=0), mesh.vertices[keep].max(axis=0)
    target_lo = np.array([-length / 2, -width / 2, 0.0])
    scale = np.array([length, width, height]) / (hi - lo)
    verts = (mesh.vertices - lo) * scale + target_lo
    return Mesh(verts, mesh.triangles, mesh.parts, mesh.part_names)


def vehicle_mesh(
    body_type: str, length: float, width: float, height: float, variant: int = 0
) -> Mesh:
    """A vehicle of ``body_type`` filling the box ``length x width x height`` (metres).

    Args:
        body_type: one of :data:`BODY_TYPES`.
        length, width, height: box size; heavy vehicles have minimum sizes (see
            ``heavy_vehicles.py``).
        variant: proportion variant of a car or van body, 0 .. VARIANTS - 1.

    Returns:
        Mesh in the object frame (x forward, y left, z up, bottom centre at the origin).

    Raises:
        ValueError: unknown body type or a size the body cannot take.
    """
    if body_type not in BODY_TYPES:
        raise ValueError(f"body_type must be one of {BODY_TYPES}, got {body_type!r}")
    if min(length, width, height) <= 0.5:
        raise ValueError(f"vehicle size must exceed 0.5 m, got {(length, width, height)}")
    if body_type in HEAVY_BUILDERS:
        return _snap(HEAVY_BUILDERS[body_type](length, width, height), length, width, height)
    if not 0 <= variant < VARIANTS:
        raise ValueError(f"variant must be in [0, {VARIANTS}), got {variant}")
    t = _template(body_type, variant)
    scale = np.array([length, width, height]) / np.array(CAR_SHAPES[body_type].size)
    return Mesh(t.vertices * scale, t.triangles, t.parts, t.part_names)


def warm_templates() -> None:
    """Build every car and van template now (see ``warmup.py``)."""
    for body in CAR_SHAPES:
        for v in range(VARIANTS):
            _template(body, v)
