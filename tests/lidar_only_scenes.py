"""A tiny generated LiDAR-only dataset with custom classes (``data.format: lidar``): a flat
ground and box-shaped objects all around the sensor, exact labels in the LiDAR frame, point
clouds as .bin and .npy files. Not a LiDAR simulation: enough for a detector to learn."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from perception3d.data.kitti import write_velodyne
from perception3d.data.lidar_folder import write_lidar_labels
from tests.toy_scenes import GROUND_Z_M, box_surface_points, clear_of, ground_box

SIZES = {"Crate": (1.2, 1.2, 1.0), "Trailer": (6.0, 2.4, 2.5)}


def make_lidar_only_scene(rng: np.random.Generator, radius_m: float = 10.0):
    """Points (N, 4) float32 and (boxes (M, 7), names (M,)) of one 360-degree scene."""
    boxes, names = [], []
    for _ in range(40):
        if len(boxes) >= 4:
            break
        name = ("Crate", "Trailer")[len(boxes) % 2]
        size_m = np.array(SIZES[name]) * rng.uniform(0.95, 1.05, 3)
        r, azimuth = rng.uniform(3.5, radius_m - 3.5), rng.uniform(-np.pi, np.pi)
        box = ground_box(r * np.cos(azimuth), r * np.sin(azimuth), size_m, rng)
        if not clear_of(boxes, box, 7.0):
            continue
        boxes.append(box)
        names.append(name)
    ground = np.stack(
        [
            rng.uniform(-radius_m - 2, radius_m + 2, 4000),
            rng.uniform(-radius_m - 2, radius_m + 2, 4000),
            np.full(4000, GROUND_Z_M),
            rng.uniform(0.1, 0.3, 4000),
        ],
        axis=1,
    )
    objects = [box_surface_points(b, rng, int(40 * b[3] * b[4]) + 150) for b in boxes]
    points = np.concatenate([ground, *objects]).astype(np.float32)
    return points, np.array(boxes).reshape(-1, 7), np.array(names, dtype=object)


def write_lidar_only(root: Path, num_frames: int, seed: int = 0) -> Path:
    """Write ``num_frames`` scenes: ``points/`` (.npy for odd frames, else .bin), ``labels/``,
    ``ImageSets/train.txt`` = ``val.txt`` = all frames. Returns ``root``."""
    rng = np.random.default_rng(seed)
    (root / "points").mkdir(parents=True, exist_ok=True)
    (root / "ImageSets").mkdir(exist_ok=True)
    ids = [f"scan_{i:03d}" for i in range(num_frames)]
    for i, fid in enumerate(ids):
        points, boxes, names = make_lidar_only_scene(rng)
        if i % 2:
            np.save(root / "points" / f"{fid}.npy", points)
        else:
            write_velodyne(root / "points" / f"{fid}.bin", points)
        write_lidar_labels(root / "labels" / f"{fid}.txt", boxes, names)
    for split in ("train", "val"):
        (root / "ImageSets" / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
    return root
