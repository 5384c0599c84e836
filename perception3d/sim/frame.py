"""One synthetic frame end to end: scene -> ray-casting geometry -> LiDAR sweep, camera render
-> labels -> 8-bit image. Pure: the result depends only on (config, seed, frame index).

Random streams: frame ``i`` of a dataset with seed ``s`` draws from
``np.random.SeedSequence(s, spawn_key=(i, k))`` (the k-th child that ``SeedSequence(s)``'s
``spawn`` would hand to frame i's k-th consumer): k = 0 scene, 1 LiDAR, 2 split. No state is
shared between frames, so the worker count and order cannot change a byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from perception3d.geometry.calib import Calibration
from perception3d.sim.camera import (
    CameraFrame,
    camera_calibration,
    camera_rig,
    render_camera,
)
from perception3d.sim.config import SynthConfig
from perception3d.sim.labels import FrameLabels, make_labels
from perception3d.sim.lidar import LidarBeams, LidarSweep, lidar_beams, simulate_lidar
from perception3d.sim.raycast import build_geometry
from perception3d.sim.scene import sample_scene
from perception3d.sim.stage_clock import StageClock
from perception3d.sim.tonemap import radiance_to_srgb8
from perception3d.sim.world import Scene

__all__ = ["SynthFrame", "frame_id", "frame_rng", "frame_split", "generate_frame"]

_SCENE, _LIDAR, _SPLIT = 0, 1, 2
RADIANCE_UNITS = "1.0 = a white diffuse surface facing the clear-day sun (docs/synthetic.md)"


def frame_id(index: int) -> str:
    """KITTI-style six-digit id of frame ``index``.

    Example:
        >>> frame_id(8)
        '000008'
    """
    return f"{index:06d}"


def frame_rng(seed: int, index: int, stream: int) -> np.random.Generator:
    """The generator of one random stream of one frame (see module docstring)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index, stream)))


def frame_split(seed: int, index: int, val_fraction: float) -> str:
    """ "train" or "val" for frame ``index`` (independent of every other frame)."""
    return "val" if frame_rng(seed, index, _SPLIT).uniform() < val_fraction else "train"


@dataclass(frozen=True)
class SynthFrame:
    """Everything generated for one frame.

    Attributes:
        frame_id: six-digit id.
        scene: the sampled scene (LiDAR frame).
        calib: calibration written to ``calib/`` (P2 at the image size).
        beams: the laser table the sweep was cast with.
        sweep: points in firing order with rings and instance ids.
        camera: radiance, depth, scene-instance and semantic images.
        labels: label_2 rows and the label-consistent instance map.
        image_srgb: (H, W, 3) uint8 image_2.
        exposure: the default camera model's exposure.
        seconds: wall seconds per stage ("scene", "lidar", ...) and CPU seconds ("cpu_scene"...).
    """

    frame_id: str
    scene: Scene
    calib: Calibration
    beams: LidarBeams
    sweep: LidarSweep
    camera: CameraFrame
    labels: FrameLabels
    image_srgb: np.ndarray
    exposure: float
    seconds: dict = field(default_factory=dict, compare=False)

    def meta(self) -> dict:
        """Per-frame metadata written to ``meta/<id>.json`` (JSON-able)."""
        sc = self.scene
        return {
            "frame_id": self.frame_id,
            "night": bool(sc.night),
            "overcast": bool(not sc.night and not np.any(sc.sun_rgb > 0)),
            "sun_direction_lidar": [round(float(v), 6) for v in sc.sun_direction],
            "sun_rgb": [round(float(v), 6) for v in sc.sun_rgb],
            "sky_zenith_rgb": [float(f"{v:.6g}") for v in sc.sky_zenith_rgb],
            "sky_horizon_rgb": [float(f"{v:.6g}") for v in sc.sky_horizon_rgb],
            "exposure": float(f"{self.exposure:.6g}"),
            "radiance_units": RADIANCE_UNITS,
            "num_points": len(self.sweep.points),
            "objects_in_scene": [o.label for o in sc.objects],
            "lidar_theta_deg": [round(float(v), 4) for v in np.degrees(self.beams.theta_rad)],
            "lidar_head_m": [round(float(v), 4) for v in self.beams.head_m],
            "lidar_azimuth_steps": int(self.beams.azimuth_steps),
        }


def generate_frame(cfg: SynthConfig, index: int) -> SynthFrame:
    """Generate frame ``index`` of the dataset described by ``cfg`` (seed ``cfg.seed``)."""
    clock = StageClock()
    calib = camera_calibration(cfg.camera)
    scene = sample_scene(cfg, frame_rng(cfg.seed, index, _SCENE), calib)
    clock.lap("scene")
    geom = build_geometry(scene)
    clock.lap("geometry")
    beams = lidar_beams(cfg.lidar)
    sweep = simulate_lidar(geom, cfg.lidar, beams, frame_rng(cfg.seed, index, _LIDAR))
    clock.lap("lidar")
    rig = camera_rig(calib, cfg.camera.image_shape_hw)
    camera = render_camera(geom, scene, rig, cfg.camera)
    clock.lap("camera")
    labels = make_labels(scene, camera.instance, calib, rig.rays, cfg.labels)
    clock.lap("labels")
    image, exposure = radiance_to_srgb8(
        camera.radiance, cfg.camera.exposure_key, cfg.camera.max_exposure
    )
    clock.lap("tonemap")
    return SynthFrame(
        frame_id(index), scene, calib, beams, sweep, camera, labels, image, exposure, clock.seconds
    )
