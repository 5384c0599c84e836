"""A drive's plan: its static world, sky, road users and everyone's trajectory, all sampled
before any frame is rendered, so every frame of the drive sees the same world.

Random streams: drive d of seed s draws from ``np.random.SeedSequence(s, spawn_key=(d, k))``:
k = 0 static world, 1 sky, 2 road users, 3 ego car and rig, 4 geolocation; the LiDAR of frame
i uses ``spawn_key=(d, 5, i)`` (``frame_lidar_rng``). Nothing depends on other drives or on
the worker count.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from perception3d.geometry.calib import Calibration
from perception3d.sim import lighting
from perception3d.sim.camera import camera_calibration
from perception3d.sim.drive.config import DriveConfig
from perception3d.sim.drive.track import Track
from perception3d.sim.drive.traffic import Body, IdmParams, simulate
from perception3d.sim.layout import EGO_BOX_ROAD, StaticWorld, sample_static_world
from perception3d.sim.meshes import rotation_z
from perception3d.sim.objects import ObjectModel
from perception3d.sim.placement import PlacedObject, place_objects
from perception3d.sim.scene import CAMERA_HEIGHT_M, road_frame
from perception3d.sim.world import RoadLayout, Surface, Transform

__all__ = ["Actor", "DrivePlan", "drive_rng", "frame_lidar_rng", "plan_drive"]

_VEHICLES = ("Car", "Van", "Truck", "Tram", "Misc")
_KEEP_AHEAD_M = 25.0  # objects of a later placement anchor are kept this far ahead of it
_KARLSRUHE_DEG = (49.01, 8.43)  # where KITTI was recorded (lat, lon)


def drive_rng(seed: int, drive: int, stream: int) -> np.random.Generator:
    """The generator of one random stream of one drive (module docstring)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(drive, stream)))


