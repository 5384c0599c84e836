"""Training and evaluation of the PointPainting segmentation network
(``perception3d fusion train-seg CONFIG``): :class:`~perception3d.models.segnet.SegNet` on a
KITTI-layout root's ``image_2`` + ``semantic_2`` (the synthetic scenes' pixel-exact labels).

Training draws, at step s, a batch of random crops of the train split's images (downscaled by
the network's ``input_scale``) from ``numpy.random.default_rng([seed, s])``, with a horizontal
flip and a photometric jitter (gamma, gain), and fits them with AdamW and a class-weighted
cross entropy. Same config -> the same weights on CPU; a run resumed from its checkpoint
continues exactly (the draws depend only on the step).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from perception3d.atomic import atomic_write, atomic_write_text
from perception3d.config import load_config, to_dict
from perception3d.data.kitti import read_image, read_split_file
from perception3d.models.segnet import (
    SEG_CLASSES,
    SegNet,
    load_segnet,
    predict_scores,
    save_segnet,
    scaled_size,
    semantic_to_seg_lut,
)
from perception3d.runtime import seed_everything, torch_threads


@dataclass(frozen=True)
class SegTrainConfig:
    """``configs/fusion/segnet.yaml``.

    Attributes:
        data_root: KITTI-layout root with ``training/image_2`` and ``training/semantic_2``.
        train_split, val_split: ImageSets names.
        width, input_scale: the network (see :class:`SegNet`).
        steps: optimisation steps; batch_size crops of crop_hw (network resolution) each.
        lr, weight_decay: AdamW (cosine decay to lr / 100 over the steps).
        gamma_range, gain_range: photometric jitter ``clip(gain * x ** gamma)`` of the sRGB
            crop (so the network does not depend on one camera's exact tone curve).
        class_weight_power: cross-entropy class weights ``freq ** -power`` (normalised to mean
            1) from the train labels' pixel frequencies (0: unweighted).
        object_crop_fraction: share of crops centred on a pixel of a foreground class, the
            class drawn uniformly among those the frame shows (random crops of a driving frame
            rarely hold a pedestrian or a cyclist: they cover ~0.1 % of the pixels).
        seed: initialisation and crop draws.
        threads: torch CPU threads.
        max_train_frames, max_val_frames: use only the first N frames (None: all).
        checkpoint_every: steps between checkpoints.
        init: SegNet weights to start from (a fine-tune; width and input_scale must match).
    """

    data_root: Path
    train_split: str = "train"
    val_split: str = "val"
    width: int = 16
    input_scale: float = 0.5
    steps: int = 1500
    batch_size: int = 8
    crop_hw: tuple[int, int] = (128, 256)
    lr: float = 0.003
    weight_decay: float = 0.0001
    gamma_range: tuple[float, float] = (0.7, 1.4)
    gain_range: tuple[float, float] = (0.7, 1.3)
    class_weight_power: float = 0.5
    object_crop_fraction: float = 0.0
    seed: int = 0
    threads: int = 1
    max_train_frames: int | None = None
    max_val_frames: int | None = None
    checkpoint_every: int = 250
    init: Path | None = None

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps and batch_size must be >= 1, got {self.steps}")
        if min(self.crop_hw) < 8:
            raise ValueError(f"crop_hw must be >= 8 pixels, got {self.crop_hw}")
        if not 0.0 <= self.object_crop_fraction <= 1.0:
            raise ValueError(
                f"object_crop_fraction must be in [0, 1], got {self.object_crop_fraction}"
            )


def load_seg_config(path: str | Path, overrides=()) -> SegTrainConfig:
    """Load a segmentation training config (``--set key=value`` overrides first)."""
    return load_config(path, SegTrainConfig, overrides)


def load_pair(root: Path, fid: str) -> tuple[np.ndarray, np.ndarray]:
    """(image (3, H, W) float32 sRGB, labels (H, W) uint8 SEG_CLASSES index) of a frame."""
    from PIL import Image

    image = read_image(root / "training" / "image_2" / f"{fid}.png")
    with Image.open(root / "training" / "semantic_2" / f"{fid}.png") as im:
        semantic = np.asarray(im)
    return image, semantic_to_seg_lut()[semantic]


def _downscale(image: np.ndarray, labels: np.ndarray, scale: float):
    """uint8 image (3, h, w) and labels (h, w) at the network's resolution (area / nearest)."""
    hw = scaled_size(labels.shape, scale)
    img = F.interpolate(torch.from_numpy(image)[None], size=hw, mode="area")[0]
    img8 = (img.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
    rows = np.minimum((np.arange(hw[0]) + 0.5) / scale, labels.shape[0] - 1).astype(int)
    cols = np.minimum((np.arange(hw[1]) + 0.5) / scale, labels.shape[1] - 1).astype(int)
    return img8, labels[np.ix_(rows, cols)]


def foreground_pixels(labels: np.ndarray, max_per_class: int = 256) -> list[np.ndarray]:
    """Per foreground class (SEG_CLASSES[1:]), up to ``max_per_class`` evenly strided (row,
    col) pixels of ``labels`` (h, w) showing it, (n, 2) int32 each (n = 0: absent)."""
    out = []
    for c in range(1, len(SEG_CLASSES)):
        rc = np.argwhere(labels == c).astype(np.int32)
        out.append(rc[:: max(1, len(rc) // max_per_class)])
    return out


def _batch(images, labels, cfg: SegTrainConfig, step: int, foreground=None):
    """Crops of step ``step``; ``foreground``: :func:`foreground_pixels` of each frame (for
    ``cfg.object_crop_fraction``)."""
    rng = np.random.default_rng([cfg.seed, step])
    ch, cw = cfg.crop_hw
    xs, ys = [], []
    for _ in range(cfg.batch_size):
        k = int(rng.integers(len(images)))
        img, lab = images[k], labels[k]
        h, w = lab.shape
        top, left = int(rng.integers(max(1, h - ch + 1))), int(rng.integers(max(1, w - cw + 1)))
        if foreground is not None and rng.random() < cfg.object_crop_fraction:
            shown = [p for p in foreground[k] if len(p)]
            if shown:
                pix = shown[int(rng.integers(len(shown)))]
                r, c = pix[int(rng.integers(len(pix)))]
                jy, jx = rng.integers(-ch // 4, ch // 4 + 1), rng.integers(-cw // 4, cw // 4 + 1)
                top = int(np.clip(r - ch // 2 + jy, 0, max(0, h - ch)))
                left = int(np.clip(c - cw // 2 + jx, 0, max(0, w - cw)))
        x = img[:, top : top + ch, left : left + cw].astype(np.float32) / 255.0
        y = lab[top : top + ch, left : left + cw]
        if rng.random() < 0.5:
            x, y = x[:, :, ::-1], y[:, ::-1]
        gamma, gain = rng.uniform(*cfg.gamma_range), rng.uniform(*cfg.gain_range)
        x = np.clip(gain * np.power(x, gamma), 0.0, 1.0)
        pad = ((0, ch - y.shape[0]), (0, cw - y.shape[1]))
        xs.append(np.pad(x, ((0, 0), *pad)))
        ys.append(np.pad(y.astype(np.int64), pad, constant_values=-100))  # -100: ignored
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def class_weights(labels: list[np.ndarray], num_classes: int, power: float) -> torch.Tensor:
    """Cross-entropy weights ``freq ** -power`` normalised to mean 1 (absent classes: 1)."""
    counts = np.zeros(num_classes, np.float64)
    for lab in labels:
        counts += np.bincount(lab.ravel(), minlength=num_classes)[:num_classes]
    freq = counts / max(counts.sum(), 1.0)
    w = np.where(freq > 0, np.maximum(freq, 1e-12) ** -power, 1.0)
    return torch.tensor(w / w.mean(), dtype=torch.float32)


def confusion_iou(confusion: np.ndarray) -> np.ndarray:
    """Per-class IoU ``TP / (TP + FP + FN)`` of a (C, C) confusion matrix [truth, prediction]
    (NaN for a class absent from both).

    Example:
        >>> confusion_iou(np.array([[3, 1], [0, 2]])).round(3).tolist()
        [0.75, 0.667]
    """
    tp = np.diag(confusion).astype(np.float64)
    denom = confusion.sum(0) + confusion.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, tp / denom, np.nan)


def evaluate_segnet(net: SegNet, root: Path, ids: list[str], progress: bool = False) -> dict:
    """Per-class IoU and mIoU of ``net`` on full-resolution ``image_2`` of ``ids``."""
    c = net.num_classes
    confusion = np.zeros((c, c), np.int64)
    net.eval()
    for fid in tqdm(ids, desc="seg val", disable=not progress, leave=False):
        image, labels = load_pair(root, fid)
        pred = predict_scores(net, image).argmax(0)
        confusion += np.bincount(labels.ravel() * c + pred.ravel(), minlength=c * c).reshape(c, c)
    iou = confusion_iou(confusion)
    return {
        "frames": len(ids),
        "iou": {name: float(v) for name, v in zip(SEG_CLASSES, iou)},
        "miou": float(np.nanmean(iou)),
        "pixel_accuracy": float(np.diag(confusion).sum() / max(confusion.sum(), 1)),
    }


def train_segnet(cfg: SegTrainConfig, out_dir: str | Path, progress: bool = True) -> dict:
    """Train (or resume from ``out_dir/checkpoint.pt``), write ``out_dir/segnet.pt`` (weights
    only) and ``out_dir/metrics.json`` (val IoU, time); returns the metrics."""
    out_dir = Path(out_dir)
    root = Path(cfg.data_root)
    train_ids = read_split_file(root / "ImageSets" / f"{cfg.train_split}.txt")
    val_ids = read_split_file(root / "ImageSets" / f"{cfg.val_split}.txt")
    train_ids = train_ids[: cfg.max_train_frames] if cfg.max_train_frames else train_ids
    val_ids = val_ids[: cfg.max_val_frames] if cfg.max_val_frames else val_ids
    t_start = time.perf_counter()
    with torch_threads(cfg.threads):
        seed_everything(cfg.seed)
        net = SegNet(len(SEG_CLASSES), cfg.width, cfg.input_scale)
        if cfg.init is not None:
            start_from = load_segnet(cfg.init)
            if (start_from.width, start_from.input_scale) != (cfg.width, cfg.input_scale):
                raise ValueError(
                    f"init {cfg.init}: width/input_scale {start_from.width}/"
                    f"{start_from.input_scale}, config {cfg.width}/{cfg.input_scale}"
                )
            net.load_state_dict(start_from.state_dict())
        images, labels = [], []
        for fid in tqdm(train_ids, desc="load", disable=not progress, leave=False):
            img8, lab = _downscale(*load_pair(root, fid), cfg.input_scale)
            images.append(img8)
            labels.append(lab)
        weights = class_weights(labels, len(SEG_CLASSES), cfg.class_weight_power)
        foreground = None
        if cfg.object_crop_fraction > 0:
            foreground = [foreground_pixels(lab) for lab in labels]
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps, cfg.lr / 100)
        start, history = 0, []
        ckpt_path = out_dir / "checkpoint.pt"
        if ckpt_path.is_file():
            ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
            net.load_state_dict(ckpt["state_dict"])
            opt.load_state_dict(ckpt["optimizer"])
            sched.load_state_dict(ckpt["scheduler"])
            start, history = int(ckpt["step"]), list(ckpt["history"])
        net.train()
        bar = tqdm(range(start, cfg.steps), desc="train-seg", disable=not progress)
        running, count = 0.0, 0
        for step in bar:
            x, y = _batch(images, labels, cfg, step, foreground)
            loss = F.cross_entropy(net.forward_scaled(x), y, weight=weights, ignore_index=-100)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running, count = running + float(loss.detach()), count + 1
            done = step + 1
            if done % 50 == 0 or done == cfg.steps:
                history.append({"step": done, "loss": running / count})
                running, count = 0.0, 0
                bar.set_postfix(loss=f"{history[-1]['loss']:.3f}")
            if done % cfg.checkpoint_every == 0 or done == cfg.steps:
                state = {
                    "arch": {"width": cfg.width, "input_scale": cfg.input_scale},
                    "state_dict": net.state_dict(),
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(),
                    "step": done,
                    "history": history,
                }
                atomic_write(ckpt_path, lambda f, s=state: torch.save(s, f))
        train_seconds = time.perf_counter() - t_start
        metrics = evaluate_segnet(net, root, val_ids, progress)
    info = {
        "config": to_dict(cfg),
        "steps": cfg.steps,
        "train_frames": len(train_ids),
        "train_wall_seconds": round(train_seconds, 1),
        "class_weights": [round(float(w), 4) for w in weights],
        "val": metrics,
        "loss_history": history,
    }
    save_segnet(net, out_dir / "segnet.pt", {"val_miou": metrics["miou"], "seed": cfg.seed})
    atomic_write_text(out_dir / "metrics.json", json.dumps(info, indent=2, default=str) + "\n")
    return info
