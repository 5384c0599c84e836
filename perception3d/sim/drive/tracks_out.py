"""A frame's tracklet poses: each tracked road user's box in the LiDAR frame with its
occlusion and truncation state, from the rendered frame (raw devkit semantics,
``perception3d.data.kitti_tracklets``)."""

from __future__ import annotations

import numpy as np

from perception3d.data import kitti_tracklets as kt
from perception3d.sim.drive.frame import DriveFrame
from perception3d.sim.drive.plan import DrivePlan
from perception3d.sim.scene import object_in_lidar

__all__ = ["RAW_TYPE", "frame_tracklet_poses"]

RAW_TYPE = {"Person_sitting": "Person (sitting)"}  # object-benchmark type -> raw tracklet type


def _state(frame: DriveFrame, k: int, box_lidar: np.ndarray, plan: DrivePlan) -> tuple[int, int]:
    """(occlusion, truncation) of scene object ``k`` (or of a box outside the scene, k < 0)."""
    labels = frame.labels
    if k >= 0:
        rows = np.flatnonzero(labels.scene_index == k)
        if len(rows) and labels.objects[rows[0]].type != "DontCare":
            row = labels.objects[rows[0]]
            trunc = kt.TRUNCATION_TRUNCATED if row.truncated > 0.01 else kt.TRUNCATION_IN_IMAGE
            return int(row.occluded), trunc
    uv, depth = plan.calib.lidar_to_image(box_lidar[None, :3])
    h, w = frame.camera.depth_m.shape
    if depth[0] <= 0:
        return kt.OCCLUSION_UNSET, kt.TRUNCATION_BEHIND
    if not (0 <= uv[0, 0] < w and 0 <= uv[0, 1] < h):
        return kt.OCCLUSION_UNSET, kt.TRUNCATION_OUT_OF_IMAGE
    if k >= 0 and len(np.flatnonzero(labels.scene_index == k)):  # a DontCare row: too far/small
        return kt.OCCLUSION_UNSET, kt.TRUNCATION_IN_IMAGE
    return 2, kt.TRUNCATION_IN_IMAGE  # in the image, nothing of it visible


def frame_tracklet_poses(plan: DrivePlan, frame: DriveFrame) -> dict[int, list[float]]:
    """Tracked actor -> [tx, ty, tz, rx, ry, rz, occlusion, truncation] at ``frame``.

    Only actors whose tracklet spans the frame (``DrivePlan.tracklet_frames``); (tx, ty, tz) is
    the bottom centre of the label box in the LiDAR frame of the frame's time, rz its heading.
    """
    out = {}
    where = {int(a): k for k, a in enumerate(frame.actor_index)}
    w2l = plan.world_to_lidar(frame.time_s)
    for i, span in enumerate(plan.tracklet_frames):
        if span is None or not span[0] <= frame.index <= span[1]:
            continue
        k = where.get(i, -1)
        if k >= 0:
            box = frame.scene.objects[k].box_lidar
        else:
            actor = plan.actors[i]
            box = object_in_lidar(actor.model, actor.box_world(frame.time_s), w2l, plan.calib)
            box = box.box_lidar
        occ, trunc = _state(frame, k, box, plan)
        x, y, z, _, _, h, heading = (float(v) for v in box)
        out[i] = [x, y, z - h / 2, 0.0, 0.0, heading, occ, trunc]
    return out
