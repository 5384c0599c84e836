"""Viewpoint estimation on ObjectNet3D: train ``ViewpointNet`` on box crops, predict for boxes.

Crops are cut once per object, square around the box with ``precrop_context`` times its
longer side (pixels outside the image are black) at ``precrop_size`` pixels; each batch then
takes the ``context`` window of it with one affine resampling, which also applies the training
augmentation: a shift and scale of the window and a horizontal flip (a mirror image of a
left-right symmetric object is the object at azimuth -a and in-plane rotation -theta).
"""

from __future__ import annotations

import io
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from perception3d.atomic import atomic_write_bytes, atomic_write_text
from perception3d.config import from_dict, to_dict
from perception3d.data.objectnet3d import ObjectNet3DDataset
from perception3d.eval.objectnet3d import Detection, evaluate_objectnet3d, write_predictions
from perception3d.models.viewpoint_net import ViewpointNet, decode_angles, viewpoint_loss
from perception3d.runtime import resolve_device, seed_everything, torch_threads


@dataclass(frozen=True)
class ViewpointConfig:
    """Options of ``perception3d objectnet3d train-viewpoint``
    (``configs/objectnet3d/viewpoint.yaml`` lists them with their meaning)."""

    crop_size: int = 64
    context: float = 1.15
    precrop_size: int = 80
    precrop_context: float = 1.4
    num_bins: int = 36
    widths: tuple[int, ...] = (32, 64, 128, 256)
    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    label_sigma_bins: float = 1.0
    flip: bool = True
    shift_jitter: float = 0.05
    scale_jitter: float = 0.1
    train_split: str = "train"
    val_split: str = "val"
    seed: int = 0
    device: str = "cpu"
    num_threads: int = 0

    def __post_init__(self) -> None:
        if self.precrop_context < self.context * (1 + self.scale_jitter + self.shift_jitter):
            raise ValueError("precrop_context must cover context with its shift/scale jitter")


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


def cut_crops(dataset: ObjectNet3DDataset, cfg: ViewpointConfig, need_viewpoint: bool) -> Crops:
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


def make_batch(pixels: np.ndarray, cfg: ViewpointConfig, rng: np.random.Generator | None):
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
def predict_crops(model: ViewpointNet, crops: Crops, cfg: ViewpointConfig, device):
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


def train_viewpoint(data_root: str | Path, out_dir: str | Path, cfg: ViewpointConfig) -> dict:
    """Train on ``cfg.train_split``; write ``model.pt``, the val predictions with ground-truth
    boxes (``val_gt_boxes_pred.txt``) and ``metrics.json`` (their official evaluation)."""
    with torch_threads(cfg.num_threads):
        return _train_viewpoint(data_root, out_dir, cfg)


def _train_viewpoint(data_root: str | Path, out_dir: str | Path, cfg: ViewpointConfig) -> dict:
    rng = seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    train_set = ObjectNet3DDataset(data_root, split=cfg.train_split)
    crops = cut_crops(train_set, cfg, need_viewpoint=True)
    if len(crops.pixels) < 2:
        raise ValueError(f"{data_root}: fewer than 2 objects with a viewpoint in {cfg.train_split}")
    model = ViewpointNet(len(train_set.classes), cfg.num_bins, cfg.widths).to(device)
    optim = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * (len(crops.pixels) // cfg.batch_size + 1)
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, cfg.lr, total_steps=max(steps, 1))
    history, start = [], time.time()
    for epoch in range(cfg.epochs):
        model.train()
        order, total = rng.permutation(len(crops.pixels)), 0.0
        for i in range(0, len(order) - 1, cfg.batch_size):  # a batch of 1 breaks BatchNorm
            idx = np.sort(order[i : i + cfg.batch_size])
            x, flip = make_batch(crops.pixels[idx], cfg, rng)
            target = crops.angles_rad[idx].copy()
            target[flip, 0] *= -1.0  # mirror: azimuth -> -azimuth, theta -> -theta
            target[flip, 2] *= -1.0
            logits = model(x.to(device), torch.from_numpy(crops.class_index[idx]).to(device))
            loss = viewpoint_loss(logits, torch.from_numpy(target).to(device), cfg.label_sigma_bins)
            optim.zero_grad()
            loss.backward()
            optim.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        history.append({"epoch": epoch + 1, "loss": total / len(order)})
        print(f"epoch {epoch + 1}/{cfg.epochs} loss {total / len(order):.4f}", flush=True)
    out = Path(out_dir)
    buf = io.BytesIO()
    torch.save({"state_dict": model.state_dict(), "config": to_dict(cfg),
                "classes": list(train_set.classes)}, buf)  # fmt: skip
    atomic_write_bytes(out / "model.pt", buf.getvalue())
    val_set = ObjectNet3DDataset(data_root, split=cfg.val_split)
    val_crops = cut_crops(val_set, cfg, need_viewpoint=False)
    angles, conf = predict_crops(model, val_crops, cfg, device)
    detections = gt_box_detections(val_set, val_crops, angles, conf)
    write_predictions(out / "val_gt_boxes_pred.txt", detections)
    gt = {i: val_set.record(i).objects for i in val_set.ids}
    metrics = {
        "val_gt_boxes": evaluate_objectnet3d(gt, detections, val_set.classes),
        "num_train_objects": len(crops.pixels),
        "train_seconds": time.time() - start,
        "config": to_dict(cfg),
        "history": history,
    }
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    return metrics


def predict_viewpoints_gt_boxes(
    data_root: str | Path, ckpt: str | Path, out_file: str | Path, split: str = "val"
) -> Path:
    """Estimate viewpoints for the ground-truth boxes of ``split`` with a trained model and
    write them as a prediction file (``perception3d eval objectnet3d`` reads it)."""
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    cfg = from_dict(ViewpointConfig, state["config"], source=str(ckpt))
    dataset = ObjectNet3DDataset(data_root, split=split)
    if list(state["classes"]) != list(dataset.classes):
        raise ValueError(
            f"{ckpt}: trained for classes {state['classes']}, data has {dataset.classes}"
        )
    model = ViewpointNet(len(dataset.classes), cfg.num_bins, cfg.widths)
    model.load_state_dict(state["state_dict"])
    crops = cut_crops(dataset, cfg, need_viewpoint=False)
    with torch_threads(cfg.num_threads):  # the training run's count: the same float sums
        angles, conf = predict_crops(model, crops, cfg, torch.device("cpu"))
    return write_predictions(out_file, gt_box_detections(dataset, crops, angles, conf))
