"""One frame of a drive: the plan's world at the frame's time -> the single-frame renderers
(ray-casting geometry, camera, LiDAR with the sensor's motion during the sweep, labels) ->
image, sweep, flow to the next frame. Pure: the result depends only on (config, drive, frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from perception3d.sim.camera import CameraFrame, camera_rig, render_camera
from perception3d.sim.drive.flow import image_flow
from perception3d.sim.drive.plan import DrivePlan, frame_lidar_rng
from perception3d.sim.drive.sweep import compose, sweep_motion
from perception3d.sim.labels import FrameLabels, make_labels
from perception3d.sim.lidar import LidarSweep, lidar_beams, simulate_lidar
from perception3d.sim.raycast import build_geometry
from perception3d.sim.scene import light_up, object_in_lidar
from perception3d.sim.stage_clock import StageClock
from perception3d.sim.tonemap import radiance_to_srgb8
from perception3d.sim.world import Scene, Transform

__all__ = ["DriveFrame", "drive_scene", "generate_drive_frame"]

_SCENE_REACH_M = 150.0  # road users farther from the ego car are left out of a frame's scene


@dataclass(frozen=True)
class DriveFrame:
    """Everything generated for one frame of a drive.

    Attributes:
        index: frame number in the drive.
        time_s: seconds from the drive's first frame.
        scene: the world at ``time_s`` in the LiDAR frame of ``time_s``.
        actor_index: (O,) int64 plan actor of each scene object.
        sweep: the sweep as recorded (each point in the sensor frame of its firing).
        camera: radiance, depth, instance, semantic images of image_02.
        labels: label_2-style rows of the visible objects (occlusion, truncation).
        image_srgb: (H, W, 3) uint8 image_02; exposure: the camera model's exposure.
        flow: (3, H, W) float32 flow to the next frame (``flow.py``), None for the last frame.
        seconds: wall seconds per stage ("scene", "lidar", ...) and CPU seconds ("cpu_scene"...).
    """

    index: int
    time_s: float
    scene: Scene
    actor_index: np.ndarray
    sweep: LidarSweep
    camera: CameraFrame
    labels: FrameLabels
    image_srgb: np.ndarray
    exposure: float
    flow: np.ndarray | None
    seconds: dict = field(default_factory=dict, compare=False)

    @property
    def point_actor(self) -> np.ndarray:
        """(N,) int32 plan actor + 1 hit by each return of the sweep, 0 for the static world."""
        lut = np.concatenate([[0], self.actor_index + 1]).astype(np.int32)
        return lut[self.sweep.instance]


def drive_scene(plan: DrivePlan, t: float) -> tuple[Scene, np.ndarray]:
    """The plan's world at time ``t`` in the LiDAR frame of ``t``.

    Returns:
        The scene and (O,) int64 the plan actor of each of its objects.
    """
    w2l = plan.world_to_lidar(t)
    ego = plan.ego.position(t)
    near = [
        i for i, a in enumerate(plan.actors)
        if np.hypot(*(a.track.position(t)[:2] - ego[:2])) < _SCENE_REACH_M
    ]  # fmt: skip
    objects = [
        object_in_lidar(plan.actors[i].model, plan.actors[i].box_world(t), w2l, plan.calib)
        for i in near
    ]
    surfaces = [
        replace(s, mesh=s.mesh.transformed(w2l.rotation, w2l.translation)) for s in plan.surfaces
    ]
    surfaces, lights = light_up(surfaces, objects, plan.world.lamps, w2l, plan.sky.night)
    sky = plan.sky
    scene = Scene(
        surfaces=tuple(surfaces),
        objects=tuple(objects),
        sun_direction=w2l.rotation @ sky.sun_direction,
        sun_rgb=sky.sun_rgb,
        sky_zenith_rgb=sky.zenith_rgb,
        sky_horizon_rgb=sky.horizon_rgb,
        night=sky.night,
        lights=tuple(lights),
        paint=plan.world.paint,
        road_to_lidar=w2l,
        layout=plan.world.layout,
    )
    return scene, np.array(near, np.int64)


def _box_motion(plan: DrivePlan, actor: int, t0: float, t1: float) -> Transform:
    """World -> world motion of an actor's box from t0 to t1."""
    m0, m1 = plan.actors[actor].track.pose_matrix(t0), plan.actors[actor].track.pose_matrix(t1)
    m = m1 @ np.linalg.inv(m0)
    return Transform(m[:3, :3], m[:3, 3])


def _flow(plan: DrivePlan, frame: int, camera: CameraFrame, actor_index: np.ndarray):
    t0, t1 = plan.frame_time(frame), plan.frame_time(frame + 1)
    w2l0, w2l1 = plan.world_to_lidar(t0), plan.world_to_lidar(t1)
    l0_to_world = w2l0.inverse()
    static = compose(w2l1, l0_to_world)
    motion = {
        k + 1: compose(w2l1, compose(_box_motion(plan, int(a), t0, t1), l0_to_world))
        for k, a in enumerate(actor_index)
    }
    return image_flow(camera.depth_m, camera.instance, plan.calib, static, motion)


def generate_drive_frame(plan: DrivePlan, frame: int) -> DriveFrame:
    """Generate frame ``frame`` of the drive ``plan``."""
    cfg = plan.cfg
    if not 0 <= frame < cfg.frames:
        raise ValueError(f"frame must be in [0, {cfg.frames}), got {frame}")
    clock = StageClock()
    t = plan.frame_time(frame)
    scene, actor_index = drive_scene(plan, t)
    geom = build_geometry(scene)
    clock.lap("scene")
    beams = lidar_beams(cfg.lidar)
    motion = sweep_motion(plan.world_to_lidar, t, cfg.frame_period_s)
    rng = frame_lidar_rng(cfg.seed, plan.index, frame)
    sweep = simulate_lidar(geom, cfg.lidar, beams, rng, motion)
    clock.lap("lidar")
    rig = camera_rig(plan.calib, cfg.camera.image_shape_hw)
    camera = render_camera(geom, scene, rig, cfg.camera)
    clock.lap("camera")
    labels = make_labels(scene, camera.instance, plan.calib, rig.rays, cfg.labels)
    image, exposure = radiance_to_srgb8(
        camera.radiance, cfg.camera.exposure_key, cfg.camera.max_exposure
    )
    clock.lap("labels")
    flow = _flow(plan, frame, camera, actor_index) if frame + 1 < cfg.frames else None
    clock.lap("flow")
    return DriveFrame(
        frame, t, scene, actor_index, sweep, camera, labels, image, exposure, flow, clock.seconds
    )
