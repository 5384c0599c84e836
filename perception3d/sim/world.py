"""The data types of a sampled scene: surfaces, objects, lights, road layout and paint.

Two frames appear: the *road frame* (x along the road in the ego car's driving direction, y
left, z up, z = 0 on the road surface) in which layouts are sampled, and the LiDAR frame
(KITTI Velodyne, origin 1.73 m above the road) in which a :class:`Scene` is stored.
``road_to_lidar`` maps the first to the second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from perception3d.sim.materials import Material
from perception3d.sim.meshes import Mesh

__all__ = ["Light", "RoadLayout", "RoadPaint", "Scene", "SceneObject", "Surface", "Transform"]


@dataclass(frozen=True)
class Surface:
    """A mesh with a material and a semantic class id per part.

    Attributes:
        mesh: the geometry (LiDAR frame once in a :class:`Scene`).
        materials: part name -> material.
        semantics: part name -> id in ``SEMANTIC_CLASSES``.
    """

    mesh: Mesh
    materials: Mapping[str, Material]
    semantics: Mapping[str, int]


@dataclass(frozen=True)
class SceneObject:
    """A labelled-class object (vehicle, pedestrian, cyclist).

    Attributes:
        label: KITTI type ("Car", "Van", "Truck", "Pedestrian", "Cyclist").
        kind: body type ("sedan", "hatchback", "suv", "van", "truck", "pedestrian", "cyclist").
        box_lidar: (7,) [x, y, z, dx, dy, dz, heading], the label box (centre), LiDAR frame,
            converted from ``box_cam`` by the calibration.
        box_cam: (7,) [x, y, z, l, h, w, ry], the exact label box in the rectified camera
            frame (bottom centre; the road is level in that frame).
        surface: its mesh and materials (LiDAR frame).
    """

    label: str
    kind: str
    box_lidar: np.ndarray
    box_cam: np.ndarray
    surface: Surface


@dataclass(frozen=True)
class Light:
    """A point or spot light (night scenes).

    Attributes:
        position: (3,) LiDAR frame, metres.
        intensity_rgb: (3,) irradiance at 1 m on-axis, in the units where the clear-day sun
            gives pi at normal incidence (see docs/synthetic.md).
        direction: (3,) unit axis of a spot light, or None for a point light.
        cos_cutoff: cosine of the spot's half angle (ignored for point lights).
        range_m: beyond this distance the light is ignored.
    """

    position: np.ndarray
    intensity_rgb: np.ndarray
    direction: np.ndarray | None = None
    cos_cutoff: float = -1.0
    range_m: float = 40.0


@dataclass(frozen=True)
class Transform:
    """Rigid transform ``x -> rotation @ x + translation``."""

    rotation: np.ndarray
    translation: np.ndarray

    def apply(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) -> (N, 3)."""
        return points @ self.rotation.T + self.translation

    def inverse(self) -> Transform:
        return Transform(self.rotation.T, -self.rotation.T @ self.translation)


@dataclass(frozen=True)
class RoadPaint:
    """Markings painted on road surfaces (road frame).

    Attributes:
        lines: (K, 7) [axis (0: along x, 1: along y), centre, width, dash, gap, lo, hi]; a line
            runs along `axis` from lo to hi, at `centre` on the other axis; dash 0 = solid.
        crosswalks: (C, 5) [x0, x1, y0, y1, axis]: zebra stripes 0.5 m wide every 1.0 m along
            `axis` (the walking direction).
    """

    lines: np.ndarray
    crosswalks: np.ndarray


@dataclass(frozen=True)
class RoadLayout:
    """Where traffic goes (road frame).

    Attributes:
        lanes: (L, 2) [y centre, heading] of the driving lanes (heading 0: ego direction).
        parking: (P, 2) [y centre, heading] of parking lanes.
        road_y: (y_right, y_left) edges of the carriageway.
        sidewalks: (2, 2) [y_inner, y_outer] right side then left side.
        curb_height: sidewalk height above the road, metres.
        intersection: (x centre, width) of a cross street, or None.
        obstacles: (K, 7) [x, y, z, dx, dy, dz, heading] boxes objects must not overlap
            (poles, trunks, fences, walls, hedges, street furniture, the ego car).
        driveways: (D, 4) [x, y, heading, ground z] spots where a car may stand across the
            road's direction, behind an opening in a fence, hedge or wall.
        crosswalks: (C, 5) the zebra crossings (as in :class:`RoadPaint`).
        kerbside: per side (right, left), whether a kerb strip replaces its sidewalk and the
            frontage stands right behind the parked cars
            (``SceneConfig.kerbside_frontage_probability``).
        parking_bay_rad: (P,) per parking lane, the angle between its parked cars and the
            lane (0: nose to tail; pi/2: perpendicular bays;
            ``SceneConfig.bay_parking_probability``); a car in a bay heads
            ``lane heading - angle``, nose towards the kerb.
        lots: (N, 6) [x0, x1, y near, y far, ground z, occupancy] parking lots behind a
            sidewalk (``ClutterConfig.lot_probability``): x span, the edge at the sidewalk and
            the edge away from the road, the paving's height, the chance a bay holds a car.
    """

    lanes: np.ndarray
    parking: np.ndarray
    road_y: tuple[float, float]
    sidewalks: np.ndarray
    curb_height: float
    intersection: tuple[float, float] | None
    obstacles: np.ndarray
    driveways: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    crosswalks: np.ndarray = field(default_factory=lambda: np.zeros((0, 5)))
    kerbside: tuple[bool, bool] = (False, False)
    parking_bay_rad: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lots: np.ndarray = field(default_factory=lambda: np.zeros((0, 6)))


@dataclass(frozen=True)
class Scene:
    """One frame's world, in the LiDAR frame.

    Attributes:
        surfaces: static scenery.
        objects: labelled-class objects, in sampling order.
        sun_direction: (3,) unit vector towards the sun (LiDAR frame).
        sun_rgb: (3,) sun irradiance at normal incidence / pi (1.0: clear-day sun; 0 at night
            or overcast).
        sky_zenith_rgb, sky_horizon_rgb: (3,) sky radiance at the zenith and the horizon.
        night: whether this is a night scene.
        lights: point and spot lights (night).
        paint: road markings; ``road_to_lidar`` maps the road frame to the LiDAR frame.
        layout: the road layout (road frame).
    """

    surfaces: tuple[Surface, ...]
    objects: tuple[SceneObject, ...]
    sun_direction: np.ndarray
    sun_rgb: np.ndarray
    sky_zenith_rgb: np.ndarray
    sky_horizon_rgb: np.ndarray
    night: bool
    lights: tuple[Light, ...]
    paint: RoadPaint
    road_to_lidar: Transform
    layout: RoadLayout
