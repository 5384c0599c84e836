"""Where in their boxes the points of far cars lie: the height profile of docs/sim2real.md
(row 16), and with ``--by-range`` per distance bin the median share of a car's points in the
upper 40 % of its box and the share of those upper points that read intensity 0 ("After row
19"). Analysis of labelled frames only; nothing is fitted to it.

Usage:
    python tools/car_point_heights.py ROOT [--split val] [--min-range-m 20] [--by-range]
"""

from __future__ import annotations

import numpy as np

from perception3d.cli.common import root_split_parser
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


RANGE_BINS_M = ((0, 15), (15, 25), (25, 35), (35, 45), (45, 60))


def upper_by_range(root: str, split: str, upper_from: float = 0.6) -> list[dict]:
    """Per distance bin of RANGE_BINS_M: cars, their median share of points at or above
    ``upper_from`` of the box height, and the share of those upper points reading intensity 0
    (cars without points are left out)."""
    cars: list[tuple[float, np.ndarray, np.ndarray]] = []
    for frame in KittiObjectDataset(root, split=split):
        sel = frame.names == "Car"
        for row in object_points(frame.points, frame.boxes_lidar[sel], frame.names[sel]):
            if row["points"]:
                cars.append((row["distance_m"], row["height_in_box"], row["intensity"]))
    out = []
    for lo, hi in RANGE_BINS_M:
        rows = [(h, i) for d, h, i in cars if lo <= d < hi]
        upper_i = np.concatenate([i[h >= upper_from] for h, i in rows] or [np.zeros(0)])
        out.append({
            "range_m": (lo, hi),
            "cars": len(rows),
            "upper_share": float(np.median([np.mean(h >= upper_from) for h, _ in rows]))
            if rows else float("nan"),
            "upper_zero_intensity": float(np.mean(upper_i == 0)) if len(upper_i) else float("nan"),
        })  # fmt: skip
    return out


def main() -> None:
    parser = root_split_parser(__doc__)
    parser.add_argument("--min-range-m", type=float, default=20.0)
    parser.add_argument("--by-range", action="store_true", help="upper share per distance bin")
    args = parser.parse_args()
    if args.by_range:
        for b in upper_by_range(args.root, args.split):
            lo, hi = b["range_m"]
            share, zero = b["upper_share"], b["upper_zero_intensity"]
            print(f"{lo:2d}-{hi:2d} m: {b['cars']:4d} cars, upper 40 % share {share:.2f}, "
                  f"upper points reading 0: {zero:.2f}")  # fmt: skip
        return
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
