"""Fences, railings, guard rails and walls along a line (never labelled).

Local frame: x along the fence from 0 to ``length``, y across (the road side is -y), z up from
the ground. A fence is a row of identical panels between posts: each kind's panel is built
once per process (per height, to 5 cm) and copied along the line, the last one cut short.
``openings`` are (x0, x1) stretches left open (gates, driveways).

- ``picket``: vertical slats 7-9 cm wide with gaps between them on two rails.
- ``mesh``: wire mesh (chain link or welded) on thin posts: strips 2 cm wide every 10 cm, so
  about a third of the rays hitting it return from the wire, the rest pass (the beam's
  footprint covers several wires at range; rays are lines, so the wire is drawn wider).
- ``railing``: a top and a bottom rail with vertical bars every 12 cm.
- ``panel``: opaque wooden or metal panels, a gap under them.
- ``guard_rail``: a W-beam on posts, 0.45-0.75 m high, facing the road.
- walls: solid boxes with a coping, any height (low garden walls to 2.6 m).

Parts: ``fence`` (boards, wire, rails), ``post``, ``free_wall`` (a wall that is not part of a
building: its own semantic class).

Example:
    >>> m = fence("picket", 10.0, 1.2)
    >>> sorted(m.part_names), round(float(m.bounds[1, 0]), 1), round(float(m.bounds[1, 2]), 3)
    (['fence', 'post'], 10.0, 1.2)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

from perception3d.sim.meshes import Mesh, box, cylinder, freeze, merge

__all__ = ["FENCE_KINDS", "fence", "guard_rail", "wall", "warm_templates"]

FENCE_KINDS = ("picket", "mesh", "railing", "panel")
_PANEL_M = {"picket": 2.0, "mesh": 2.5, "railing": 2.0, "panel": 1.8, "guard_rail": 4.0}


def _quad(x0: float, x1: float, z0: float, z1: float, y: float, part: str) -> Mesh:
    """A vertical rectangle in the x-z plane at ``y`` (two triangles, seen from both sides)."""
    v = np.array([[x0, y, z0], [x1, y, z0], [x1, y, z1], [x0, y, z1]], np.float64)
    return Mesh(v, np.array([[0, 1, 2], [0, 2, 3]]), np.zeros(2, np.int64), (part,))


def _panel(kind: str, height: float) -> Mesh:
    """One panel of ``kind`` from x = 0 to its length, with the post at x = 0."""
    p = _PANEL_M[kind]
    h = height
    if kind == "mesh":
        out = [cylinder(0.025, h, (0, 0, h / 2), segments=6, part="post")]
        out += [_quad(x, x + 0.02, 0.03, h, 0.0, "fence") for x in np.arange(0.05, p, 0.10)]
        out += [_quad(0.0, p, z, z + 0.02, 0.0, "fence") for z in np.arange(0.05, h - 0.01, 0.10)]
        out.append(cylinder(0.02, p, (p / 2, 0, h - 0.02), "x", 6, "fence"))
        return merge(out)
    out = [box((0.09, 0.09, h), (0, 0, h / 2), "post")]
    if kind == "picket":
        for z in (0.25 * h, 0.8 * h):
            out.append(box((p, 0.03, 0.08), (p / 2, 0.03, z), "fence"))
        x = 0.08
        while x < p - 0.06:
            width = 0.08
            out.append(_quad(x, x + width, 0.05, h - 0.03, -0.01, "fence"))
            x += width + 0.06
    elif kind == "railing":
        for z in (0.1, h - 0.04):
            out.append(box((p, 0.05, 0.05), (p / 2, 0, z), "fence"))
        out += [
            box((0.02, 0.02, h - 0.14), (x, 0, h / 2 + 0.03), "fence")
            for x in np.arange(0.12, p - 0.05, 0.12)
        ]
    elif kind == "panel":
        out.append(box((p - 0.09, 0.03, h - 0.1), (p / 2, 0, (h - 0.1) / 2 + 0.1), "fence"))
    elif kind == "guard_rail":
        # W-beam: two bulges facing the road (-y), 0.31 m tall, its top 0.75 m high.
        band = [
            _quad(0.0, p, z0, z1, y, "fence")
            for z0, z1, y in ((0.44, 0.52, -0.30), (0.52, 0.67, -0.26), (0.67, 0.75, -0.30))
        ]
        out = [box((0.1, 0.06, 0.75), (0, -0.18, 0.375), "post"), *band]
    else:
        raise ValueError(f"fence kind must be one of {FENCE_KINDS} or guard_rail, got {kind!r}")
    return merge(out)


@cache
def _panel_template(kind: str, height_cm: int) -> Mesh:
    return freeze(_panel(kind, height_cm / 100))


def _tile(panel: Mesh, panel_m: float, spans: list[tuple[float, float]]) -> Mesh:
    """Copies of ``panel`` along x over each span, the last of a span squeezed to fit."""
    starts, scales = [], []
    for a, b in spans:
        n = max(1, int(np.ceil((b - a) / panel_m - 1e-9)))
        for k in range(n):
            x0 = a + k * panel_m
            starts.append(x0)
            scales.append(min(panel_m, b - x0) / panel_m)
    if not starts:
        return Mesh(np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros(0, np.int64), ())
    s = np.asarray(scales)[:, None, None]
    v = panel.vertices[None].repeat(len(starts), 0)  # (P, V, 3)
    v[..., 0] = v[..., 0] * s[..., 0] + np.asarray(starts)[:, None]
    nv = len(panel.vertices)
    tris = (panel.triangles[None] + nv * np.arange(len(starts))[:, None, None]).reshape(-1, 3)
    parts = np.tile(panel.parts, len(starts))
    return Mesh(v.reshape(-1, 3), tris, parts, panel.part_names)


def free_spans(
    length: float, openings: Sequence[tuple[float, float]], min_length: float = 0.05
) -> list[tuple[float, float]]:
    """[0, length] without the openings (sorted, clipped): the spans longer than
    ``min_length``, in metres along the segment."""
    spans, x = [], 0.0
    for a, b in sorted(openings):
        a, b = max(a, 0.0), min(b, length)
        if a > x:
            spans.append((x, a))
        x = max(x, b)
    if x < length:
        spans.append((x, length))
    return [(a, b) for a, b in spans if b - a > min_length]


def fence(
    kind: str, length: float, height: float, openings: Sequence[tuple[float, float]] = ()
) -> Mesh:
    """A fence of ``kind`` (:data:`FENCE_KINDS`) along x from 0 to ``length``, ``height``
    metres high (to 5 cm), open over ``openings``.

    Raises:
        ValueError: unknown kind or a height outside 0.3-3 m.
    """
    if kind not in FENCE_KINDS:
        raise ValueError(f"fence kind must be one of {FENCE_KINDS}, got {kind!r}")
    if not 0.3 <= height <= 3.0:
        raise ValueError(f"fence height must be in [0.3, 3] m, got {height}")
    h_cm = 5 * round(height * 20)
    panel = _panel_template(kind, h_cm)
    end_post = box((0.09, 0.09, h_cm / 100), (length, 0, h_cm / 200), "post")
    return merge([_tile(panel, _PANEL_M[kind], free_spans(length, openings)), end_post])


def guard_rail(length: float) -> Mesh:
    """A W-beam guard rail along x, its beam facing -y (the road), posts every 4 m."""
    return _tile(_panel_template("guard_rail", 75), _PANEL_M["guard_rail"], [(0.0, length)])


def wall(
    length: float,
    height: float,
    thickness: float = 0.25,
    openings: Sequence[tuple[float, float]] = (),
) -> Mesh:
    """A solid wall along x with a coping 3 cm wider than it, open over ``openings``."""
    out = []
    for a, b in free_spans(length, openings):
        out.append(
            box(
                (b - a, thickness, height - 0.06),
                ((a + b) / 2, 0, (height - 0.06) / 2),
                "free_wall",
            )
        )
        out.append(
            box((b - a, thickness + 0.06, 0.06), ((a + b) / 2, 0, height - 0.03), "free_wall")
        )
    return merge(out)


def warm_templates() -> None:
    """Build every fence panel (each kind, 0.3-3 m in 5 cm steps) now (see ``warmup.py``)."""
    for kind in FENCE_KINDS:
        for h_cm in range(30, 305, 5):
            _panel_template(kind, h_cm)
    _panel_template("guard_rail", 75)
