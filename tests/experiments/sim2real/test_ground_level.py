"""Ground leveling: the field follows a road that bends away from the near plane, a car's own
returns do not raise it, and leveling then unleveling a box is the identity."""

import numpy as np

from perception3d.experiments.sim2real.ground_level import (
    GroundLevelConfig,
    estimate_ground,
    level_points,
    unlevel_boxes,
)


def _road(k_per_m: float, rng, car_at=None, size=(3.9, 1.6), sill=0.25):
    """Ground returns z = -1.73 + k x^2 over x 2-60 m, |y| < 20, and a block of returns
    (``size`` l x w, up to 1.5 m) standing on it at ``car_at`` (x, y), its lowest return
    ``sill`` above the ground."""
    xy = rng.uniform([2, -20], [60, 20], size=(40000, 2))
    z = -1.73 + k_per_m * xy[:, 0] ** 2 + rng.normal(0, 0.02, len(xy))
    pts = [np.column_stack([xy, z])]
    if car_at is not None:
        x0, y0 = car_at
        # the car hides the ground under it and behind it (its shadow, 3 m here)
        hl, hw = size[0] / 2, size[1] / 2
        hidden = (xy[:, 0] > x0 - hl) & (xy[:, 0] < x0 + hl + 3) & (np.abs(xy[:, 1] - y0) < hw)
        pts = [pts[0][~hidden]]
        ground = -1.73 + k_per_m * x0**2
        car = rng.uniform([x0 - hl, y0 - hw, ground + sill], [x0 + hl, y0 + hw, ground + 1.5],
                          size=(800, 3))  # fmt: skip
        pts.append(car)
    return np.concatenate(pts)


def test_field_follows_a_sag_under_a_truck_and_levels_the_road():
    rng = np.random.default_rng(0)
    k = 2.5e-4  # 0.31 m up at 35 m
    # a truck whose sill is 0.5 m up covers whole cells: its returns must not lift the field
    pts = _road(k, rng, car_at=(35.0, 3.0), size=(9.9, 2.4), sill=0.5)
    surface = estimate_ground(pts)
    near_plane_at_car = np.array([35.0, 3.0]) @ surface.plane[:2] + surface.plane[2]
    truth = -1.73 + k * 35.0**2 - near_plane_at_car
    assert abs(surface.offset_at(np.array([[35.0, 3.0]]))[0] - truth) < 0.06
    road = level_points(pts[:-800], surface)
    resid = road[:, 2] - (road[:, :2] @ surface.plane[:2] + surface.plane[2])
    assert np.sqrt(np.mean(resid**2)) < 0.06 < np.sqrt(np.mean((pts[:-800, 2] + 1.73) ** 2))


def test_flat_ground_is_left_alone_and_boxes_round_trip():
    rng = np.random.default_rng(1)
    pts = _road(0.0, rng, car_at=(20.0, -3.0))
    surface = estimate_ground(pts, GroundLevelConfig())
    grid = rng.uniform([5, -15], [50, 15], size=(200, 2))
    assert np.abs(surface.offset_at(grid)).max() < 0.05
    boxes = np.array([[20.0, -3.0, -0.98, 3.9, 1.6, 1.5, 0.3]])
    leveled = boxes.copy()
    leveled[:, 2] -= surface.offset_at(boxes[:, :2])
    np.testing.assert_allclose(unlevel_boxes(leveled, surface), boxes, atol=1e-9)


def test_no_ground_no_change():
    pts = np.array([[100.0, 100.0, 5.0]])  # outside the grid
    surface = estimate_ground(pts)
    np.testing.assert_array_equal(level_points(pts, surface), pts)
