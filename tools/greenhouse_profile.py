"""Far cars' greenhouse (upper 40 % of the box) per distance bin, measured the same way on
pseudo-labelled real views and on synthetic frames (docs/sim2real.md, "The greenhouse at
range"). Analysis only; nothing is fitted to it.

Per car: its points inside the box's bird's-eye footprint, from 0.05 m above the ground to
0.4 m over the box height, and their height as a fraction of the box height measured two ways:

- from the box bottom (``box``: the statistic of ``tools/car_point_heights.py``), which on
  pseudo-labels carries the teacher's box z error (its far boxes sit 0.2 m low on real cars);
- from the sweep's fitted ground plane under the box centre (``ground``:
  ``experiments.sim2real.ground.fit_ground``, no label), which does not.

A pseudo-labelled root (``perception3d sim2real-pseudo``) holds every sweep turned by 8 angles,
so a car appears in one or two views: ``--dedup-views`` keeps each car once (the view whose
camera axis is closest to it), matching boxes turned back to the sweep within 1.5 m.

Usage:
    python tools/greenhouse_profile.py ROOT [--split train] [--dedup-views] [--bootstrap]
"""

from __future__ import annotations

import re

import numpy as np

from perception3d.cli.common import root_split_parser
from perception3d.data.kitti import KittiObjectDataset
from perception3d.experiments.sim2real.ground import fit_ground, height_above
from perception3d.experiments.sim2real.pseudo import VIEW_ROTATIONS_DEG
from perception3d.geometry.boxes import points_in_boxes

RANGE_BINS_M = ((0, 15), (15, 25), (25, 35), (35, 45), (45, 60))
UPPER_FROM = 0.6  # the greenhouse: upper 40 % of the box
_VIEW_ID = re.compile(r"^r(\d+)v(\d+)_(.+)$")


def _footprint_points(points: np.ndarray, box: np.ndarray, ground_z: float) -> np.ndarray:
    """Points in the box's footprint from ground + 0.05 m to ground + height + 0.4 m."""
    lo = ground_z + 0.05
    hi = max(ground_z + box[5] + 0.4, box[2] + box[5] / 2)
    tall = box.copy()
    tall[2], tall[5] = (lo + hi) / 2, hi - lo
    return points[points_in_boxes(points[:, :3], tall[None]) == 0]


def car_rows(root: str, split: str) -> list[dict]:
    """One row per Car box: frame, view, distance, points, both height fractions, intensity."""
    rows = []
    for frame in KittiObjectDataset(root, split=split):
        sel = frame.names == "Car"
        if not sel.any():
            continue
        pts = frame.points
        fit = fit_ground(pts)
        a, b, c = fit.coeffs
        for box in np.asarray(frame.boxes_lidar[sel], np.float64):
            gz = a * box[0] + b * box[1] + c
            inside = _footprint_points(pts, box, gz)
            ground_frac = height_above(inside, fit) / box[5]
            box_frac = (inside[:, 2] - (box[2] - box[5] / 2)) / box[5]
            rows.append({
                "frame": frame.frame_id, "box": box,
                "distance_m": float(np.hypot(box[0], box[1])), "points": len(inside),
                "ground_frac": np.clip(ground_frac, 0, 1), "box_frac": np.clip(box_frac, 0, 1),
                "intensity": inside[:, 3],
            })  # fmt: skip
    return rows


def dedup_views(rows: list[dict], merge_m: float = 1.5) -> list[dict]:
    """Keep each car of a turned-views root once: the view whose camera axis is closest to it."""
    groups: dict[tuple[str, str], list[tuple[np.ndarray, float, dict]]] = {}
    out = []
    for row in rows:
        m = _VIEW_ID.match(row["frame"])
        if m is None:
            out.append(row)
            continue
        angle = np.radians(VIEW_ROTATIONS_DEG[int(m.group(2))])
        c, s = np.cos(-angle), np.sin(-angle)
        x, y = row["box"][0], row["box"][1]
        centre = np.array([c * x - s * y, s * x + c * y])  # in the unturned sweep
        off_axis = abs(np.arctan2(y, x))
        groups.setdefault((m.group(1), m.group(3)), []).append((centre, off_axis, row))
    for cars in groups.values():
        cars.sort(key=lambda t: t[1])
        kept: list[np.ndarray] = []
        for centre, _, row in cars:
            if all(np.linalg.norm(centre - k) > merge_m for k in kept):
                kept.append(centre)
                out.append(row)
    return out