def frame_lidar_rng(seed: int, drive: int, frame: int) -> np.random.Generator:
    """The LiDAR generator of frame ``frame`` of drive ``drive``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(drive, 5, frame)))


@dataclass(frozen=True)
class Actor:
    """A road user of the drive.

    Attributes:
        model: its KITTI type, body and mesh (object frame, centred in the label box).
        size_lwh_m: (3,) label box length, width, height.
        track: its label box centre and heading over time (world frame).
        mode: "idm", "walk" or "static" (``traffic.Body``).
    """

    model: ObjectModel
    size_lwh_m: np.ndarray
    track: Track
    mode: str

    def box_world(self, t: float) -> np.ndarray:
        """(7,) [x, y, z, l, w, h, heading] label box (centre) at ``t``, world frame."""
        return np.array([*self.track.position(t), *self.size_lwh_m, self.track.yaw(t)])


@dataclass(frozen=True)
class DrivePlan:
    """Everything a drive's frames share.

    Attributes:
        cfg: the drive set's config; index: the drive (0-based).
        calib: the rig's calibration (P2 at the image size).
        world: the static world (world frame = road frame of the start).
        surfaces: static surfaces including objects' props (world frame).
        sky: sun, sky and night.
        actors: the road users, in placement order.
        ego: the ego car's track: the road point under the LiDAR, heading of the LiDAR's level x.
        camera_height_m, pitch_rad, roll_rad: the rig's height and static tilt on the road
            (``scene.road_frame``); the body pitches further with acceleration.
        enu_heading_rad: direction of the world's x axis in East-North-Up (0: east, ccw).
        origin_lat_lon_alt: (3,) geolocation of the world origin (deg, deg, m).
    """

    cfg: DriveConfig
    index: int
    calib: Calibration
    world: StaticWorld
    surfaces: tuple[Surface, ...]
    sky: lighting.SkyLight
    actors: tuple[Actor, ...]
    ego: Track
    camera_height_m: float
    pitch_rad: float
    roll_rad: float
    enu_heading_rad: float
    origin_lat_lon_alt: np.ndarray

    def frame_time(self, frame: int) -> float:
        """Seconds from the first frame (camera trigger, the LiDAR facing forward)."""
        return frame * self.cfg.frame_period_s

    def world_to_lidar(self, t: float) -> Transform:
        """World -> LiDAR frame at time ``t`` (the ego pose, with pitch from acceleration)."""
        x, y, _ = self.ego.position(t)
        yaw = float(self.ego.yaw(t))
        a = self.ego.accel(t)
        a_long = a[0] * np.cos(yaw) + a[1] * np.sin(yaw)
        pitch = self.pitch_rad - self.cfg.ego.pitch_per_accel_rad * a_long
        road_to_lidar = road_frame(self.calib, yaw, pitch, self.roll_rad, self.camera_height_m)
        rot = road_to_lidar.rotation
        return Transform(rot, road_to_lidar.translation - rot @ np.array([x, y, 0.0]))

    @cached_property
    def tracklet_frames(self) -> list[tuple[int, int] | None]:
        """Per actor: (first, last) frame within ``labels.max_distance_m`` of the LiDAR (the
        frames of its tracklet), or None."""
        reach = self.cfg.labels.max_distance_m
        times = [self.frame_time(k) for k in range(self.cfg.frames)]
        ego = np.array([self.ego.position(t) for t in times])  # (F, 3)
        out = []
        for actor in self.actors:
            pos = actor.track.position(np.array(times))  # (F, 3)
            near = np.flatnonzero(np.hypot(*(pos[:, :2] - ego[:, :2]).T) <= reach)
            out.append((int(near[0]), int(near[-1])) if len(near) else None)
        return out


def _in_view(calib: Calibration, width: int, x_shift: float):
    """``in_view((x, y))`` for the camera of an ego car standing at world x = ``x_shift``."""
    road_to_lidar = road_frame(calib)

    def in_view(xy: np.ndarray) -> bool:
        p = road_to_lidar.apply(np.array([[xy[0], xy[1], 1.0]]))
        uv, depth = calib.lidar_to_image(p)
        return bool(depth[0] > 1.0 and 0.0 <= uv[0, 0] < width)

    return in_view


def _shifted(layout: RoadLayout, dx: float, extra: list[np.ndarray]) -> RoadLayout:
    """``layout`` seen from x = dx (x coordinates minus dx), with boxes ``extra`` occupied."""

    def shift(a: np.ndarray, columns: int = 1) -> np.ndarray:
        """A copy of ``a`` with its first ``columns`` x columns moved by -dx."""
        a = np.array(a, np.float64)
        if len(a):
            a[:, :columns] -= dx
        return a

    obstacles = shift(np.vstack([layout.obstacles, *extra]) if extra else layout.obstacles)
    crossing = layout.intersection
    return replace(
        layout,
        obstacles=obstacles,
        driveways=shift(layout.driveways),
        crosswalks=shift(layout.crosswalks, 2),  # x0, x1
        lots=shift(layout.lots, 2),  # x0, x1
        intersection=None if crossing is None else (crossing[0] - dx, crossing[1]),
    )


def _place_along(cfg: DriveConfig, calib, world: StaticWorld, route_m: float, rng, night):
    """Place road users around the route: at the start, then every ``anchor_spacing_m``
    (keeping only what lies ahead of the earlier placements)."""
    placed: list[PlacedObject] = []
    anchors = np.arange(0.0, route_m + 1e-6, cfg.traffic.anchor_spacing_m)
    for a in anchors:
        layout = _shifted(world.layout, float(a), [p.box_road for p in placed])
        view = _in_view(calib, cfg.camera.width, float(a))
        new = place_objects(cfg.objects, cfg.labels, layout, view, rng, night=night)
        for p in new:
            if a > 0 and p.box_road[0] < _KEEP_AHEAD_M:
                continue
            box = p.box_road.copy()
            box[0] += a
            placed.append(PlacedObject(p.model, box))
    return placed


def _body(p: PlacedObject, layout: RoadLayout, cfg: DriveConfig, rng) -> Body:
    """How a placed object moves (module ``traffic``)."""
    x, y, z, l, w, _, heading = p.box_road
    label, tr = p.model.label, cfg.traffic
    xyz = np.array([x, y, z])
    on_road = layout.road_y[0] < y < layout.road_y[1]
    along = abs(np.sin(heading)) < 0.3
    parked = any(abs(y - py) < 1.0 for py, _ in layout.parking)
    if (label in _VEHICLES or label == "Cyclist") and on_road and along and not parked:
        lane_heading = 0.0 if np.cos(heading) >= 0 else np.pi
        speeds = tr.cyclist_speed_mps if label == "Cyclist" else tr.vehicle_speed_mps
        v0 = float(rng.uniform(*speeds))
        return Body(xyz, lane_heading, l, w, "idm", v0, v0 * float(rng.uniform(0.6, 1.0)))
    if label in ("Pedestrian", "Cyclist"):
        speeds = tr.pedestrian_speed_mps if label == "Pedestrian" else tr.cyclist_speed_mps
        speed = float(rng.uniform(*speeds)) * (0.5 if label == "Cyclist" else 1.0)
        if on_road:  # crossing: walk across, stop at the far edge of the road
            up = np.sin(heading) >= 0
            stop = layout.road_y[1] - 0.6 if up else layout.road_y[0] + 0.6
            return Body(xyz, np.pi / 2 if up else -np.pi / 2, l, w, "walk", speed, stop_y_m=stop)
        if rng.uniform() >= tr.standing_pedestrian_fraction:
            return Body(xyz, 0.0 if np.cos(heading) >= 0 else np.pi, l, w, "walk", speed)
    return Body(xyz, float(heading), l, w, "static")


def plan_drive(cfg: DriveConfig, index: int) -> DrivePlan:
    """Sample drive ``index`` of ``cfg`` (seed ``cfg.seed``): world, sky, road users, motion."""
    sc = cfg.scene
    calib = camera_calibration(cfg.camera)
    world = sample_static_world(sc, drive_rng(cfg.seed, index, 0), cfg.clutter)
    sky = lighting.sample_sky_light(sc, drive_rng(cfg.seed, index, 1))
    rng_ego = drive_rng(cfg.seed, index, 3)
    eg = cfg.ego
    v0 = float(rng_ego.uniform(*eg.desired_speed_mps))
    v_start = v0 * float(rng_ego.uniform(*eg.start_speed_fraction))
    pitch, roll = np.radians(rng_ego.uniform(-1, 1, 2) * [sc.ego_pitch_deg, sc.ego_roll_deg])
    height = CAMERA_HEIGHT_M + float(rng_ego.uniform(-1, 1)) * sc.camera_height_jitter_m
    wander = (
        eg.lateral_wander_m,
        float(rng_ego.uniform(*eg.wander_length_m)),
        float(rng_ego.uniform(0, 2 * np.pi)),
    )
    route = cfg.duration_s * v0 + 30.0
    rng = drive_rng(cfg.seed, index, 2)
    placed = _place_along(cfg, calib, world, route, rng, sky.night)
    l_ego, w_ego = EGO_BOX_ROAD[3:5]
    ego = Body(np.zeros(3), 0.0, l_ego, w_ego, "idm", v0, v_start, wander=wander)
    bodies = [ego] + [_body(p, world.layout, cfg, rng) for p in placed]
    params = IdmParams(eg.max_accel_mps2, eg.comfort_decel_mps2, eg.time_headway_s, eg.min_gap_m)
    half_sweep = 0.5 * cfg.frame_period_s
    tracks = simulate(bodies, params, -2 * half_sweep, cfg.duration_s + 3 * half_sweep)
    actors = tuple(
        Actor(p.model, np.asarray(p.model.size, np.float64), tr, b.mode)
        for p, b, tr in zip(placed, bodies[1:], tracks[1:])
    )
    surfaces = list(world.surfaces)
    for p in placed:  # scenery that comes with an object (a bench under a sitting person)
        if p.model.props is not None:
            x, y, z, _, _, h, heading = p.box_road
            mesh = p.model.props.mesh.transformed(rotation_z(heading), (x, y, z - h / 2))
            surfaces.append(replace(p.model.props, mesh=mesh))
    geo = drive_rng(cfg.seed, index, 4)
    origin = np.array(
        [*(np.array(_KARLSRUHE_DEG) + geo.uniform(-0.02, 0.02, 2)), geo.uniform(110.0, 125.0)]
    )
    return DrivePlan(
        cfg, index, calib, world, tuple(surfaces), sky, actors, tracks[0], height,
        float(pitch), float(roll), float(geo.uniform(-np.pi, np.pi)), origin,
    )  # fmt: skip
