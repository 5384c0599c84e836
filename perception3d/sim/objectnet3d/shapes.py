"""CAD-like triangle meshes of a few categories for the synthetic ObjectNet3D stand-in.

Each category is a parametric assembly of boxes and cylinders with randomized proportions,
so one category yields many distinct CAD models. The CAD frame follows our reading of the
ObjectNet3D alignment: z up, the object's front towards -y (azimuth 0 looks at the front),
centred on its bounding box and scaled so the largest side is 1.

The vehicle and person builders are a minimal stand-in until the synthetic-scene meshes
(``perception3d/sim/meshes.py``) land on main; then they are to be used instead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from perception3d.data.off import TriangleMesh

# one face per side, outward counter-clockwise; corners indexed by bits (x, y, z)
_BOX_FACES = np.array(
    [[0, 3, 2], [0, 1, 3], [4, 7, 5], [4, 6, 7], [0, 5, 1], [0, 4, 5],
     [2, 7, 6], [2, 3, 7], [0, 6, 4], [0, 2, 6], [1, 7, 3], [1, 5, 7]]
)  # fmt: skip


def box(center, size) -> TriangleMesh:
    """Axis-aligned box: 8 vertices, 12 triangles."""
    bits = np.array([[(i >> 2) & 1, (i >> 1) & 1, i & 1] for i in range(8)], dtype=np.float64)
    vertices = np.asarray(center, np.float64) + (bits - 0.5) * np.asarray(size, np.float64)
    return TriangleMesh(vertices, _BOX_FACES)


def cylinder(center, radius: float, length: float, axis: int, segments: int = 12) -> TriangleMesh:
    """Closed cylinder along coordinate ``axis`` (0 x, 1 y, 2 z)."""
    angle = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    ring = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1)  # (S, 2)
    local = np.zeros((2 * segments + 2, 3))
    local[:segments, :2], local[:segments, 2] = ring, -length / 2
    local[segments : 2 * segments, :2], local[segments : 2 * segments, 2] = ring, length / 2
    local[-2, 2], local[-1, 2] = -length / 2, length / 2
    order = {0: [2, 0, 1], 1: [1, 2, 0], 2: [0, 1, 2]}[axis]  # local z -> the axis
    vertices = np.asarray(center, np.float64) + local[:, order]
    i = np.arange(segments)
    j = (i + 1) % segments
    s = segments
    faces = np.concatenate(
        [
            np.stack([i, j, s + j], 1),
            np.stack([i, s + j, s + i], 1),
            np.stack([np.full(s, 2 * s), j, i], 1),
            np.stack([np.full(s, 2 * s + 1), s + i, s + j], 1),
        ]
    )
    return TriangleMesh(vertices, faces)


def merge(parts: list[TriangleMesh]) -> TriangleMesh:
    """One mesh of several (faces re-indexed)."""
    offsets = np.cumsum([0] + [len(p.vertices) for p in parts[:-1]])
    return TriangleMesh(
        np.concatenate([p.vertices for p in parts]),
        np.concatenate([p.faces + o for p, o in zip(parts, offsets)]),
    )


def normalize(mesh: TriangleMesh) -> TriangleMesh:
    """Centre on the bounding box and scale the largest side to 1."""
    lo, hi = mesh.vertices.min(0), mesh.vertices.max(0)
    return TriangleMesh((mesh.vertices - (lo + hi) / 2) / (hi - lo).max(), mesh.faces)


def _wheels(xs, ys, radius, width) -> list[TriangleMesh]:
    return [cylinder((x, y, radius), radius, width, axis=0) for x in xs for y in ys]


def _car(u: Callable[[float, float], float]) -> list[TriangleMesh]:
    length, width, r = u(3.8, 4.6), u(1.6, 1.9), u(0.28, 0.36)
    body_h, cabin_h, cabin_l = u(0.55, 0.75), u(0.4, 0.55), u(0.45, 0.6) * length
    hood = u(-0.15, 0.15) * length
    return [
        box((0, 0, r + body_h / 2), (width, length, body_h)),
        box((0, hood + 0.05 * length, r + body_h + cabin_h / 2), (0.85 * width, cabin_l, cabin_h)),
        *_wheels((-width / 2, width / 2), (-0.32 * length, 0.32 * length), r, 0.2),
    ]


def _van(u) -> list[TriangleMesh]:
    length, width, r, height = u(4.4, 5.2), u(1.8, 2.0), u(0.3, 0.36), u(1.6, 2.0)
    nose = u(0.5, 0.8)
    return [
        box((0, nose / 2, r + height / 2), (width, length - nose, height)),
        box((0, -length / 2 + nose / 2, r + 0.3 * height), (width, nose, 0.6 * height)),
        *_wheels((-width / 2, width / 2), (-0.33 * length, 0.35 * length), r, 0.22),
    ]


def _truck(u) -> list[TriangleMesh]:
    cab_l, cargo_l, width, r = u(1.6, 2.2), u(3.5, 5.5), u(2.2, 2.5), u(0.45, 0.55)
    cab_h, cargo_h = u(1.9, 2.3), u(2.3, 3.0)
    y_cab = -(cab_l + cargo_l) / 2 + cab_l / 2
    y_cargo = y_cab + cab_l / 2 + 0.15 + cargo_l / 2
    return [
        box((0, y_cab, r + 0.3 + cab_h / 2), (width, cab_l, cab_h)),
        box((0, y_cargo, r + 0.4 + cargo_h / 2), (width, cargo_l, cargo_h)),
        box((0, (y_cab + y_cargo) / 2, r + 0.2), (0.6 * width, cab_l + cargo_l, 0.3)),
        *_wheels((-width / 2, width / 2), (y_cab, y_cargo + cargo_l / 4), r, 0.3),
    ]


def _bicycle(u) -> list[TriangleMesh]:
    r, base, t = u(0.3, 0.36), u(0.95, 1.15), 0.04
    seat_h, bar_h = r + u(0.45, 0.6), r + u(0.5, 0.65)
    yf, yb = -base / 2, base / 2
    return [
        cylinder((0, yf, r), r, 0.05, axis=0, segments=16),
        cylinder((0, yb, r), r, 0.05, axis=0, segments=16),
        box((0, 0, (seat_h + bar_h) / 2 - 0.05), (t, base * 0.6, t)),  # top tube
        box((0, yf / 2, (r + bar_h) / 2), (t, t, bar_h - r)),  # fork / head tube
        box((0, yb / 3, (r + seat_h) / 2), (t, t, seat_h - r)),  # seat tube
        box((0, yb * 0.6, r + 0.05), (t, base / 2, t)),  # chain stay
        box((0, yf / 2, bar_h), (u(0.45, 0.6), t, t)),  # handlebar
        box((0, yb / 3, seat_h + 0.02), (0.12, 0.25, 0.05)),  # saddle
    ]


def _person(u) -> list[TriangleMesh]:
    height, shoulders = u(1.6, 1.9), u(0.38, 0.48)
    leg, torso, depth = 0.47 * height, 0.3 * height, u(0.2, 0.28)
    stride = u(0.0, 0.25)
    head = 0.13 * height
    top = leg + torso
    return [
        box((-shoulders / 4, -stride / 2, leg / 2), (0.14, 0.16, leg)),
        box((shoulders / 4, stride / 2, leg / 2), (0.14, 0.16, leg)),
        box((0, 0, leg + torso / 2), (shoulders, depth, torso)),
        box((0, -0.02, top + 0.05 + head / 2), (0.8 * head, 0.9 * head, head)),
        box((-shoulders / 2 - 0.05, stride / 3, top - 0.3), (0.09, 0.1, 0.6)),
        box((shoulders / 2 + 0.05, -stride / 3, top - 0.3), (0.09, 0.1, 0.6)),
        box((0, -depth / 2 - 0.02, leg + torso * 0.6), (0.6 * shoulders, 0.04, 0.3 * torso)),
    ]


def _legs(width, length, height, thick) -> list[TriangleMesh]:
    xs, ys = (
        (-width / 2 + thick / 2, width / 2 - thick / 2),
        (-length / 2 + thick / 2, length / 2 - thick / 2),
    )
    return [box((x, y, height / 2), (thick, thick, height)) for x in xs for y in ys]


def _chair(u) -> list[TriangleMesh]:
    w, d, seat, back = u(0.4, 0.55), u(0.4, 0.55), u(0.42, 0.5), u(0.4, 0.6)
    return [
        *_legs(w, d, seat, 0.04),
        box((0, 0, seat + 0.025), (w, d, 0.05)),
        box((0, d / 2 - 0.025, seat + back / 2), (w, 0.05, back)),
    ]


def _diningtable(u) -> list[TriangleMesh]:
    w, length, h = u(0.8, 1.1), u(1.2, 2.0), u(0.7, 0.78)
    return [*_legs(w, length, h, 0.07), box((0, 0, h), (w + 0.1, length + 0.1, 0.05))]


def _sofa(u) -> list[TriangleMesh]:
    w, d, seat, back, arm = u(1.6, 2.4), u(0.8, 1.0), u(0.4, 0.48), u(0.35, 0.5), u(0.15, 0.25)
    return [
        box((0, 0, seat / 2), (w, d, seat)),
        box((0, d / 2 - 0.1, seat + back / 2), (w, 0.2, back)),
        box((-w / 2 + arm / 2, 0, seat + 0.12), (arm, d, 0.24)),
        box((w / 2 - arm / 2, 0, seat + 0.12), (arm, d, 0.24)),
    ]


def _bed(u) -> list[TriangleMesh]:
    w, length, frame, head = u(0.9, 1.8), u(1.9, 2.2), u(0.3, 0.4), u(0.5, 0.9)
    return [
        box((0, 0, frame / 2), (w, length, frame)),
        box((0, -0.05, frame + 0.1), (w - 0.06, length - 0.15, 0.2)),
        box((0, length / 2 + 0.03, head / 2 + 0.1), (w + 0.04, 0.06, head + 0.2)),
        box((0, length / 2 - 0.3, frame + 0.25), (0.6 * w, 0.35, 0.1)),  # pillow
    ]


def _bookshelf(u) -> list[TriangleMesh]:
    w, d, h, shelves = u(0.6, 1.2), u(0.25, 0.4), u(1.0, 2.0), int(u(3, 6))
    t = 0.03
    parts = [
        box((-w / 2 + t / 2, 0, h / 2), (t, d, h)),
        box((w / 2 - t / 2, 0, h / 2), (t, d, h)),
        box((0, d / 2 - t / 2, h / 2), (w, t, h)),
    ]
    parts += [box((0, 0, z), (w, d, t)) for z in np.linspace(t / 2, h - t / 2, shelves + 1)]
    return parts


def _tvmonitor(u) -> list[TriangleMesh]:
    w, h, stand = u(0.5, 0.9), u(0.32, 0.55), u(0.08, 0.2)
    return [
        box((0, 0, stand + 0.02 + h / 2), (w, 0.05, h)),
        box((0, 0.06, stand / 2 + 0.02), (0.06, 0.05, stand)),
        box((0, 0.04, 0.01), (0.3 * w, 0.2, 0.02)),
    ]


BUILDERS: dict[str, Callable] = {
    "car": _car,
    "van": _van,
    "truck": _truck,
    "bicycle": _bicycle,
    "person": _person,
    "chair": _chair,
    "diningtable": _diningtable,
    "sofa": _sofa,
    "bed": _bed,
    "bookshelf": _bookshelf,
    "tvmonitor": _tvmonitor,
}
CLASSES: tuple[str, ...] = tuple(BUILDERS)


def build_cad(class_name: str, rng: np.random.Generator) -> TriangleMesh:
    """A random CAD model of ``class_name`` (one of ``CLASSES``), normalized.

    Raises:
        ValueError: unknown class.

    Example:
        >>> m = build_cad("chair", np.random.default_rng(0))
        >>> float(np.ptp(m.vertices, axis=0).max())
        1.0
    """
    if class_name not in BUILDERS:
        raise ValueError(f"unknown class {class_name!r}, expected one of {list(CLASSES)}")

    def uniform(lo: float, hi: float) -> float:
        return float(rng.uniform(lo, hi))

    return normalize(merge(BUILDERS[class_name](uniform)))
