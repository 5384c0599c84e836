"""Objects placed together (road frame): vehicles side by side in a lane of bays, and crowds
of people walking together along a sidewalk. Both are opt-in (``scene.bay_parking_probability``,
``objects.crowd_probability``) and called by ``placement.py``'s placer, whose random stream,
layout and collision test they use."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from perception3d.sim.placement import _Placer

__all__ = ["place_bays", "place_crowd"]

_CROWD_TRIES = 30  # anchor ranges drawn for a crowd before giving up
_CROWD_EDGE_M = 0.3  # crowd members' centres stay this far inside a sidewalk's edges


def place_bays(
    placer: _Placer,
    budget: dict[str, int],
    in_view: bool,
    x: float,
    y: float,
    heading: float,
    bay: float,
) -> None:
    """Vehicles side by side in a lane of bays at ``bay`` radians to the road from ``x``
    on: bays 2.4-2.8 m wide (across the car), a fifth of them free, each car centred in
    its bay with some play, nose towards the kerb or (a quarter) backed in."""
    rng = placer.rng
    pitch = float(rng.uniform(2.4, 2.8) / np.sin(bay))  # bay to bay along the road
    misses = 0
    for _ in range(int(rng.integers(3, 13))):
        label = placer.parked_label(budget)
        if budget[label] <= 0 or placer.in_view(np.array([x, y])) != in_view:
            return
        if rng.uniform() < 0.2:  # a free bay
            x += pitch
            continue
        backed = np.pi * (rng.uniform() < 0.25)
        obj = placer.add(
            placer.model(label, False),
            x + pitch / 2 + rng.normal(0, 0.1),
            y + rng.normal(0, 0.15),
            heading + backed + rng.normal(0, 0.04),
        )
        if obj is None:
            misses += 1
            if misses > 2:
                return
        else:
            budget[label] -= 1
        x += pitch


def place_crowd(placer: _Placer, size: int) -> int:
    """Up to ``size`` people walking together along a sidewalk in view, in rows of two to
    four abreast (0.7-1.1 m apart, rows 0.8-1.4 m apart, each position jittered), sharing
    one heading along the street, or facing anywhere when they stand waiting (a quarter
    of crowds); returns how many were placed."""
    lay, rng = placer.layout, placer.rng
    sides = [side for side in (0, 1) if not lay.kerbside[side]]
    if not sides:
        return 0
    lo, hi = sorted(lay.sidewalks[sides[int(rng.integers(len(sides)))]])
    lo, hi = lo + _CROWD_EDGE_M, max(hi - _CROWD_EDGE_M, lo + _CROWD_EDGE_M)
    y0 = (lo + hi) / 2
    for _ in range(_CROWD_TRIES):
        r = placer.range_m(True)
        if r > abs(y0) + 0.5:
            x0 = float(np.sqrt(r * r - y0 * y0))
            if placer.in_view(np.array([x0, y0])):
                break
    else:
        return 0
    heading = float(rng.choice([0.0, np.pi]) + rng.normal(0, 0.08))
    standing = rng.uniform() < 0.25
    dy, dx = rng.uniform(0.7, 1.1), rng.uniform(0.8, 1.4)
    abreast = int(min(rng.integers(2, 5), (hi - lo) // dy + 1))
    count = 0
    for k in range(size):
        row, col = divmod(k, abreast)
        model = placer.model("Pedestrian", False)
        face = rng.uniform(-np.pi, np.pi) if standing else heading + rng.normal(0, 0.12)
        for _ in range(5):
            x = x0 + row * dx + rng.normal(0, 0.2)
            y = y0 + (col - (abreast - 1) / 2) * dy + rng.normal(0, 0.15)
            y = float(np.clip(y, lo, hi))
            if placer.in_view(np.array([x, y])) and placer.add(model, x, y, float(face)):
                count += 1
                break
    return count
