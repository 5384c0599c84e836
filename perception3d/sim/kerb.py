"""The sidewalk's row along the kerb, where trees at the kerb (``clutter.kerb_tree_probability``)
stand with street lights, sign poles and the furniture nearest the road (bollards, signs, bins).
Road frame (x along the road, m); footprints are axis-aligned [x, y, dx, dy] boxes, as the
obstacle boxes that objects are not placed into.

A tree at the kerb keeps its place (the avenue has no gaps): furniture drawn on its trunk is
left out (``roadside.py``), and a street light or sign pole that falls on it steps aside
(``layout.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["KERB_TREE_IN_M", "TRUNK_FOOTPRINT_M", "clear_of_trunks", "footprints_overlap"]

KERB_TREE_IN_M = 0.6  # a tree at the kerb stands this far inside the sidewalk's road edge
TRUNK_FOOTPRINT_M = 0.6  # a tree's obstacle footprint (square)
_CLEARANCE_M = 0.05  # between a moved pole's footprint and the trunk's


def footprints_overlap(box: np.ndarray, boxes: np.ndarray) -> bool:
    """Whether footprint ``box`` (4,) overlaps any of ``boxes`` (N, 4); False for N = 0."""
    return bool((2 * np.abs(box[:2] - boxes[:, :2]) < box[2:] + boxes[:, 2:]).all(1).any())


def clear_of_trunks(
    x: float, trunks_x: Sequence[float], half_length_m: float, towards: float
) -> float:
    """``x`` of a pole whose footprint is ``2 * half_length_m`` long along the kerb, moved just
    clear of the trunks of trees at the kerb (``trunks_x``) it falls on, towards larger x
    (``towards`` +1) or smaller (-1). Street lights and sign poles move to opposite sides, so
    two poles moved off one trunk do not meet."""
    reach = half_length_m + TRUNK_FOOTPRINT_M / 2
    for tx in sorted(trunks_x, key=lambda t: towards * t):  # in the direction of the move
        if abs(x - tx) < reach:
            x = tx + towards * (reach + _CLEARANCE_M)
    return x
