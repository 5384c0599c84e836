"""Where in their boxes the points of far cars lie: the height profile of docs/sim2real.md
(row 16). Analysis of labelled frames only; nothing is fitted to it.

Usage:
    python tools/car_point_heights.py ROOT [--split val] [--min-range-m 20]
"""

from __future__ import annotations

import argparse

import numpy as np

from perception3d.data.kitti import KittiObjectDataset
from perception3d.experiments.sim2real.objects import object_points


def height_fractions(root: str, split: str, min_range_m: float) -> np.ndarray:
    """(P,) height of every point inside a Car box at >= min_range_m (horizontal distance from
    the LiDAR), as a fraction of its box height from the bottom (``object_points``'s
    ``height_in_box``, the report's statistic)."""
    out = [np.zeros(0, np.float32)]
    for frame in KittiObjectDataset(root, split=split):
        cars = frame.names == "Car"
        for row in object_points(frame.points, frame.boxes_lidar[cars], frame.names[cars]):
            if row["distance_m"] >= min_range_m:
                out.append(row["height_in_box"])
    return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--split", default="val")
    parser.add_argument("--min-range-m", type=float, default=20.0)
    args = parser.parse_args()
    frac = height_fractions(args.root, args.split, args.min_range_m)
    if not len(frac):
        raise SystemExit(
            f"{args.root}: no Car point at >= {args.min_range_m} m in split {args.split}"
        )
    share = np.histogram(frac, bins=5, range=(0.0, 1.0))[0] / len(frac)
    print(f"{len(frac)} points, mean height {frac.mean():.3f} of the box; share per fifth "
          f"(bottom -> top): {' / '.join(f'{v:.2f}' for v in share)}")  # fmt: skip


if __name__ == "__main__":
    main()
