"""How much stands right beside moderate cars: per Car box at 20-45 m, the LiDAR returns 0.2-2.5 m
above its bottom and 0.2-2 m outside it (walls, hedges, fences, other cars), counted and scaled
by (distance / 30 m)^2 so near and far cars compare; the median and the share of cars with >= 64
(docs/synthetic.md, kerbside frontage). Analysis of labelled frames only; nothing is fitted.

Usage:
    python tools/car_context.py ROOT [ROOT ...] [--split val] [--from-m 0.2]

``--from-m 0.05`` counts from 0.05 m outside the box, as docs/sim2real.md's count of row 26 did.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from perception3d.data.kitti import read_split_file, read_velodyne
from perception3d.data.kitti_labels import kitti_difficulty, read_label_file
from perception3d.experiments.sim2real.objects import object_clutter
from perception3d.geometry.calib import Calibration, boxes_cam_to_lidar

MODERATE = 1  # kitti_difficulty's level: 0 easy, 1 moderate
RANGE_M = (20.0, 45.0)
MANY = 64  # returns (scaled to 30 m): a car standing against something


def standing_near(
    points_lidar: np.ndarray, box_lidar: np.ndarray, reach_m: tuple[float, float] = (0.2, 2.0)
) -> int:
    """Returns standing 0.2-2.5 m above the box's bottom whose BEV distance from its footprint
    is beyond ``reach_m[0]`` and within ``reach_m[1]``: `sim2real-report`'s clutter count
    (``perception3d.experiments.sim2real.objects.object_clutter``) for one LiDAR-frame box
    ``[x, y, z (centre), l, w, h, yaw]``."""
    box = np.asarray(box_lidar, np.float64).reshape(1, 7)
    return int(object_clutter(points_lidar, box, within_m=reach_m[1], own_m=reach_m[0])[0])


def scaled_counts(root: Path, split: str, from_m: float = 0.2) -> np.ndarray:
    """Per moderate Car at 20-45 m (horizontal distance from the LiDAR) of the split: its
    ``standing_near`` count (``from_m`` to 2 m outside the box) times (distance / 30 m)^2."""
    out = []
    for fid in read_split_file(root / "ImageSets" / f"{split}.txt"):
        cars = [
            o
            for o in read_label_file(root / "training" / "label_2" / f"{fid}.txt")
            if o.type == "Car" and 0 <= kitti_difficulty(o) <= MODERATE
        ]
        if not cars:
            continue
        calib = Calibration.from_file(root / "training" / "calib" / f"{fid}.txt")
        points = read_velodyne(root / "training" / "velodyne" / f"{fid}.bin")
        for box in boxes_cam_to_lidar(np.array([o.box_cam for o in cars]), calib):
            dist = float(np.hypot(box[0], box[1]))
            if RANGE_M[0] <= dist <= RANGE_M[1]:
                count = standing_near(points, box, (from_m, 2.0))
                out.append(count * (dist / 30.0) ** 2)
    return np.array(out, np.float64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="+", type=Path)
    parser.add_argument("--split", default="val")
    parser.add_argument("--from-m", type=float, default=0.2, help="count from this far out")
    args = parser.parse_args()
    for root in args.roots:
        n = scaled_counts(root, args.split, args.from_m)
        if len(n) == 0:
            print(f"{root}: no moderate Car at {RANGE_M[0]:g}-{RANGE_M[1]:g} m")
            continue
        print(
            f"{root}: cars {len(n)}, median {np.median(n):.1f}, "
            f"share >= {MANY} {np.mean(n >= MANY):.2f}"
        )


if __name__ == "__main__":
    main()
