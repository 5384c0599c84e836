"""Range-image panels show each pixel's value; before/after panels mark what changed."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.geometry.beams import estimate_beam_table
from perception3d.geometry.spherical import RangeImage
from perception3d.viz.bev import BevGrid
from perception3d.viz.range import (
    EMPTY_RGB,
    MASK_RGB,
    changed_points,
    occupied_columns,
    range_panels,
    render_before_after,
    render_range_image,
)
from perception3d.viz.style import FN_RGB, FP_RGB, colormap_rgb


@pytest.fixture(scope="module", params=["real", "synthetic"])
def range_image(request, sweep_frame, synth_frame):
    if request.param == "real":
        table = estimate_beam_table(sweep_frame.points)
        return RangeImage.from_points(sweep_frame.points, table.elevations_rad, 2048, table.ring)
    elevations = np.radians(np.linspace(2.0, -24.9, 64))
    return RangeImage.from_points(synth_frame.points, elevations, 1024)


def test_panels_show_every_pixel(range_image):
    scale = 3
    panels = range_panels(range_image, max_range_m=80.0, row_scale=scale)
    h, w = range_image.range_m.shape
    for p in panels.values():
        assert p.shape == (h * scale, w, 3)
    mask = range_image.mask
    assert 0.02 < mask.mean() < 1.0
    rows = np.arange(h) * scale + scale - 1  # the last copy of each beam row
    mask_panel = panels["mask"][rows]
    assert np.all(mask_panel[mask] == MASK_RGB) and np.all(mask_panel[~mask] == EMPTY_RGB)
    expected = colormap_rgb(range_image.range_m[mask], 0.0, 80.0, "turbo_r")
    np.testing.assert_array_equal(panels["range"][rows][mask], expected)
    assert np.all(panels["intensity"][rows][~mask] == EMPTY_RGB)


def test_titled_panels_and_column_crop(frame8):
    table = estimate_beam_table(frame8.points)
    image = RangeImage.from_points(frame8.points, table.elevations_rad, 2048, table.ring)
    start, stop = occupied_columns(image)
    assert 0 < start < stop < 2048 and stop - start < 700  # the camera FOV, about 90 degrees
    out = render_range_image(image, row_scale=2, columns=(start, stop))
    assert out.shape == (3 * (22 + 64 * 2) + 8, stop - start, 3)
    mask_panel = out[2 * (22 + 128 + 4) + 22 :][1::2]  # third panel, one row per beam
    np.testing.assert_array_equal(np.all(mask_panel == MASK_RGB, axis=2), image.mask[:, start:stop])
    row = render_range_image(image, row_scale=2, columns=(start, stop), side_by_side=True)
    width = stop - start
    assert row.shape == (22 + 128, 3 * width + 8, 3)
    mask_panel = row[22:, 2 * (width + 4) :][1::2]
    np.testing.assert_array_equal(np.all(mask_panel == MASK_RGB, axis=2), image.mask[:, start:stop])


def test_changed_points_exact():
    a = np.array([[1, 2, 3, 0.1], [4, 5, 6, 0.2], [7, 8, 9, 0.3]], np.float32)
    b = np.array([[4, 5, 6, 0.9], [0, 0, 1, 0.5]], np.float32)
    removed, added = changed_points(a, b)
    assert removed.tolist() == [True, False, True] and added.tolist() == [False, True]


def test_before_after_marks_removed_and_added_points(synth_frame):
    grid = BevGrid((0.0, 40.0), (-20.0, 20.0), 0.1)
    before = synth_frame.points
    # A square of whole 0.1 m pixels (e.g. swallowed by fog, off rings): no pixel holds both a
    # lost point and a kept one, whatever stands at its edge.
    lost = (np.abs(before[:, 0] - 15) < 2.0) & (np.abs(before[:, 1] - 5) < 2.0)
    assert lost.sum() > 20
    clutter = np.array([[5.0, 10.0, -1.0, 0.1], [6.0, -10.0, -1.0, 0.1]], np.float32)
    after = np.concatenate([before[~lost], clutter])
    out = render_before_after(before, after, grid=grid, beam_elevations_rad=None)
    assert out.shape == (22 + grid.height, 2 * grid.width + 4, 3)
    left, right = out[22:, : grid.width], out[22:, grid.width + 4 :]
    for pts, panel, color in ((before[lost], left, FP_RGB), (clutter, right, FN_RGB)):
        rc = grid.lidar_to_pixel(pts)
        assert np.all(panel[rc[:, 0], rc[:, 1]] == color)
    assert not np.all(right == FP_RGB, axis=2).any()  # nothing removed is drawn after
    with_range = render_before_after(
        before, after, beam_elevations_rad=np.radians(np.linspace(2.0, -24.9, 64)), grid=grid
    )
    assert with_range.shape[0] > out.shape[0] + 2 * 3 * 64 * 3
