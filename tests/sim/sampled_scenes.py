"""Scenes sampled from the generator's config (no sensor rendered) and their label boxes in the
road frame: the placement tests (bays, kerb strips, crowds, car parks) use them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from perception3d.sim.camera import camera_calibration
from perception3d.sim.config import CameraConfig, load_synth_config
from perception3d.sim.frame import frame_rng
from perception3d.sim.scene import sample_scene
from perception3d.sim.world import Scene

CAMERA = CameraConfig(image_scale=0.5, sky_occlusion=False)
CALIB = camera_calibration(CAMERA)


def sampled_scenes(*overrides: str, seed: int, count: int) -> list[Scene]:
    """Frames 0 .. count - 1 of ``seed`` with the default config and ``overrides`` (KEY=VALUE)."""
    cfg = load_synth_config(None, list(overrides))
    return [sample_scene(cfg, frame_rng(seed, i, 0), CALIB) for i in range(count)]


def road_boxes(scene: Scene, labels: Sequence[str] | None = None) -> np.ndarray:
    """(N, 7) label boxes of ``labels`` (every object when None) in the road frame, heading
    against the road's x axis."""
    to_road = scene.road_to_lidar.inverse()
    yaw = np.arctan2(scene.road_to_lidar.rotation[1, 0], scene.road_to_lidar.rotation[0, 0])
    objects = [o for o in scene.objects if labels is None or o.label in labels]
    boxes = np.array([o.box_lidar for o in objects]).reshape(-1, 7)
    boxes[:, :3] = to_road.apply(boxes[:, :3])
    boxes[:, 6] -= yaw
    return boxes