def _median_share(rows: list[dict], key: str) -> float:
    return float(np.median([np.mean(r[key] >= UPPER_FROM) for r in rows]))


def by_range(rows: list[dict]) -> list[dict]:
    """Per distance bin: cars, median points, median upper share (box- and ground-referenced),
    the share of upper and of lower (ground-referenced) points reading intensity 0."""
    out = []
    for lo, hi in RANGE_BINS_M:
        sel = [r for r in rows if lo <= r["distance_m"] < hi and r["points"]]
        if not sel:
            out.append({"range_m": (lo, hi), "cars": 0})
            continue
        up = np.concatenate([r["intensity"][r["ground_frac"] >= UPPER_FROM] for r in sel])
        low = np.concatenate([r["intensity"][r["ground_frac"] < UPPER_FROM] for r in sel])
        out.append({
            "range_m": (lo, hi), "cars": len(sel),
            "points": float(np.median([r["points"] for r in sel])),
            "upper_box": _median_share(sel, "box_frac"),
            "upper_ground": _median_share(sel, "ground_frac"),
            "upper_zero": float(np.mean(up == 0)) if len(up) else float("nan"),
            "lower_zero": float(np.mean(low == 0)) if len(low) else float("nan"),
        })  # fmt: skip
    return out


def bootstrap(rows: list[dict], draws: int = 1000, seed: int = 0) -> list[dict]:
    """Per distance bin, the 5-95 % interval of the ground-referenced upper share and of the
    upper points' zero share over resamples of the cars (the spread a few cars leave)."""
    rng = np.random.default_rng(seed)
    out = []
    for lo, hi in RANGE_BINS_M:
        sel = [r for r in rows if lo <= r["distance_m"] < hi and r["points"]]
        if len(sel) < 2:
            out.append({"range_m": (lo, hi)})
            continue
        share, zero = [], []
        for _ in range(draws):
            pick = [sel[i] for i in rng.integers(len(sel), size=len(sel))]
            share.append(_median_share(pick, "ground_frac"))
            up = np.concatenate([r["intensity"][r["ground_frac"] >= UPPER_FROM] for r in pick])
            zero.append(np.mean(up == 0) if len(up) else np.nan)
        out.append({
            "range_m": (lo, hi),
            "upper_ground": tuple(np.nanpercentile(share, [5, 95])),
            "upper_zero": tuple(np.nanpercentile(zero, [5, 95])),
        })  # fmt: skip
    return out


def main() -> None:
    parser = root_split_parser(__doc__)
    parser.add_argument("--dedup-views", action="store_true", help="keep each car once")
    parser.add_argument("--bootstrap", action="store_true", help="5-95 %% intervals over cars")
    args = parser.parse_args()
    rows = car_rows(args.root, args.split)
    if args.dedup_views:
        rows = dedup_views(rows)
    print("range m | cars | median points | upper share (box) | upper share (ground) | "
          "upper reading 0 | lower reading 0")  # fmt: skip
    for b in by_range(rows):
        lo, hi = b["range_m"]
        if not b["cars"]:
            print(f"{lo}-{hi} | 0 | - | - | - | - | -")
            continue
        cells = [b["points"], b["upper_box"], b["upper_ground"], b["upper_zero"], b["lower_zero"]]
        print(f"{lo}-{hi} | {b['cars']} | " + " | ".join(f"{v:.2f}" for v in cells))
    if args.bootstrap:
        for b in bootstrap(rows):
            if "upper_ground" in b:
                (a, c), (z0, z1) = b["upper_ground"], b["upper_zero"]
                lo, hi = b["range_m"]
                print(f"{lo}-{hi} m, 5-95 %: upper share {a:.2f}-{c:.2f}, "
                      f"reading 0 {z0:.2f}-{z1:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
