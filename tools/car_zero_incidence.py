"""The share of car returns reading exactly 0 per incidence angle, upper (greenhouse: the top
40 % of the box) and lower body apart, on a labelled or pseudo-labelled root
(docs/sim2real.md, "Exact zeros in the sensor fit"). Analysis only; nothing is fitted to it.

Incidence comes from the range image's neighbours (`experiments.sim2real.raydrop.incidence_deg`,
the report's ray-drop statistic); cars within 35 m; heights from the box bottom. A
pseudo-labelled root holds each sweep in several turned views, so a car may count twice.

Usage:
    python tools/car_zero_incidence.py ROOT [--max-frames N]
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

from perception3d.experiments.sim2real import raydrop
from perception3d.experiments.sim2real.sweeps import RANGE_IMAGE_WIDTH, load_sweeps
from perception3d.geometry.boxes import points_in_boxes

INCIDENCE_EDGES_DEG = np.array([0.0, 30.0, 50.0, 65.0, 80.0, 90.1])
MAX_DISTANCE_M = 35.0
UPPER_FROM = 0.6  # fraction of the box height


def zero_by_incidence(root: str, max_frames: int | None = None) -> dict[str, np.ndarray]:
    """{"upper", "lower"}: (2, B) returns reading 0 and all returns per incidence bin."""
    sweeps, _ = load_sweeps(root, "cars", max_frames=max_frames)
    out = {k: np.zeros((2, len(INCIDENCE_EDGES_DEG) - 1)) for k in ("upper", "lower")}
    for s in sweeps:
        cars = s.boxes_lidar[s.names.astype(str) == "Car"]
        cars = cars[np.hypot(cars[:, 0], cars[:, 1]) < MAX_DISTANCE_M]
        if not len(cars):
            continue
        img = raydrop.range_image(s.points, s.rows, RANGE_IMAGE_WIDTH)
        per_point = np.full(len(s.points), np.nan)
        per_point[img.point_index[img.mask]] = raydrop.incidence_deg(img, s.points)[img.mask]
        owner = points_in_boxes(s.points[:, :3], cars)
        for k, box in enumerate(cars):
            sel = owner == k
            frac = (s.points[sel, 2] - (box[2] - box[5] / 2)) / box[5]
            zero = s.points[sel, 3] < 0.005
            b = np.digitize(per_point[sel], INCIDENCE_EDGES_DEG) - 1
            ok = (b >= 0) & (b < len(INCIDENCE_EDGES_DEG) - 1)
            for name, part in (("upper", frac >= UPPER_FROM), ("lower", frac < UPPER_FROM)):
                m = part & ok
                np.add.at(out[name][0], b[m], zero[m])
                np.add.at(out[name][1], b[m], 1)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root")
    parser.add_argument("--max-frames", type=int, default=None)
    args = parser.parse_args()
    edges = INCIDENCE_EDGES_DEG
    print(
        "incidence deg | "
        + " | ".join(f"{a:.0f}-{min(b, 90):.0f}" for a, b in itertools.pairwise(edges))
    )
    for name, (zero, total) in zero_by_incidence(args.root, args.max_frames).items():
        cells = [f"{z / n:.2f} ({n:.0f})" if n else "-" for z, n in zip(zero, total)]
        print(f"{name} reading 0 | " + " | ".join(cells))
