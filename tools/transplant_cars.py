"""Is a real object scored low for its own points or for what surrounds it? A transplant
(docs/sim2real.md, "Rows 24-26"): each counted (moderate) real object of ``--cls`` (default Car)
beyond ``--min-range-m`` is swapped with synthetic objects of the class at about the same range,
in both directions. The donor's standing points (more than 0.15 m above its box bottom, box
grown by ``--grow-m`` in length and width: 0.3 m for cars, 0.1 m for people so a neighbour in a
group stays out) are turned about the sensor's z axis to the other object's azimuth, bottoms
aligned, and replace that object's. Score = the detector's highest score of the class among its
boxes with BEV IoU >= 0.5 with the moved object's box (0 if none). Analysis only: it decides
nothing and fits nothing.

Per real object it prints the median over its donors of: the real object in its own sweep; the
real object in the synthetic sweeps; the synthetic objects in their own sweeps; the synthetic
objects in the real sweep; the same with the real standing returns within ``--radius-m``
removed; the same with the real ground there removed instead.

Usage:
    python tools/transplant_cars.py CONFIG WEIGHTS --real ROOT --synth ROOT [--split val]
        [--cls Car] [--min-range-m 20] [--donors 6] [--range-tolerance-m 2.5] [--radius-m 6]
        [--grow-m M] [--set K=V]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from perception3d.data.kitti import read_split_file, read_velodyne
from perception3d.data.kitti_labels import kitti_difficulty, read_label_file
from perception3d.geometry.boxes import points_in_boxes
from perception3d.geometry.calib import Calibration, boxes_cam_to_lidar
from perception3d.geometry.iou import bev_iou_lidar

MODERATE = 1
GROW_M = {"Car": 0.3, "Pedestrian": 0.1, "Cyclist": 0.1}  # default growth (length, width)
GROUND_M = 0.15  # returns this close above the box bottom are ground, not the object
LOW_M = 0.2  # "ground" when removing the surroundings: within this above the box bottom


COLUMNS = (
    "real_own",
    "real_in_synth",
    "synth_own",
    "synth_in_real",
    "without_standing",
    "without_ground",
)


def counted_objects(root: Path, frame: str, cls: str = "Car") -> tuple[Calibration, np.ndarray]:
    """The frame's calibration and its counted moderate boxes of ``cls``, (M, 7) LiDAR frame."""
    objects = read_label_file(root / "training" / "label_2" / f"{frame}.txt")
    calib = Calibration.from_file(root / "training" / "calib" / f"{frame}.txt")
    boxes = [o.box_cam for o in objects if o.type == cls and 0 <= kitti_difficulty(o) <= MODERATE]
    if not boxes:
        return calib, np.zeros((0, 7))
    return calib, boxes_cam_to_lidar(np.array(boxes, np.float64), calib)


def object_mask(
    points_lidar: np.ndarray, box_lidar: np.ndarray, grow_m: float = GROW_M["Car"]
) -> np.ndarray:
    """(N,) bool: the object's standing returns: inside the box grown by ``grow_m`` in length
    and width, more than ``GROUND_M`` above its bottom."""
    grown = np.asarray(box_lidar, np.float64).copy()
    grown[3:5] += grow_m
    inside = points_in_boxes(points_lidar[:, :3], grown[None]) == 0
    return inside & (points_lidar[:, 2] > box_lidar[2] - box_lidar[5] / 2 + GROUND_M)


def _turn_z(xy: np.ndarray, angle_rad: float) -> np.ndarray:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.stack([c * xy[:, 0] - s * xy[:, 1], s * xy[:, 0] + c * xy[:, 1]], axis=1)


