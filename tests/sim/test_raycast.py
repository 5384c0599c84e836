"""Surface lookups at ray hits: procedural road paint against a brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.sim.raycast import _paint_mask
from perception3d.sim.world import RoadPaint


def _reference(paint: RoadPaint, x, y) -> np.ndarray:
    """Every line and crosswalk tested on every point."""
    out = np.zeros(len(x), bool)
    for axis, centre, width, dash, gap, lo, hi in paint.lines:
        along, across = (x, y) if axis == 0 else (y, x)
        on = (np.abs(across - centre) < width / 2) & (along >= lo) & (along <= hi)
        if dash > 0:
            on &= np.mod(along - lo, dash + gap) < dash
        out |= on
    for x0, x1, y0, y1, axis in paint.crosswalks:
        inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        out |= inside & (np.mod(y if axis == 1 else x, 1.0) < 0.5)
    return out


LINES = np.array(
    [
        [0, -1.75, 0.12, 3, 6, -1500, 20],  # a dashed lane line interrupted by a crossing ...
        [0, -1.75, 0.12, 3, 6, 30, 1500],  # ... and continued after it
        [0, 1.75, 0.12, 0, 0, -1500, 1500],  # solid centre line
        [0, 5.05, 0.12, 0, 0, -1500, 1500],  # edge line
        [1, 25, 0.12, 3, 6, 6, 1500],  # the cross street's centre line
    ]
)


@pytest.mark.parametrize("rows", [slice(None), slice(0, 1), [0, 4], [2]])
def test_paint_mask_matches_brute_force(rows, rng):
    paint = RoadPaint(LINES[rows], np.array([[20, 23, -3.5, 7, 1]], float))
    x, y = rng.uniform(-50, 80, 300_000), rng.uniform(-6, 9, 300_000)
    expected = _reference(paint, x, y)
    assert expected.sum() > 1000
    np.testing.assert_array_equal(_paint_mask(paint, x, y), expected)
