"""KITTI object-layout roots of drive frames: every detector and evaluator that reads a KITTI
object root (``training/{velodyne,calib,label_2,image_2}``, ``ImageSets/<split>.txt``) runs on
the frames of KITTI raw drives (real or ``perception3d synth-drive``) through one of these.

For each frame of :class:`perception3d.data.drive_frames.DriveDetectionFrames`:

- ``velodyne/<id>.bin`` and ``image_2/<id>.png``: symlinks to the drive's
  ``velodyne_points/data`` sweep and ``image_02/data`` image (the sweep as KITTI's object
  benchmark holds it: the raw sweep, not motion-compensated);
- ``calib/<id>.txt``: the drive's calibration in the object format (P0-P3, R0_rect,
  Tr_velo_to_cam, Tr_imu_to_velo);
- ``label_2/<id>.txt``: the frame's tracklet boxes (:attr:`DriveFrame.objects_in_image`) as
  label rows. 3D box: the tracklet's box at the frame through the calibration (rectified
  camera frame, bottom centre, KITTI's h, w, l). 2D box: KITTI's convention
  (:func:`perception3d.data.label_boxes.kitti_bbox`): the 3D box projected through P2 and
  clipped to the image; drives carry no per-pixel outline, so a person's left / right are the
  projection's too (KITTI's and the single-frame generator's are the narrower outline).
  ``truncated``: 1 - (area of the projected box inside the image) / (its whole area), as the
  generator's label_2 (:mod:`perception3d.sim.labels`); ``occluded``: the tracklet's (0, 1, 2).
  So KITTI's difficulties apply (height, occlusion, truncation). The objects the frames treat
  as DontCare (occlusion unset, or too few returns of the frame's own sweep) are DontCare rows
  with the clipped projection as their region (the generator's carry the visible pixels' box);
- ``ImageSets/<split>.txt``: the ids, six digits in drive and frame order;
- ``drive_frames.json``: per id, the drive frame (``DATE_NNNN_FFFFFFFFFF``) and the tracklet
  index of each label row (DontCare rows included), to count distinct objects: consecutive
  frames see the same objects.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_text, replace_symlink
from perception3d.data.drive_frames import DriveDetectionFrames, DriveFrame
from perception3d.data.kitti_labels import KittiObject, write_label_file
from perception3d.data.label_boxes import kitti_bbox
from perception3d.geometry.boxes import boxes_to_image_2d
from perception3d.geometry.calib import alpha_from_rotation_y, boxes_lidar_to_cam

__all__ = ["FRAMES_FILE", "drive_label_rows", "write_drive_object_root"]

FRAMES_FILE = "drive_frames.json"


def _dontcare(bbox) -> KittiObject:
    return KittiObject(
        "DontCare", -1.0, -1, -10.0, bbox, (-1.0, -1.0, -1.0), (-1000.0, -1000.0, -1000.0), -10.0
    )


def drive_label_rows(frame: DriveFrame) -> tuple[list[KittiObject], list[int]]:
    """label_2 rows of a drive frame (module docstring) and the tracklet index of each row:
    the cared-for objects in tracklet order, then the DontCare rows; objects whose box does
    not project into the image are left out."""
    boxes, names, occlusion, cared = frame.objects_in_image
    tracks = frame.tracklet_index
    if len(boxes) == 0:
        return [], []
    h, w = frame.image_shape
    full, valid = boxes_to_image_2d(boxes, frame.calib, None)
    clipped = np.stack([full[:, 0].clip(0, w - 1), full[:, 1].clip(0, h - 1),
                        full[:, 2].clip(0, w - 1), full[:, 3].clip(0, h - 1)], 1)  # fmt: skip
    area = np.maximum(full[:, 2] - full[:, 0], 1e-9) * np.maximum(full[:, 3] - full[:, 1], 1e-9)
    inside = np.maximum(clipped[:, 2] - clipped[:, 0], 0) * np.maximum(
        clipped[:, 3] - clipped[:, 1], 0
    )
    truncated = np.clip(1.0 - inside / area, 0.0, 1.0)
    boxes_cam = boxes_lidar_to_cam(boxes, frame.calib)  # (M, 7) [x, y, z, l, h, w, ry]
    alpha = alpha_from_rotation_y(boxes_cam[:, 6], boxes_cam[:, :3])
    labelled, ignored = [], []
    for m in np.flatnonzero(valid & (inside > 0)):
        box2d = tuple(float(v) for v in clipped[m])
        if not cared[m]:
            ignored.append((_dontcare(box2d), int(tracks[m])))
            continue
        x, y, z, l, bh, bw, ry = (float(v) for v in boxes_cam[m])
        bbox = kitti_bbox(str(names[m]), full[m], box2d, (h, w))
        row = KittiObject(str(names[m]), float(truncated[m]), int(occlusion[m]),
                          float(alpha[m]), bbox, (bh, bw, l), (x, y, z), ry)  # fmt: skip
        labelled.append((row, int(tracks[m])))
    rows = labelled + ignored
    return [r for r, _ in rows], [t for _, t in rows]


def write_drive_object_root(
    raw_root: str | Path,
    out_root: str | Path,
    split: str = "all",
    frames_per_drive: int | None = None,
    max_drives: int | None = None,
    min_points: int = 1,
    out_split: str = "val",
) -> list[str]:
    """Write the KITTI object root of the frames of ``raw_root``'s drives (module docstring).

    Args:
        raw_root: a KITTI raw root (date folders; ``perception3d synth-drive`` output).
        out_root: the object root to write (files inside are replaced).
        split: ``all`` or an ``ImageSets/<split>.txt`` of drive folder names under ``raw_root``.
        frames_per_drive: the first N frames of each drive (None: all).
        max_drives: the first N drives of the split (None: all).
        min_points: returns of a frame's own sweep a box needs to be a label (else DontCare).
        out_split: name of the written ``ImageSets/<out_split>.txt``.

    Returns:
        The written ids in order.
    """
    frames = DriveDetectionFrames(raw_root, split, min_points=min_points)
    out = Path(out_root)
    dirs = {n: out / "training" / n for n in ("velodyne", "calib", "label_2", "image_2")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    drives = list(frames.drives)[:max_drives]
    keep = [
        f
        for f in frames.ids
        if f[:-11] in drives and (frames_per_drive is None or int(f[-10:]) < frames_per_drive)
    ]
    ids, index = [], {}
    for n, frame_id in enumerate(keep):
        oid = f"{n:06d}"
        frame = frames.frame(frame_id)
        src = frame.drive.dir
        data = f"{frame.index:010d}"
        replace_symlink(src / "velodyne_points" / "data" / f"{data}.bin",
                        dirs["velodyne"] / f"{oid}.bin")  # fmt: skip
        replace_symlink(src / "image_02" / "data" / f"{data}.png", dirs["image_2"] / f"{oid}.png")
        frame.calib.write(dirs["calib"] / f"{oid}.txt")
        rows, tracks = drive_label_rows(frame)
        write_label_file(dirs["label_2"] / f"{oid}.txt", rows)
        ids.append(oid)
        index[oid] = {"frame": frame_id, "tracklets": tracks}
    atomic_write_text(out / "ImageSets" / f"{out_split}.txt", "".join(f"{i}\n" for i in ids))
    atomic_write_text(out / FRAMES_FILE, json.dumps(index, indent=1) + "\n")
    return ids
