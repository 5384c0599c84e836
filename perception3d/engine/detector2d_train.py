"""Training of the 2D image detector (:mod:`perception3d.models.detector2d`) on ``image_2`` +
``label_2`` 2D boxes, and its KITTI ``bbox`` evaluation.

Targets: Car, Pedestrian, Cyclist boxes are positives; DontCare regions are ignored for every
class, Van for Car and Person_sitting for Pedestrian (the KITTI protocol ignores those
detections rather than counting them false, REFERENCE.md), other types are background.

Determinism: model init from ``train.seed``; the frame order of epoch e from ``(seed, e)``,
each sample's augmentation (horizontal flip, crop, brightness/gamma) from ``(seed, e, index)``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from perception3d.atomic import atomic_write_text
from perception3d.data.kitti import KittiObject, KittiObjectDataset
from perception3d.engine.frustum_checkpoint import load_frustum_checkpoint, save_frustum_checkpoint
from perception3d.engine.frustum_config import Detector2DExperiment
from perception3d.models.detector2d import (
    STRIDE,
    CenterNet2D,
    compute_loss_2d,
    encode_targets_2d,
    resize_image,
)
from perception3d.runtime import seed_everything, torch_threads

# KITTI neighbouring classes whose detections the protocol ignores (not counted as false).
IGNORED_AS = {"Van": "Car", "Person_sitting": "Pedestrian"}


def boxes_2d_targets(
    objects: Sequence[KittiObject], classes: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positive and ignored 2D boxes of one frame's labels (image pixels).

    Returns:
        boxes (M, 4), labels (M,) class indices, ignore_boxes (G, 4), ignore_labels (G,)
        (-1: every class).
    """
    boxes, labels, ign, ign_labels = [], [], [], []
    for o in objects:
        if o.type in classes:
            boxes.append(o.bbox)
            labels.append(classes.index(o.type))
        elif o.is_dontcare:
            ign.append(o.bbox)
            ign_labels.append(-1)
        elif IGNORED_AS.get(o.type) in classes:
            ign.append(o.bbox)
            ign_labels.append(classes.index(IGNORED_AS[o.type]))
    return (
        np.array(boxes, dtype=np.float64).reshape(-1, 4),
        np.array(labels, dtype=np.int64),
        np.array(ign, dtype=np.float64).reshape(-1, 4),
        np.array(ign_labels, dtype=np.int64),
    )


