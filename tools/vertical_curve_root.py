"""A copy of a KITTI-layout root whose every frame is bent by a vertical curve of the road
(`perception3d.lidar.global_aug.vertical_curve`: z += k x^2 in the LiDAR frame, k drawn per frame
uniform in [-max_k, max_k]): the sweeps and the label boxes' centres move together, sizes,
headings and 2D boxes stay. A held-out synthetic root bent this way measures how a detector
copes with grade changes ahead, which the generator's planar roads lack (docs/sim2real.md,
"Rows 44-45"); real KITTI drives bend by |k| up to about 3e-4 /m.

Usage:
    python tools/vertical_curve_root.py ROOT OUT [--split val] [--max-k 3e-4] [--seed 0]

``--split`` is an ImageSets name or a ``.txt`` split file. OUT gets the split's frames with
`training/velodyne` and `training/label_2` rewritten, `calib` and `image_2` linked to ROOT's
files, the frame list as `ImageSets/val.txt`, and `curve.json` (the k of every frame).
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from perception3d.data.kitti import read_split_file, read_velodyne, split_path, write_velodyne
from perception3d.data.kitti_labels import read_label_file, write_label_file
from perception3d.data.sample import LidarSample
from perception3d.geometry.calib import Calibration
from perception3d.lidar.global_aug import vertical_curve


def bend_frame(points: np.ndarray, objects, calib: Calibration, k_per_m: float):
    """One frame bent by :func:`vertical_curve`: the points, and the label rows with each box's
    bottom centre moved with them (a box of the curve's sample per row, at that centre in the
    LiDAR frame); DontCare rows unchanged. Returns ``(points, rows)``."""
    cared = [obj for obj in objects if not obj.is_dontcare]
    boxes = np.zeros((len(cared), 7))
    boxes[:, :3] = calib.rect_to_lidar(np.array([o.location for o in cared]).reshape(-1, 3))
    names = np.array([o.type for o in cared], dtype=object)
    bent = vertical_curve(LidarSample("", points, boxes, names), k_per_m)
    located = iter(calib.lidar_to_rect(bent.boxes_lidar[:, :3]))
    rows = [obj if obj.is_dontcare else
            replace(obj, location=tuple(float(v) for v in next(located)), decimals=None)
            for obj in objects]  # fmt: skip
    return bent.points, rows


def bend_root(root: Path, out: Path, ids: list[str], max_k: float, seed: int) -> dict[str, float]:
    """Write the bent copy of ``root``'s frames ``ids`` to ``out``; returns frame id -> k."""
    rng = np.random.default_rng(seed)
    ks = {fid: float(k) for fid, k in zip(ids, rng.uniform(-max_k, max_k, len(ids)))}
    src, dst = root / "training", out / "training"
    for d in ("velodyne", "label_2", "calib", "image_2"):
        (dst / d).mkdir(parents=True, exist_ok=True)
    (out / "ImageSets").mkdir(parents=True, exist_ok=True)
    (out / "ImageSets" / "val.txt").write_text("".join(f"{i}\n" for i in ids))
    for fid, k in ks.items():
        for d, ext in (("calib", "txt"), ("image_2", "png")):
            link, target = dst / d / f"{fid}.{ext}", (src / d / f"{fid}.{ext}").resolve()
            if target.exists() and not link.exists():
                os.symlink(target, link)
        points, rows = bend_frame(
            read_velodyne(src / "velodyne" / f"{fid}.bin"),
            read_label_file(src / "label_2" / f"{fid}.txt"),
            Calibration.from_file(src / "calib" / f"{fid}.txt"),
            k,
        )
        write_velodyne(dst / "velodyne" / f"{fid}.bin", points)
        write_label_file(dst / "label_2" / f"{fid}.txt", rows, 4)
    (out / "curve.json").write_text(json.dumps({"max_k_per_m": max_k, "seed": seed, "k": ks}))
    return ks


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--split", default="val", help="ImageSets/<split>.txt, or a split file")
    ap.add_argument("--max-k", type=float, default=3e-4, help="largest |k|, 1/m")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    split = split_path(args.root, args.split)
    if not split.is_file():
        ap.error(f"--split: {split} not found (an ImageSets name such as val, or a .txt file)")
    if args.out.resolve() == args.root.resolve():
        ap.error("OUT must differ from ROOT")
    ks = bend_root(args.root, args.out, read_split_file(split), args.max_k, args.seed)
    print(f"{len(ks)} frames bent into {args.out} (|k| <= {args.max_k:g} /m)")


if __name__ == "__main__":
    main()
