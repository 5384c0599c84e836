"""The smallest whole :class:`Scene` for sensor tests: given surfaces and objects in daylight,
nothing else."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from perception3d.sim.world import RoadLayout, RoadPaint, Scene, SceneObject, Surface, Transform


def bare_scene(
    surfaces: Sequence[Surface],
    sun_direction: np.ndarray,
    road_to_lidar: Transform,
    objects: Sequence[SceneObject] = (),
    road_y: tuple[float, float] = (-5, 5),
) -> Scene:
    """``surfaces`` and ``objects`` (LiDAR frame) under a clear-day sun from ``sun_direction``
    and a fixed sky; no lights, no road markings, a road ``road_y`` wide (road frame) with no
    lanes, sidewalks, intersection or obstacles."""
    layout = RoadLayout(
        np.zeros((0, 2)), np.zeros((0, 2)), road_y, np.zeros((2, 2)), 0.1, None, np.zeros((0, 7))
    )
    paint = RoadPaint(np.zeros((0, 7)), np.zeros((0, 5)))
    return Scene(
        tuple(surfaces), tuple(objects), sun_direction, np.ones(3), np.full(3, 0.1),
        np.full(3, 0.2), False, (), paint, road_to_lidar, layout,
    )  # fmt: skip