def move_object(
    points_lidar: np.ndarray, box_from: np.ndarray, box_to: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The object's points and box turned about the sensor's z axis from ``box_from``'s azimuth
    to ``box_to``'s (so its range, and the side the sensor sees, stay), lifted so its box bottom
    sits on ``box_to``'s. Returns (points (N, C), box (7,)), LiDAR frame."""
    box_from = np.asarray(box_from, np.float64)
    box_to = np.asarray(box_to, np.float64)
    angle = float(np.arctan2(box_to[1], box_to[0]) - np.arctan2(box_from[1], box_from[0]))
    lift = (box_to[2] - box_to[5] / 2) - (box_from[2] - box_from[5] / 2)
    moved = points_lidar.copy()
    moved[:, :2] = _turn_z(points_lidar[:, :2], angle)
    moved[:, 2] += lift
    box = box_from.copy()
    box[:2] = _turn_z(box_from[None, :2], angle)[0]
    box[2] += lift
    box[6] += angle
    return moved, box


def object_score(
    detector, points_lidar: np.ndarray, calib: Calibration, box_lidar, cls: str = "Car"
) -> float:
    """The detector's highest ``cls`` score among its boxes with BEV IoU >= 0.5 with the box."""
    det = detector(points_lidar, calib)
    of_cls = det.names == cls
    if not of_cls.any():
        return 0.0
    iou = bev_iou_lidar(np.asarray(box_lidar, np.float64)[None], det.boxes_lidar[of_cls])[0]
    return float(det.scores[of_cls][iou >= 0.5].max()) if (iou >= 0.5).any() else 0.0


def transplant(detector, real: Path, synth: Path, args: argparse.Namespace) -> list[dict]:
    """One row per counted real object beyond ``args.min_range_m``: the six medians above."""
    cls = args.cls
    grow = GROW_M[cls] if args.grow_m is None else args.grow_m

    def score(points, calib, box):
        return object_score(detector, points, calib, box, cls)

    donors = []  # (frame, its calibration, one counted box)
    for frame in read_split_file(synth / "ImageSets" / f"{args.split}.txt"):
        calib, boxes = counted_objects(synth, frame, cls)
        donors += [(frame, calib, b) for b in boxes]
    rows = []
    for frame in read_split_file(real / "ImageSets" / f"{args.split}.txt"):
        real_calib, real_boxes = counted_objects(real, frame, cls)
        real_pts = read_velodyne(real / "training" / "velodyne" / f"{frame}.bin")
        for k, rb in enumerate(real_boxes):
            dist = float(np.hypot(rb[0], rb[1]))
            if dist < args.min_range_m:
                continue
            rmask = object_mask(real_pts, rb, grow)
            near = np.hypot(real_pts[:, 0] - rb[0], real_pts[:, 1] - rb[1]) < args.radius_m
            low = real_pts[:, 2] < rb[2] - rb[5] / 2 + LOW_M
            chosen = [
                d
                for d in donors
                if abs(float(np.hypot(d[2][0], d[2][1])) - dist) < args.range_tolerance_m
            ][: args.donors]
            cols: dict[str, list[float]] = {c: [] for c in COLUMNS[1:]}
            for sframe, scalib, sb in chosen:
                spts = read_velodyne(synth / "training" / "velodyne" / f"{sframe}.bin")
                smask = object_mask(spts, sb, grow)
                cols["synth_own"].append(score(spts, scalib, sb))
                p, b = move_object(spts[smask], sb, rb)
                for col, drop in (
                    ("synth_in_real", np.zeros_like(rmask)),
                    ("without_standing", near & ~low),
                    ("without_ground", near & low),
                ):
                    sweep = np.concatenate([real_pts[~rmask & ~drop], p])
                    cols[col].append(score(sweep, real_calib, b))
                p, b = move_object(real_pts[rmask], rb, sb)
                sweep = np.concatenate([spts[~smask], p])
                cols["real_in_synth"].append(score(sweep, scalib, b))
            row = {"frame": frame, "object": k, "distance_m": dist, "points": int(rmask.sum())}
            row["real_own"] = score(real_pts, real_calib, rb)
            row.update({c: float(np.median(v)) if v else None for c, v in cols.items()})
            row["donors"] = len(chosen)
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    from perception3d.engine.detect import Detector

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", help="model config YAML (configs/models/...)")
    ap.add_argument("weights", help="checkpoint or shipped weights file")
    ap.add_argument("--real", type=Path, required=True, help="labelled real KITTI root")
    ap.add_argument("--synth", type=Path, required=True, help="labelled synthetic KITTI root")
    ap.add_argument("--split", default="val", help="ImageSets/<split>.txt of both roots")
    ap.add_argument("--cls", default="Car", choices=sorted(GROW_M), help="KITTI class")
    ap.add_argument("--min-range-m", type=float, default=20.0)
    ap.add_argument("--donors", type=int, default=6, help="synthetic objects per real object")
    ap.add_argument("--range-tolerance-m", type=float, default=2.5)
    ap.add_argument("--radius-m", type=float, default=6.0, help="surroundings removed within")
    ap.add_argument("--grow-m", type=float, default=None, help="box growth (default per class)")
    ap.add_argument("--set", action="append", default=[], help="config override KEY=VALUE")
    args = ap.parse_args(argv)
    detector = Detector.from_checkpoint(args.config, args.weights, device="cpu", overrides=args.set)
    rows = transplant(detector, args.real, args.synth, args)
    print("frame  object  distance  points  donors  " + "  ".join(COLUMNS))
    for r in rows:
        vals = "  ".join("-" if r[c] is None else f"{r[c]:.2f}" for c in COLUMNS)
        head = f"{r['frame']} {r['object']:6d} {r['distance_m']:7.1f} m {r['points']:6d}"
        print(f"{head} {r['donors']:5d}  {vals}")
    if rows:
        med = [np.median([r[c] for r in rows if r[c] is not None]) for c in COLUMNS]
        print("median" + " " * 33 + "  ".join(f"{m:.2f}" for m in med))


if __name__ == "__main__":
    main()
