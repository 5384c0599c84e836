"""Realistic KITTI label scenes and noisy detections of them, for evaluation tests/benchmarks.

Objects stand on the ground in front of the camera of the real frame 000008 (its calibration),
with class sizes of the KITTI training set; the 2D box is the projection of the 3D box clipped
to the 1242 x 375 image, the truncation the fraction of it cut off, the occlusion level random.
DontCare regions cover unlabelled objects. Detections are the objects seen again with
position/size/heading/2D noise, class confusions, duplicates, misses and false positives, and
scores that fall with the error; values are rounded to what KITTI files hold.

``python -m tests.eval.kitti_scenes OUT_DIR`` writes the frozen fixture of
``tests/eval/test_kitti_reference.py`` (see there).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from perception3d.data.kitti import KittiObject, read_label_file, write_label_file
from perception3d.geometry.boxes import boxes_to_image_2d
from perception3d.geometry.calib import (
    Calibration,
    alpha_from_rotation_y,
    boxes_cam_to_lidar,
    limit_period,
)
from perception3d.geometry.iou import bev_iou_cam

SAMPLES = Path(__file__).parents[1] / "data" / "kitti_samples" / "training"
IMAGE_HW = (375, 1242)
# class: (probability, mean (h, w, l) metres), sizes about the KITTI training-set means
CLASS_MIX = {
    "Car": (0.52, (1.53, 1.63, 3.88)),
    "Van": (0.06, (2.21, 1.90, 5.08)),
    "Truck": (0.03, (3.25, 2.59, 10.1)),
    "Pedestrian": (0.20, (1.76, 0.66, 0.84)),
    "Person_sitting": (0.03, (1.27, 0.59, 0.80)),
    "Cyclist": (0.10, (1.74, 0.60, 1.76)),
    "Misc": (0.04, (1.91, 1.51, 3.58)),
    "Tram": (0.02, (3.53, 2.54, 16.1)),
}
DETECTED_AS = {  # (type, probability) of the detector's label for each true class
    "Car": (("Car", 1.0),),
    "Van": (("Car", 0.4), ("Van", 0.6)),
    "Pedestrian": (("Pedestrian", 0.95), ("Cyclist", 0.05)),
    "Person_sitting": (("Pedestrian", 0.6), ("Person_sitting", 0.4)),
    "Cyclist": (("Cyclist", 0.9), ("Pedestrian", 0.1)),
}


def sample_calib() -> Calibration:
    return Calibration.from_file(SAMPLES / "calib" / "000008.txt")


def _project(boxes_cam: np.ndarray, calib: Calibration) -> tuple[np.ndarray, np.ndarray]:
    """(M, 4) clipped 2D boxes, (M,) truncation = 1 - clipped area / full area (0 if invalid)."""
    boxes_lidar = boxes_cam_to_lidar(boxes_cam, calib)
    full, _ = boxes_to_image_2d(boxes_lidar, calib)
    clipped, valid = boxes_to_image_2d(boxes_lidar, calib, IMAGE_HW)
    area = np.prod(np.maximum(full[:, 2:] - full[:, :2], 1e-9), axis=1)
    kept = np.prod(np.maximum(clipped[:, 2:] - clipped[:, :2], 0.0), axis=1)
    truncation = np.where(valid, 1.0 - kept / area, 1.0)
    return clipped, np.clip(truncation, 0.0, 1.0)


def _object(type_, box_cam, bbox, truncation, occluded, score=None) -> KittiObject:
    x, y, z, l, h, w, ry = (float(v) for v in box_cam)
    alpha = float(alpha_from_rotation_y(np.array([ry]), np.array([[x, y, z]]))[0])
    return KittiObject(type_, float(truncation), int(occluded), alpha, tuple(map(float, bbox)),
                       (h, w, l), (x, y, z), ry, score)  # fmt: skip


def _round(obj: KittiObject) -> KittiObject:
    """Values as a KITTI file with 2 decimals (score 4) holds them."""
    return replace(
        obj,
        truncated=round(obj.truncated, 2),
        alpha=round(obj.alpha, 2),
        bbox=tuple(round(v, 2) for v in obj.bbox),
        dimensions=tuple(round(v, 2) for v in obj.dimensions),
        location=tuple(round(v, 2) for v in obj.location),
        rotation_y=round(obj.rotation_y, 2),
        score=None if obj.score is None else round(obj.score, 4),
    )


def _random_boxes(rng, calib, num, min_z, max_z, type_=None):
    """Up to ``num`` non-overlapping visible (type, box_cam, bbox, truncation) on the ground."""
    names = list(CLASS_MIX)
    probs = np.array([CLASS_MIX[n][0] for n in names])
    num_tries = 4 * num
    types = [type_] * num_tries if type_ else list(rng.choice(names, num_tries, p=probs))
    sizes = np.array([CLASS_MIX[t][1] for t in types]).reshape(-1, 3)  # (h, w, l)
    sizes = sizes * rng.normal(1.0, 0.06, (num_tries, 3))
    z = rng.uniform(min_z, max_z, num_tries)
    boxes = np.stack(
        [
            z * rng.uniform(-0.75, 0.75, num_tries),
            1.65 + rng.normal(0.0, 0.08, num_tries),  # bottom on the road, camera 1.65 m up
            z,
            sizes[:, 2],
            sizes[:, 0],
            sizes[:, 1],
            rng.uniform(-np.pi, np.pi, num_tries),
        ],
        axis=1,
    )
    bbox, trunc = _project(boxes, calib)
    overlap = bev_iou_cam(boxes, boxes)
    out, kept = [], []
    for i in range(num_tries):
        if len(out) == num:
            break
        if trunc[i] > 0.8 or bbox[i, 3] - bbox[i, 1] < 5 or (kept and overlap[i, kept].max() > 0):
            continue
        kept.append(i)
        out.append((types[i], boxes[i], bbox[i], trunc[i]))
    return out


def random_scene(rng: np.random.Generator, calib: Calibration, num_objects: int = 6):
    """Label rows of one scene (objects, then 0-3 DontCare regions), and the unlabelled
    objects behind the DontCare regions (as ``KittiObject`` rows, for detections of them)."""
    labels = []
    for type_, box, bbox, trunc in _random_boxes(rng, calib, num_objects, 4.0, 55.0):
        occluded = rng.choice(4, p=[0.5, 0.28, 0.17, 0.05])
        labels.append(_object(type_, box, bbox, trunc, occluded))
    hidden = []
    for _, box, bbox, _ in _random_boxes(rng, calib, int(rng.integers(0, 4)), 15.0, 45.0, "Car"):
        if any(o.bbox[0] < bbox[2] and bbox[0] < o.bbox[2] for o in labels):
            continue  # keep DontCare regions clear of labelled objects (as annotators did)
        pad = rng.uniform(0.0, 6.0, 4) * [-1, -1, 1, 1]
        region = np.clip(bbox + pad, 0, [IMAGE_HW[1] - 1, IMAGE_HW[0] - 1] * 2)
        labels.append(KittiObject("DontCare", -1.0, -1, -10.0, tuple(region), (-1.0, -1.0, -1.0),
                                  (-1000.0, -1000.0, -1000.0), -10.0))  # fmt: skip
        hidden.append(_object("Car", box, bbox, 0.0, 0))
    return [_round(o) for o in labels], hidden


def _noisy(rng, calib, seen: list[tuple[KittiObject, str, float]]) -> list[KittiObject]:
    """A detection of each (object, detected type, noise scale (1 = typical))."""
    if not seen:
        return []
    truth = np.array([obj.box_cam for obj, _, _ in seen])
    scale = np.array([s for _, _, s in seen])[:, None]
    num = len(seen)
    depth = np.maximum(truth[:, 2], 1.0)
    boxes = truth.copy()
    boxes[:, [0, 2]] += rng.normal(0.0, 1.0, (num, 2)) * scale * (0.06 + 0.008 * depth[:, None])
    boxes[:, 1] += rng.normal(0.0, 0.05, num) * scale[:, 0]
    boxes[:, 3:6] *= np.exp(rng.normal(0.0, 0.06, (num, 3)) * scale)
    flips = np.pi * (rng.random(num) < 0.05)
    boxes[:, 6] = limit_period(boxes[:, 6] + rng.normal(0.0, 0.08, num) * scale[:, 0] + flips)
    bbox, trunc = _project(boxes, calib)
    bbox = bbox + rng.normal(0.0, 1.5, (num, 4)) * scale
    bbox = np.sort(bbox.reshape(num, 2, 2), axis=1).reshape(num, 4)  # x1 <= x2, y1 <= y2
    error = np.abs(boxes[:, [0, 2]] - truth[:, [0, 2]]).sum(axis=1) / (0.3 + 0.01 * depth)
    logit = 2.5 - 0.8 * error - 0.03 * depth + rng.normal(0.0, 0.8, num)
    score = 1.0 / (1.0 + np.exp(-logit))
    return [
        _object(t, boxes[k], bbox[k], trunc[k], 0, score[k]) for k, (_, t, _) in enumerate(seen)
    ]


def noisy_detections(rng, calib, labels, hidden=(), fp_rate: float = 1.0) -> list[KittiObject]:
    """Detections of a scene: most labelled objects of the five detectable classes (and some
    behind DontCare regions), a few twice, plus about ``fp_rate`` false positives."""
    seen = []
    for obj in [*labels, *hidden]:
        if obj.type not in DETECTED_AS or rng.random() > 0.9 - 0.1 * max(obj.occluded, 0):
            continue
        names, probs = zip(*DETECTED_AS[obj.type])
        type_ = names[rng.choice(len(names), p=probs)]
        seen.append((obj, type_, 1.0))
        if rng.random() < 0.07:
            seen.append((obj, type_, 3.0))  # a duplicate
    out = _noisy(rng, calib, seen)
    for type_, box, bbox, trunc in _random_boxes(rng, calib, rng.poisson(fp_rate), 5.0, 50.0):
        if type_ in ("Car", "Pedestrian", "Cyclist"):
            out.append(_object(type_, box, bbox, trunc, 0, rng.uniform(0.02, 0.6)))
    rng.shuffle(out)
    return [replace(_round(o), truncated=-1.0, occluded=-1) for o in out]


def perturbed_samples(rng, copies: int):
    """(labels, detections) of each real sample frame, ``copies`` times with fresh noise."""
    calib = sample_calib()
    frames = []
    for _ in range(copies):
        for frame_id in ("000000", "000008", "004139"):
            labels = read_label_file(SAMPLES / "label_2" / f"{frame_id}.txt", allow_score=False)
            frames.append((labels, noisy_detections(rng, calib, labels, fp_rate=0.5)))
    return frames


def write_fixture(root: Path, seed: int = 2024, num_scenes: int = 120, copies: int = 20) -> None:
    """``root/{scenes,samples}/{label_2,pred}/<id>.txt``: random scenes, perturbed samples."""
    rng = np.random.default_rng(seed)
    calib = sample_calib()
    scenes = []
    for _ in range(num_scenes):
        labels, hidden = random_scene(rng, calib, int(rng.integers(2, 10)))
        scenes.append((labels, noisy_detections(rng, calib, labels, hidden)))
    for name, frames in (("scenes", scenes), ("samples", perturbed_samples(rng, copies))):
        for index, (labels, detections) in enumerate(frames):
            write_label_file(root / name / "label_2" / f"{index:06d}.txt", labels)
            write_label_file(root / name / "pred" / f"{index:06d}.txt", detections)


if __name__ == "__main__":
    write_fixture(Path(sys.argv[1]))