def load_resized_images(
    dataset: KittiObjectDataset, input_hw: tuple[int, int], progress: bool = True
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """All images of ``dataset`` resized to ``input_hw`` as (F, 3, H, W) uint8, and each
    frame's original (H, W)."""
    images = np.zeros((len(dataset), 3, *input_hw), dtype=np.uint8)
    sizes = []
    for i, frame in enumerate(tqdm(dataset, desc="load images", disable=not progress)):
        img = torch.from_numpy(frame.image)
        sizes.append(tuple(img.shape[1:]))
        images[i] = (resize_image(img, input_hw)[0] * 255 + 0.5).clamp(0, 255).byte().numpy()
    return images, sizes


def augment_2d(
    image_u8: np.ndarray,
    boxes_in: np.ndarray,
    labels: np.ndarray,
    ign_in: np.ndarray,
    ign_labels: np.ndarray,
    crop_width: int,
    rng: np.random.Generator,
):
    """Random flip, horizontal crop and brightness/gamma of one resized image and its boxes.

    A box cut by the crop to less than half its width becomes an ignore region of its class.
    Returns ``(image float32 (3, H, Wc) in [0, 1], boxes, labels, ign_boxes, ign_labels)``.
    """
    img = image_u8.astype(np.float32) / 255.0
    w = img.shape[2]
    boxes, ign = boxes_in.copy(), ign_in.copy()
    if rng.random() < 0.5:
        img = img[:, :, ::-1]
        boxes[:, [0, 2]] = w - boxes[:, [2, 0]]
        ign[:, [0, 2]] = w - ign[:, [2, 0]]
    if 0 < crop_width < w:
        x0 = int(rng.integers(0, (w - crop_width) // STRIDE + 1)) * STRIDE
        img = img[:, :, x0 : x0 + crop_width]
        boxes[:, [0, 2]] -= x0
        ign[:, [0, 2]] -= x0
        clipped = boxes.copy()
        clipped[:, [0, 2]] = clipped[:, [0, 2]].clip(0, crop_width - 1)
        width = np.maximum(boxes[:, 2] - boxes[:, 0], 1e-6)
        keep = (clipped[:, 2] - clipped[:, 0]) >= 0.5 * width
        ign = np.concatenate([ign, clipped[~keep]])
        ign_labels = np.concatenate([ign_labels, labels[~keep]])
        boxes, labels = clipped[keep], labels[keep]
    gain = rng.uniform(0.6, 1.4)
    gamma = rng.uniform(0.7, 1.4)
    img = np.clip(np.clip(img, 0, 1) ** gamma * gain, 0, 1)
    return np.ascontiguousarray(img), boxes, labels, ign, ign_labels


def build_detector2d(cfg: Detector2DExperiment) -> CenterNet2D:
    m = cfg.model
    return CenterNet2D(
        m.classes, m.channels, m.neck_channels, m.head_channels, m.input_hw,
        m.score_threshold, m.max_detections,
    )  # fmt: skip


def load_detector2d(path: str | Path) -> tuple[CenterNet2D, Detector2DExperiment]:
    """The 2D detector of a checkpoint, in eval mode, and its experiment config."""
    ckpt = load_frustum_checkpoint(path, "detector2d")
    model = build_detector2d(ckpt["experiment"])
    model.load_state_dict(ckpt["model"])
    return model.eval(), ckpt["experiment"]


def train_detector2d(
    cfg: Detector2DExperiment,
    out_dir: str | Path,
    resume: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """Train, checkpoint every epoch (``out_dir/latest.pt``), then evaluate on the val split
    (``out_dir/val_2d/*.txt`` results, ``out_dir/metrics.json``).

    Returns:
        The history dict written to ``out_dir/history.json`` (per-epoch losses, seconds, and
        the final ``val`` metrics: bbox AP_R40 per class and difficulty).
    """
    with torch_threads(cfg.train.num_threads):
        return _train(cfg, Path(out_dir), resume, progress)


def _train(cfg: Detector2DExperiment, out_dir: Path, resume, progress: bool) -> dict:
    tc, mc = cfg.train, cfg.model
    seed_everything(tc.seed)
    model = build_detector2d(cfg)
    ds = KittiObjectDataset(tc.data_root, tc.train_split)
    if tc.max_train_frames is not None:
        ds.ids = ds.ids[: tc.max_train_frames]
    if len(ds) == 0:
        raise ValueError(f"{tc.data_root}: training split {tc.train_split!r} is empty")
    images, sizes = load_resized_images(ds, mc.input_hw, progress)
    targets = []
    for frame, (h, w) in zip(ds, sizes):
        scale = np.array([mc.input_hw[1] / w, mc.input_hw[0] / h] * 2)
        b, lab, ign, ign_lab = boxes_2d_targets(frame.objects, mc.classes)
        targets.append((b * scale, lab, ign * scale, ign_lab))
    steps_per_epoch = math.ceil(len(ds) / tc.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr_max, weight_decay=tc.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=tc.lr_max, total_steps=tc.epochs * steps_per_epoch, pct_start=0.2
    )
    history: dict = {"epochs": []}
    start = 0
    if resume is not None:
        ckpt = load_frustum_checkpoint(resume, "detector2d")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        start, history = ckpt["epoch"], ckpt["extra"].get("history", history)
    crop = tc.crop_width if tc.crop_width else mc.input_hw[1]
    out_hw = (mc.input_hw[0] // STRIDE, crop // STRIDE)
    for epoch in range(start, tc.epochs):
        t0 = time.perf_counter()
        model.train()
        order = np.random.default_rng([tc.seed, epoch]).permutation(len(ds))
        sums = {"loss": 0.0, "heatmap": 0.0, "size": 0.0, "offset": 0.0}
        bar = tqdm(range(steps_per_epoch), desc=f"2d epoch {epoch + 1}", disable=not progress)
        for step in bar:
            idx = order[step * tc.batch_size : (step + 1) * tc.batch_size]
            batch, tgts = [], []
            for i in idx:
                rng = np.random.default_rng([tc.seed, epoch, int(i)])
                img, b, lab, ign, ign_lab = augment_2d(images[i], *targets[i], crop, rng)
                batch.append(img)
                tgts.append(
                    encode_targets_2d(
                        b, lab, ign, ign_lab, len(mc.classes), out_hw, tc.gaussian_alpha
                    )
                )
            loss, parts = compute_loss_2d(model(torch.from_numpy(np.stack(batch))), tgts)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            sched.step()
            sums["loss"] += float(loss.detach())
            for k, v in parts.items():
                sums[k] += v
            bar.set_postfix(loss=f"{sums['loss'] / (step + 1):.3f}")
        record = {k: v / steps_per_epoch for k, v in sums.items()}
        record.update(epoch=epoch + 1, seconds=time.perf_counter() - t0)
        history["epochs"].append(record)
        save_frustum_checkpoint(
            out_dir / "latest.pt", "detector2d", model, cfg, epoch + 1, opt, sched,
            {"history": history},
        )  # fmt: skip
    from perception3d.engine.frustum_infer import evaluate_results, infer_2d

    model.eval()
    val_dir = out_dir / "val_2d"
    infer_2d(model, tc.data_root, tc.val_split, val_dir, max_frames=tc.max_val_frames,
             progress=progress)  # fmt: skip
    history["val"] = evaluate_results(tc.data_root, val_dir, tc.val_split, tc.max_val_frames)
    atomic_write_text(out_dir / "history.json", json.dumps(history, indent=2))
    save_frustum_checkpoint(
        out_dir / "latest.pt", "detector2d", model, cfg, tc.epochs, opt, sched,
        {"history": history},
    )  # fmt: skip
    return history
