"""Viewpoint estimation on ObjectNet3D: box crops, the network's predictions for boxes, and
a trained checkpoint's predictions as a prediction file (training:
:mod:`perception3d.engine.tasks.viewpoint`).

Crops are cut once per object, square around the box with ``precrop_context`` times its
longer side (pixels outside the image are black) at ``precrop_size`` pixels; each batch then
takes the ``context`` window of it with one affine resampling, which also applies the training
augmentation: a shift and scale of the window and a horizontal flip (a mirror image of a
left-right symmetric object is the object at azimuth -a and in-plane rotation -theta).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from perception3d.data.objectnet3d import ObjectNet3DDataset
from perception3d.engine.checkpoint import load_checkpoint
from perception3d.engine.objectnet3d_config import ViewpointData, ViewpointExperiment
from perception3d.eval.objectnet3d import Detection, write_predictions
from perception3d.models.viewpoint_net import ViewpointNet, decode_angles
from perception3d.runtime import torch_threads


@dataclass
class Crops:
    """Pre-cut crops of a split's objects: uint8 (M, 3, P, P), class index (M,), angles
    (M, 3) radians [azimuth, elevation, theta] (NaN without a viewpoint), and per object the
    image id, the box and the index in its record."""

    pixels: np.ndarray
    class_index: np.ndarray
    angles_rad: np.ndarray
    image_ids: list[str]
    boxes: np.ndarray
    object_index: np.ndarray


def _wrap(angle: np.ndarray) -> np.ndarray:
    return np.remainder(angle + np.pi, 2 * np.pi) - np.pi


def cut_crops(dataset: ObjectNet3DDataset, cfg: ViewpointData, need_viewpoint: bool) -> Crops:
    """Crops of every object of ``dataset`` (of a class in ``classes.txt``)."""
    from PIL import Image

    classes = {name: i for i, name in enumerate(dataset.classes)}
    pixels, cls, angles, ids, boxes, index = [], [], [], [], [], []
    size = cfg.precrop_size
    for record in dataset:
        with Image.open(dataset.image_path(record)) as im:
            image = im.convert("RGB")
            for j, obj in enumerate(record.objects):
                if obj.class_name not in classes or (need_viewpoint and obj.viewpoint is None):
                    continue
                x1, y1, x2, y2 = obj.bbox  # 1-based inclusive; PIL puts pixel centres at +0.5
                cx, cy = (x1 + x2) / 2 - 0.5, (y1 + y2) / 2 - 0.5
                half = cfg.precrop_context * max(x2 - x1 + 1, y2 - y1 + 1) / 2
                extent = (cx - half, cy - half, cx + half, cy + half)
                crop = image.transform((size, size), Image.Transform.EXTENT, extent,
                                       resample=Image.Resampling.BILINEAR)  # fmt: skip
                pixels.append(np.asarray(crop).transpose(2, 0, 1))
                cls.append(classes[obj.class_name])
                vp = obj.viewpoint
                angles.append([math.nan] * 3 if vp is None else vp.angles_rad)
                ids.append(record.image_id)
                boxes.append(obj.bbox)
                index.append(j)
    return Crops(
        np.stack(pixels) if pixels else np.zeros((0, 3, size, size), np.uint8),
        np.array(cls, dtype=np.int64),
        _wrap(np.array(angles, dtype=np.float64).reshape(-1, 3)),
        ids,
        np.array(boxes, dtype=np.float64).reshape(-1, 4),
        np.array(index, dtype=np.int64),
    )


def make_batch(pixels: np.ndarray, cfg: ViewpointData, rng: np.random.Generator | None):
    """uint8 (B, 3, P, P) pre-crops -> float (B, 3, S, S) crops and (B,) flip flags; random
    shift/scale/flip when ``rng`` is given, the plain ``context`` window otherwise."""
    b = len(pixels)
    scale = np.full(b, cfg.context / cfg.precrop_context)
    shift = np.zeros((b, 2))
    flip = np.zeros(b, dtype=bool)
    if rng is not None:
        scale *= rng.uniform(1 - cfg.scale_jitter, 1 + cfg.scale_jitter, b)
        shift = rng.uniform(-cfg.shift_jitter, cfg.shift_jitter, (b, 2)) * 2 * scale[:, None]
        flip = rng.random(b) < 0.5 if cfg.flip else flip
    theta = np.zeros((b, 2, 3))  # affine map output grid [-1, 1]^2 -> input grid
    theta[:, 0, 0] = np.where(flip, -scale, scale)
    theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    x = torch.from_numpy(pixels).float() / 255.0
    grid = F.affine_grid(torch.from_numpy(theta).float(), [b, 3, cfg.crop_size, cfg.crop_size],
                         align_corners=False)  # fmt: skip
    return F.grid_sample(x, grid, mode="bilinear", align_corners=False), flip


@torch.no_grad()
def predict_crops(model: ViewpointNet, crops: Crops, cfg: ViewpointData, device):
    """Angles (M, 3) radians and confidences (M,) for every crop."""
    model.eval()
    angles, conf = [], []
    for i in range(0, len(crops.pixels), 256):
        x, _ = make_batch(crops.pixels[i : i + 256], cfg, None)
        cls = torch.from_numpy(crops.class_index[i : i + 256]).to(device)
        a, c = decode_angles(model(x.to(device), cls))
        angles.append(a.cpu().numpy())
        conf.append(c.cpu().numpy())
    if not angles:
        return np.zeros((0, 3)), np.zeros(0)
    return np.concatenate(angles), np.concatenate(conf)


def gt_box_detections(dataset, crops: Crops, angles: np.ndarray, conf: np.ndarray):
    """Detections = the ground-truth boxes with the estimated viewpoints, scored by confidence."""
    return [
        Detection(
            crops.image_ids[k],
            dataset.classes[crops.class_index[k]],
            tuple(crops.boxes[k]),
            float(conf[k]),
            *map(float, angles[k]),
        )
        for k in range(len(angles))
    ]


def build_viewpoint_net(cfg: ViewpointExperiment) -> ViewpointNet:
    """A randomly initialised network of ``cfg.model`` (its classes must be set)."""
    if cfg.model.classes is None:
        raise ValueError("model.classes must be set to build the viewpoint network")
    return ViewpointNet(len(cfg.model.classes), cfg.model.num_bins, cfg.model.widths)


def predict_viewpoints_gt_boxes(
    data_root: str | Path, ckpt: str | Path, out_file: str | Path, split: str = "val"
) -> Path:
    """Estimate viewpoints for the ground-truth boxes of ``split`` with a trained model and
    write them as a prediction file (``perception3d eval objectnet3d`` reads it)."""
    state = load_checkpoint(ckpt, kind="viewpoint")
    cfg = state["experiment"]
    dataset = ObjectNet3DDataset(data_root, split=split)
    if list(cfg.model.classes or ()) != list(dataset.classes):
        raise ValueError(
            f"{ckpt}: trained for classes {list(cfg.model.classes or ())}, data has "
            f"{dataset.classes}"
        )
    model = build_viewpoint_net(cfg)
    model.load_state_dict(state["model"])
    crops = cut_crops(dataset, cfg.data, need_viewpoint=False)
    with torch_threads(cfg.train.num_threads):  # the training run's count: the same float sums
        angles, conf = predict_crops(model, crops, cfg.data, torch.device("cpu"))
    return write_predictions(out_file, gt_box_detections(dataset, crops, angles, conf))
