"""Parking lots beside the street (road frame; opt-in, ``ClutterConfig.lot_probability``): where
a lot lies and its paving (called by ``roadside.py``, which closes the lot with a frontage), and
the cars side by side in its bays (called by ``placement.py``'s placer). A lot is a row of
``RoadLayout.lots``: [x0, x1, y near, y far, ground z, occupancy]."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from perception3d.sim.clutter_config import ClutterConfig
from perception3d.sim.meshes import Mesh, box

if TYPE_CHECKING:
    from perception3d.sim.placement import _Placer
    from perception3d.sim.roadside import SideFrame

__all__ = ["lot_paving", "lot_span", "place_lot_cars"]


def lot_span(
    f: SideFrame, urban: bool, cfg: ClutterConfig, rng: np.random.Generator
) -> tuple[float, float] | None:
    """The x span (road frame) of a parking lot on this side, or None. Nothing is drawn when
    lots are off, on a kerb strip or on a rural side, so those frames stay as they were."""
    p = cfg.lot_probability
    if p <= 0 or f.kerbside or not urban or rng.uniform() >= p:
        return None
    x0 = float(rng.uniform(*cfg.lot_start_m))
    x1 = x0 + float(rng.uniform(*cfg.lot_length_m))
    if any(a - 3 < x1 and x0 < b + 3 for a, b in f.keep_out):
        return None  # no lot at the corners of a cross street
    return x0, x1


def lot_paving(
    span: tuple[float, float], f: SideFrame, cfg: ClutterConfig, rng: np.random.Generator
) -> tuple[Mesh, tuple[float, ...]]:
    """The lot over ``span``: from the sidewalk's outer edge ``lot_depth_m`` away from the road
    (the caller keeps the terrain flat there and closes the lot on its far side). Returns its
    paving (part ``road``, 1 cm above the flat ground) and its ``RoadLayout.lots`` row."""
    x0, x1 = span
    depth = float(rng.uniform(*cfg.lot_depth_m))
    y_far = f.y_outer + f.side * depth
    top = f.curb_height - 0.01  # 1 cm above the flat ground, 1 cm under the sidewalk
    slab = box((x1 - x0, depth, 0.2), ((x0 + x1) / 2, (f.y_outer + y_far) / 2, top - 0.1), "road")
    occupancy = float(rng.uniform(*cfg.lot_occupancy))
    return slab, (x0, x1, f.y_outer, y_far, top, occupancy)


def place_lot_cars(placer: _Placer) -> None:
    """Cars side by side in each parking lot's bays (``RoadLayout.lots``): rows of bays across
    the road, 2.4-2.8 m wide, a car's length along the road, back to back or facing each other
    across a 5.5-7 m aisle; each bay holds a car (a tenth of them a van) with the lot's
    occupancy, nose in or (30 %) backed in, jittered in its bay. In view or not, they come on
    top of the frame's budgets, like the lot itself. No draw without lots."""
    rng = placer.rng
    for x0, x1, y_near, y_far, z, occupancy in placer.layout.lots:
        s = 1.0 if y_far > y_near else -1.0
        pitch, length = rng.uniform(2.4, 2.8), rng.uniform(4.8, 5.5)
        aisle = rng.uniform(5.5, 7.0)
        bays = int((abs(y_far - y_near) - 0.6) // pitch)
        x, aisle_ahead = x0 + length / 2, True
        while x + length / 2 <= x1:
            for j in range(bays):
                if rng.uniform() >= occupancy:
                    continue
                label = "Van" if rng.uniform() < 0.1 else "Car"
                nose_in = rng.uniform() < 0.7
                heading = (0.0 if aisle_ahead != nose_in else np.pi) + rng.normal(0, 0.03)
                y = y_near + s * (0.3 + (j + 0.5) * pitch) + rng.normal(0, 0.12)
                placer.add(placer.model(label, False), x + rng.normal(0, 0.15), y, heading, z)
            x += length + aisle if aisle_ahead else length
            aisle_ahead = not aisle_ahead
