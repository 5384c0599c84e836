"""A tiny ray caster for synthetic sweeps: the scanner's rays against a ground plane and boxes.

Every ray (beam k, column c) starts at its laser head (0, 0, h_k) with elevation theta_k and the
column's centre azimuth, so each return lies exactly on the scanner's beam cone; the first
surface along the ray wins. Used where a test needs the scan a real sensor would give of a known
scene (e.g. the same car at two ranges).
"""

from __future__ import annotations

import numpy as np

from perception3d.data.gt_database import GtDatabase
from perception3d.lidar.scanner import ScannerModel

GROUND_Z_M = -1.73  # KITTI: the HDL-64E is about 1.73 m above the road (REFERENCE.md)


def ray_directions(scanner: ScannerModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Origins (R, 3), unit directions (R, 3) and (row, col) (R, 2) of all H * W rays."""
    rows, cols = np.divmod(np.arange(scanner.num_beams * scanner.width), scanner.width)
    theta = np.arctan(scanner.tan_elevation[rows])
    az = scanner.column_azimuth(cols)
    dirs = np.stack([np.cos(theta) * np.cos(az), np.cos(theta) * np.sin(az), np.sin(theta)], 1)
    origins = np.zeros((len(rows), 3))
    origins[:, 2] = scanner.head_height_m[rows]
    return origins, dirs, np.stack([rows, cols], 1)


def raycast(
    scanner: ScannerModel,
    boxes_lidar: np.ndarray,
    box_intensity: float = 0.5,
    ground_intensity: float = 0.25,
    max_range_m: float = 80.0,
    ground: bool = True,
) -> np.ndarray:
    """(N, 4) float32 sweep of a flat ground at GROUND_Z_M and solid boxes."""
    origins, dirs, _ = ray_directions(scanner)
    hit_t = np.full(len(dirs), np.inf)
    hit_i = np.zeros(len(dirs))
    if ground:
        down = dirs[:, 2] < -1e-9
        t = np.where(down, (GROUND_Z_M - origins[:, 2]) / np.where(down, dirs[:, 2], -1), np.inf)
        hit_t, hit_i = t, np.full(len(dirs), ground_intensity)
    for box in np.asarray(boxes_lidar, dtype=np.float64).reshape(-1, 7):
        c, s = np.cos(box[6]), np.sin(box[6])
        rot = np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])  # LiDAR -> box frame
        o, d = (origins - box[:3]) @ rot.T, dirs @ rot.T
        half = box[3:6] / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            t1, t2 = (-half - o) / d, (half - o) / d
        t_near = np.nanmax(np.minimum(t1, t2), axis=1)
        t_far = np.nanmin(np.maximum(t1, t2), axis=1)
        hit = (t_near <= t_far) & (t_near > 0)
        closer = hit & (t_near < hit_t)
        hit_t, hit_i = np.where(closer, t_near, hit_t), np.where(closer, box_intensity, hit_i)
    pts = origins + hit_t[:, None] * dirs
    ok = np.isfinite(hit_t) & (np.linalg.norm(pts, axis=1) <= max_range_m)
    return np.concatenate([pts[ok], hit_i[ok, None]], axis=1).astype(np.float32)


def database_of(objects: list[tuple[str, np.ndarray, np.ndarray]]) -> GtDatabase:
    """An in-memory GtDatabase of (name, box_lidar (7,), points (n, 4)) objects."""
    points = [np.asarray(p, np.float32).reshape(-1, 4) for _, _, p in objects]
    counts = np.array([len(p) for p in points], dtype=np.int64)
    k = len(objects)
    return GtDatabase(
        names=np.array([n for n, _, _ in objects], dtype=object),
        frame_ids=np.array(["synthetic"] * k, dtype=object),
        label_index=np.arange(k),
        boxes_lidar=np.array([b for _, b, _ in objects], dtype=np.float64).reshape(k, 7),
        difficulty=np.zeros(k, np.int64),
        truncated=np.zeros(k),
        occluded=np.zeros(k, np.int64),
        num_points=counts,
        offsets=np.concatenate([[0], np.cumsum(counts)]),
        points=np.concatenate(points) if points else np.zeros((0, 4), np.float32),
        path=None,
    )
