"""Tiny generated KITTI-layout scenes for detector tests: a flat ground and a few box-shaped
objects whose surfaces carry points, with exact labels, in front of a real KITTI calibration.

Not a LiDAR simulation (that is ``perception3d synth``): just enough structure for a detector to
learn and for round trips to be checked, generated in milliseconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_text
from perception3d.data.kitti import KittiObject, write_label_file, write_velodyne
from perception3d.geometry.boxes import boxes_to_image_2d
from perception3d.geometry.calib import Calibration, alpha_from_rotation_y, boxes_lidar_to_cam

SAMPLES = Path(__file__).parent / "data" / "kitti_samples"
SIZES = {"Car": (3.9, 1.6, 1.5), "Pedestrian": (0.8, 0.6, 1.75), "Cyclist": (1.8, 0.6, 1.7)}
GROUND_Z_M = -1.73


def permuted_pinhole(focal_px: float, cx_px: float, cy_px: float) -> Calibration:
    """A rig whose camera axes are the LiDAR's, permuted (camera x = -y, y = -z, z = x), with a
    pinhole image_2 of focal ``focal_px`` and principal point (``cx_px``, ``cy_px``): a LiDAR
    point (d, y, z) ahead lands at u = cx - f y / d, v = cy - f z / d."""
    return Calibration(
        P2=np.array([[focal_px, 0, cx_px, 0], [0, focal_px, cy_px, 0], [0, 0, 1, 0]]),
        R0_rect=np.eye(3),
        Tr_velo_to_cam=np.array([[0.0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0]]),
    )


def box_surface_points(box: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 4) points on the side faces and top of a LiDAR box, intensity 0.5."""
    x, y, z, dx, dy, dz, heading = box
    # local coordinates: pick a face, then a point on it
    face = rng.integers(0, 5, n)
    u, v = rng.uniform(-0.5, 0.5, n), rng.uniform(-0.5, 0.5, n)
    local = np.zeros((n, 3))
    local[:, 0] = np.select([face == 0, face == 1], [0.5, -0.5], u)
    local[:, 1] = np.select([face == 2, face == 3], [0.5, -0.5], np.where(face < 2, u, v))
    local[:, 2] = np.where(face == 4, 0.5, np.where(face < 4, v, 0.0))
    local *= np.array([dx, dy, dz])
    c, s = np.cos(heading), np.sin(heading)
    pts = np.stack(
        [
            x + c * local[:, 0] - s * local[:, 1],
            y + s * local[:, 0] + c * local[:, 1],
            z + local[:, 2],
        ],
        axis=1,
    )
    return np.concatenate([pts, np.full((n, 1), 0.5)], axis=1)


def ground_box(x: float, y: float, size_m, rng: np.random.Generator) -> np.ndarray:
    """(7,) LiDAR box of ``size_m`` (dx, dy, dz) standing on the ground at (x, y), heading
    uniform in [-pi, pi)."""
    dx, dy, dz = size_m
    return np.array([x, y, GROUND_Z_M + dz / 2, dx, dy, dz, rng.uniform(-np.pi, np.pi)])


def clear_of(boxes, box: np.ndarray, gap_m: float) -> bool:
    """Whether ``box``'s centre is at least ``gap_m`` from every centre of ``boxes`` (BEV)."""
    centres = np.array([b[:2] for b in boxes]).reshape(-1, 2)
    return not (len(centres) and np.min(np.hypot(*(centres - box[:2]).T)) < gap_m)


def make_scene(rng: np.random.Generator, calib: Calibration, classes=("Car",), max_objects=3):
    """Points (N, 4) float32, LiDAR boxes (M, 7), names (M,) of one scene."""
    boxes, names = [], []
    tries = 0
    while len(boxes) < rng.integers(1, max_objects + 1) and tries < 50:
        tries += 1
        name = classes[rng.integers(len(classes))]
        size_m = np.array(SIZES[name]) * rng.uniform(0.95, 1.05, 3)
        x = rng.uniform(6.0, 22.0)
        box = ground_box(x, rng.uniform(-0.4, 0.4) * x, size_m, rng)
        if not clear_of(boxes, box, 5.0):
            continue
        boxes.append(box)
        names.append(name)
    boxes = np.array(boxes).reshape(-1, 7)
    ground = np.stack(
        [rng.uniform(1, 30, 3000), rng.uniform(-15, 15, 3000), np.full(3000, GROUND_Z_M)], 1
    )
    ground = np.concatenate([ground, rng.uniform(0.1, 0.3, (3000, 1))], axis=1)
    objects = [box_surface_points(b, rng, 300) for b in boxes]
    points = np.concatenate([ground, *objects]).astype(np.float32)
    return points, boxes, np.array(names, dtype=object)


def write_toy_kitti(root: Path, num_frames: int, seed: int = 0, classes=("Car",)) -> Path:
    """Write ``num_frames`` toy frames in the KITTI layout (no images; calib of sample 000008);
    ImageSets train = val = all frames. Returns ``root``."""
    rng = np.random.default_rng(seed)
    calib = Calibration.from_file(SAMPLES / "training" / "calib" / "000008.txt")
    ids = [f"{i:06d}" for i in range(num_frames)]
    for fid in ids:
        points, boxes, names = make_scene(rng, calib, classes)
        write_velodyne(root / "training" / "velodyne" / f"{fid}.bin", points)
        calib.write(root / "training" / "calib" / f"{fid}.txt")
        boxes_cam = boxes_lidar_to_cam(boxes, calib)
        boxes_2d, _ = boxes_to_image_2d(boxes, calib, (375, 1242))
        alpha = alpha_from_rotation_y(boxes_cam[:, 6], boxes_cam[:, :3])
        objects = [
            KittiObject(
                type=str(n),
                truncated=0.0,
                occluded=0,
                alpha=float(a),
                bbox=tuple(b2.tolist()),
                dimensions=(bc[4], bc[5], bc[3]),
                location=tuple(bc[:3].tolist()),
                rotation_y=float(bc[6]),
            )
            for n, bc, b2, a in zip(names, boxes_cam, boxes_2d, alpha)
        ]
        write_label_file(root / "training" / "label_2" / f"{fid}.txt", objects, decimals=4)
    for split in ("train", "val"):
        atomic_write_text(root / "ImageSets" / f"{split}.txt", "".join(f"{i}\n" for i in ids))
    return root
