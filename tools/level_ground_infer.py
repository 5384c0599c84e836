"""A LiDAR detector over a KITTI root's split, on ground-leveled points
(`perception3d.experiments.sim2real.ground_level`): each sweep's ground field is estimated
without labels, the points are leveled, the detector runs, its boxes are moved back by the
field at their centres, and the rows are written as `perception3d infer` writes them (image_2's
view, 4 decimals). ``--no-level`` runs the same path on the raw points (the control).
Evaluate with ``perception3d eval kitti``. The experiment is docs/sim2real.md, "Row 46a".

Usage:
    python tools/level_ground_infer.py CONFIG CHECKPOINT ROOT OUT [--split val] [--no-level]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from perception3d.data.kitti import KittiObjectDataset, write_result_file
from perception3d.engine.detect import Detector
from perception3d.engine.infer import detections_to_objects
from perception3d.experiments.sim2real.ground_level import (
    estimate_ground,
    level_points,
    unlevel_boxes,
)
from perception3d.models.detector import Detections


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", help="the detector's training config (YAML)")
    ap.add_argument("checkpoint", help="its .pt file")
    ap.add_argument("root", help="KITTI-layout root")
    ap.add_argument("out", type=Path, help="folder for the KITTI result files")
    ap.add_argument("--split", default="val", help="ImageSets name, or training")
    ap.add_argument("--no-level", action="store_true", help="detect on the raw points")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    detector = Detector.from_checkpoint(args.config, args.checkpoint, device=args.device)
    frames = KittiObjectDataset(args.root, split=args.split)
    args.out.mkdir(parents=True, exist_ok=True)
    for frame_id in frames.ids:
        frame = frames.frame(frame_id)
        points = frame.points
        surface = None if args.no_level else estimate_ground(points)
        if surface is not None:
            points = level_points(points, surface)
        dets = detector(points, frame.calib)
        boxes = dets.boxes_lidar if surface is None else unlevel_boxes(dets.boxes_lidar, surface)
        found = Detections(
            torch.from_numpy(np.ascontiguousarray(boxes, np.float32)),
            torch.from_numpy(dets.scores),
            torch.from_numpy(dets.labels),
        )
        rows = detections_to_objects(found, detector.classes, frame.calib, frame.image_shape)
        write_result_file(args.out / f"{frame_id}.txt", rows)
    print(f"{len(frames.ids)} frames -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
