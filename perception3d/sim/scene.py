"""Sampling one frame's scene: static world, objects, sun and sky or night lights, all moved
from the road frame into the LiDAR frame (ego car at the road-frame origin, LiDAR 1.73 m up,
yawed slightly against the road).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from perception3d.geometry.calib import Calibration, boxes_cam_to_lidar
from perception3d.sim import lighting
from perception3d.sim import materials as mat
from perception3d.sim.config import SynthConfig
from perception3d.sim.layout import sample_static_world
from perception3d.sim.meshes import rotation_z
from perception3d.sim.objects import ObjectModel
from perception3d.sim.placement import place_objects
from perception3d.sim.world import Light, Scene, SceneObject, Surface, Transform

__all__ = ["CAMERA_HEIGHT_M", "light_up", "object_in_lidar", "road_frame", "sample_scene"]

CAMERA_HEIGHT_M = 1.65  # KITTI cameras above the road (Geiger et al., IJRR 2013)


def road_frame(
    calib: Calibration,
    yaw_rad: float = 0.0,
    pitch_rad: float = 0.0,
    roll_rad: float = 0.0,
    camera_height_m: float = CAMERA_HEIGHT_M,
) -> Transform:
    """The road-to-LiDAR transform for an ego car standing on the road.

    With zero pitch and roll the road is level in the rectified camera frame, ``camera_height_m``
    below the camera (KITTI's ground plane y = 1.65 m, which its labels follow closely, e.g.
    000008); pitch (about the camera's x axis, positive: the road rises ahead) and roll (about
    its optical axis) tilt it as load and road camber do. The road's x axis is the LiDAR's x
    axis made level, turned by ``-yaw_rad``.
    """
    c, s = np.cos(pitch_rad), np.sin(pitch_rad)
    up_rect = np.array([0.0, -c, -s])  # rect frame: y down, z forward
    c, s = np.cos(roll_rad), np.sin(roll_rad)
    up_rect = np.array(
        [c * up_rect[0] - s * up_rect[1], s * up_rect[0] + c * up_rect[1], up_rect[2]]
    )
    up = calib.rect_to_lidar_matrix[:3, :3] @ up_rect
    up /= np.linalg.norm(up)
    x0 = np.array([1.0, 0.0, 0.0]) - up[0] * up
    x0 /= np.linalg.norm(x0)
    basis = np.stack([x0, np.cross(up, x0), up], axis=1)  # columns: road x, y, z in LiDAR
    rot = basis @ rotation_z(-yaw_rad)
    camera = calib.rect_to_lidar(np.zeros((1, 3)))[0]
    height = camera_height_m - float(up @ camera)  # LiDAR origin above the road
    return Transform(rot, -height * up)


def _moved(surface: Surface, t: Transform) -> Surface:
    return replace(surface, mesh=surface.mesh.transformed(t.rotation, t.translation))


def _view_test(calib: Calibration, road_to_lidar: Transform, width: int):
    """``in_view((x, y))`` for road-frame ground points (1 m above the road)."""

    def in_view(xy: np.ndarray) -> bool:
        p = road_to_lidar.apply(np.array([[xy[0], xy[1], 1.0]]))
        uv, depth = calib.lidar_to_image(p)
        return bool(depth[0] > 1.0 and 0.0 <= uv[0, 0] < width)

    return in_view


def _night_lights(objects, lamps_road, road_to_lidar: Transform) -> list[Light]:
    lights = [
        Light(
            p,
            lighting.STREET_LAMP_INTENSITY,
            -road_to_lidar.rotation[:, 2],  # straight down
            np.cos(np.radians(70)),
            25.0,
        )
        for p in road_to_lidar.apply(lamps_road)
    ]
    for obj in objects:
        if np.any(obj.surface.materials.get("head_light", mat.LAMP_OFF).emission_rgb):
            x, y, z, l, _, h, heading = obj.box_lidar
            axis = np.array([np.cos(heading), np.sin(heading), -0.05])
            pos = np.array([x, y, z - h / 2 + 0.65]) + axis * (l / 2 + 0.1)
            lights.append(
                Light(
                    pos,
                    lighting.HEADLIGHT_INTENSITY,
                    axis / np.linalg.norm(axis),
                    np.cos(np.radians(25)),
                    45.0,
                )
            )
    return lights


def light_up(
    surfaces: list[Surface],
    objects: list[SceneObject],
    lamps_road: np.ndarray,
    road_to_lidar: Transform,
    night: bool,
) -> tuple[list[Surface], list[Light]]:
    """At night: street lamps glow and shine down, vehicles with lights on shine ahead.

    Args:
        surfaces: the static surfaces (LiDAR frame); objects: the scene objects (LiDAR frame).
        lamps_road: (K, 3) lamp positions in the road frame that ``road_to_lidar`` maps.

    Returns:
        The surfaces (lamp parts emitting at night) and the lights (none by day).
    """
    if not night:
        return surfaces, []
    lit = mat.Material(
        mat.LAMP_OFF.albedo_rgb,
        mat.LAMP_OFF.lidar_reflectivity,
        emission_rgb=lighting.STREET_LAMP_EMISSION,
    )
    surfaces = [
        replace(s, materials={**s.materials, "lamp": lit}) if "lamp" in s.materials else s
        for s in surfaces
    ]
    return surfaces, _night_lights(objects, lamps_road, road_to_lidar)


def object_in_lidar(
    model: ObjectModel, box_road: np.ndarray, road_to_lidar: Transform, calib: Calibration
) -> SceneObject:
    """Place ``model`` at the road-frame box ``[x, y, z, l, w, h, heading]`` (centre).

    The label box is exact in the camera frame, where the road is level (see
    :func:`road_frame`); its LiDAR box follows through the calibration, as for real KITTI labels.
    """
    x, y, z, l, w, h, heading = box_road
    rot = road_to_lidar.rotation
    to_road = Transform(rotation_z(heading), np.array([x, y, z - h / 2]))
    to_lidar = Transform(rot @ to_road.rotation, road_to_lidar.apply(to_road.translation[None])[0])
    bottom_rect = calib.lidar_to_rect(to_lidar.translation[None])[0]
    front_rect = calib.lidar_to_rect_matrix[:3, :3] @ (
        rot @ [np.cos(heading), np.sin(heading), 0.0]
    )
    ry = float(np.arctan2(-front_rect[2], front_rect[0]))  # KITTI: front = (cos ry, 0, -sin ry)
    box_cam = np.array([*bottom_rect, l, h, w, ry])
    box_lidar = boxes_cam_to_lidar(box_cam[None], calib)[0]
    return SceneObject(model.label, model.kind, box_lidar, box_cam, _moved(model.surface, to_lidar))


def sample_scene(cfg: SynthConfig, rng: np.random.Generator, calib: Calibration) -> Scene:
    """Sample a driving scene for one frame.

    Args:
        cfg: the dataset config (scene, objects and label sections are used).
        rng: the frame's scene generator (all randomness comes from it).
        calib: camera calibration (objects "in view" are those camera 2 sees).

    Returns:
        A :class:`~perception3d.sim.world.Scene` in the LiDAR frame.
    """
    sc = cfg.scene
    yaw, pitch, roll = np.radians(
        rng.uniform(-1, 1, 3) * [sc.ego_yaw_deg, sc.ego_pitch_deg, sc.ego_roll_deg]
    )
    height = CAMERA_HEIGHT_M + rng.uniform(-1, 1) * sc.camera_height_jitter_m
    road_to_lidar = road_frame(calib, yaw, pitch, roll, height)
    rot = road_to_lidar.rotation
    sky = lighting.sample_sky_light(sc, rng)
    world = sample_static_world(sc, rng, cfg.clutter)
    in_view = _view_test(calib, road_to_lidar, cfg.camera.width)
    placed = place_objects(cfg.objects, cfg.labels, world.layout, in_view, rng, night=sky.night)
    objects = [object_in_lidar(p.model, p.box_road, road_to_lidar, calib) for p in placed]
    surfaces = [_moved(s, road_to_lidar) for s in world.surfaces]
    for p in placed:  # scenery that comes with an object (a bench under a sitting person)
        if p.model.props is not None:
            x, y, z, _, _, h, heading = p.box_road
            to_road = Transform(rotation_z(heading), np.array([x, y, z - h / 2]))
            moved = _moved(p.model.props, to_road)
            surfaces.append(_moved(moved, road_to_lidar))
    surfaces, lights = light_up(surfaces, objects, world.lamps, road_to_lidar, sky.night)
    return Scene(
        surfaces=tuple(surfaces),
        objects=tuple(objects),
        sun_direction=rot @ sky.sun_direction,
        sun_rgb=sky.sun_rgb,
        sky_zenith_rgb=sky.zenith_rgb,
        sky_horizon_rgb=sky.horizon_rgb,
        night=sky.night,
        lights=tuple(lights),
        paint=world.paint,
        road_to_lidar=road_to_lidar,
        layout=world.layout,
    )
