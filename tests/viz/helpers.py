"""Test helpers: a tiny synthetic KITTI frame and predictions with a known outcome.

The synthetic frame uses the real calibration of KITTI 000008 and places two cars and a
pedestrian on a ground plane; its LiDAR points are sampled on the boxes' surfaces and on the
ground, its image is a plain gradient, its labels are computed from the boxes with our own
conversions. Replace with ``perception3d synth`` output once the generator is on main.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from perception3d.data.kitti import KittiObject, write_label_file, write_velodyne
from perception3d.geometry.boxes import boxes_to_image_2d
from perception3d.geometry.calib import Calibration, alpha_from_rotation_y, boxes_lidar_to_cam

KITTI_SAMPLES = Path(__file__).resolve().parents[1] / "data" / "kitti_samples"

# (x, y, z, dx, dy, dz, heading): two cars and a pedestrian in front of the sensor, on the
# ground at z = -1.73 m.
SYNTH_BOXES = np.array(
    [
        [12.0, 2.5, -1.73 + 0.75, 4.0, 1.7, 1.5, 0.3],
        [20.0, -4.0, -1.73 + 0.78, 4.2, 1.8, 1.56, -0.2],
        [9.0, -2.0, -1.73 + 0.9, 0.7, 0.6, 1.8, 1.0],
    ]
)
SYNTH_NAMES = ("Car", "Car", "Pedestrian")
IMAGE_HW = (375, 1242)


def surface_points(box: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` points uniformly on the 4 side faces and the top of a LiDAR box."""
    x, y, z, dx, dy, dz, heading = box
    local = rng.uniform(-0.5, 0.5, (count, 3))
    face = rng.integers(0, 5, count)  # front, back, left, right, top
    local[np.arange(count), np.array([0, 0, 1, 1, 2])[face]] = np.array(
        [0.5, -0.5, 0.5, -0.5, 0.5]
    )[face]
    local *= [dx, dy, dz]
    c, s = np.cos(heading), np.sin(heading)
    return np.stack(
        [
            x + c * local[:, 0] - s * local[:, 1],
            y + s * local[:, 0] + c * local[:, 1],
            z + local[:, 2],
        ],
        1,
    )


def synthetic_points(seed: int = 0) -> np.ndarray:
    """(N, 4) float32: a ground grid (x 2..40 m, y -15..15 m) and points on every box."""
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(2.0, 40.0, 0.5), np.arange(-15.0, 15.0, 0.5), indexing="ij")
    ground = np.stack([gx.ravel(), gy.ravel(), np.full(gx.size, -1.73)], 1)
    objects = np.concatenate([surface_points(b, rng, 400) for b in SYNTH_BOXES])
    xyz = np.concatenate([ground, objects])
    intensity = rng.uniform(0.0, 1.0, len(xyz))
    return np.concatenate([xyz, intensity[:, None]], 1).astype(np.float32)


def objects_from_boxes(
    boxes_lidar: np.ndarray,
    names,
    calib: Calibration,
    scores=None,
) -> list[KittiObject]:
    """KITTI label (or result) rows of LiDAR boxes: 2D box from the projection, alpha, ry."""
    cam = boxes_lidar_to_cam(boxes_lidar, calib)
    b2d, _ = boxes_to_image_2d(boxes_lidar, calib, IMAGE_HW)
    alpha = alpha_from_rotation_y(cam[:, 6], cam[:, :3])
    out = []
    for k in range(len(cam)):
        x, y, z, l, h, w, ry = cam[k]
        out.append(
            KittiObject(
                type=str(names[k]),
                truncated=0.0,
                occluded=0,
                alpha=float(alpha[k]),
                bbox=tuple(float(v) for v in b2d[k]),
                dimensions=(float(h), float(w), float(l)),
                location=(float(x), float(y), float(z)),
                rotation_y=float(ry),
                score=None if scores is None else float(scores[k]),
            )
        )
    return out


def write_synthetic_root(root: Path, frame_id: str = "000001") -> Path:
    """Write the synthetic frame in the KITTI object layout under ``root``; returns root."""
    from PIL import Image

    training = root / "training"
    for sub in ("velodyne", "calib", "image_2", "label_2"):
        (training / sub).mkdir(parents=True, exist_ok=True)
    calib_path = training / "calib" / f"{frame_id}.txt"
    shutil.copyfile(KITTI_SAMPLES / "training" / "calib" / "000008.txt", calib_path)
    calib = Calibration.from_file(calib_path)
    write_velodyne(training / "velodyne" / f"{frame_id}.bin", synthetic_points())
    ramp = np.linspace(60, 200, IMAGE_HW[1], dtype=np.float32)
    image = np.broadcast_to(ramp[None, :, None], (*IMAGE_HW, 3)).astype(np.uint8)
    Image.fromarray(image).save(training / "image_2" / f"{frame_id}.png")
    write_label_file(
        training / "label_2" / f"{frame_id}.txt",
        objects_from_boxes(SYNTH_BOXES, SYNTH_NAMES, calib),
    )
    return root


def predictions_tp_fp_fn(gt_objects: list[KittiObject], calib: Calibration, tp_index: int = 0):
    """Predictions for a frame with a known outcome: a near-copy of GT row ``tp_index`` (TP),
    a car where no object is (FP); every other GT object is missed (FN) or ignored.

    Returns:
        [TP, FP] result rows with scores 0.9 and 0.4.
    """
    src = gt_objects[tp_index]
    tp = replace(src, location=(src.location[0] + 0.05, *src.location[1:]), score=0.9)
    fp_box = np.array([[30.0, 10.0, -0.95, 4.0, 1.7, 1.5, 0.0]])
    fp = objects_from_boxes(fp_box, ["Car"], calib, [0.4])[0]
    return [tp, fp]


def has_color_near(rgb: np.ndarray, row: float, col: float, color, radius: int = 1) -> bool:
    """True when a pixel within ``radius`` of (row, col) has exactly ``color``."""
    r, c = int(np.floor(row)), int(np.floor(col))
    patch = rgb[max(r - radius, 0) : r + radius + 1, max(c - radius, 0) : c + radius + 1]
    return bool(np.all(patch.reshape(-1, 3) == np.asarray(color, np.uint8), axis=1).any())
