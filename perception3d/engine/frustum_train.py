"""Training of the Frustum PointNet 3D stage on frustums of ground-truth 2D boxes.

Each Car/Pedestrian/Cyclist label with at least ``min_object_points`` LiDAR points inside its
3D box (and inside its 2D box's frustum) is one training object. Its frustum is collected once
for a 2D box enlarged by the jitter range; each time it is drawn, the 2D box is jittered
(centre shift, scale: the paper's 2D box augmentation), the points whose projection lies in
the jittered box are rotated to its frustum frame, N of them sampled, and the frustum is
mirrored (x -> -x, ry -> pi - ry) with probability 0.5 (the authors' code's random flip).
Segmentation labels: the points inside the ground-truth 3D box (``points_in_boxes``).

Determinism: model init from ``train.seed``; the object order of epoch e from ``(seed, e)``,
each object's jitter, sampling and flip from ``(seed, e, index)``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from perception3d.atomic import atomic_write_text
from perception3d.data.frustums import (
    boxes_cam_to_frustum,
    frustum_angle,
    frustum_mask_uv,
    rotate_y,
    sample_points,
)
from perception3d.data.kitti import KittiObjectDataset
from perception3d.engine.frustum_checkpoint import load_frustum_checkpoint, save_frustum_checkpoint
from perception3d.engine.frustum_config import FrustumExperiment
from perception3d.geometry.boxes import points_in_boxes
from perception3d.geometry.calib import Calibration, boxes_cam_to_lidar
from perception3d.models.frustum import FrustumPointNet
from perception3d.models.frustum_coder import compute_frustum_loss
from perception3d.runtime import seed_everything, torch_threads


@dataclass
class FrustumObject:
    """One training object: the points of its enlarged frustum.

    Attributes:
        points_rect: (P, 4) float32 ``[x, y, z, intensity]`` rectified camera frame.
        uv_img: (P, 2) float32 image_2 projections.
        inside: (P,) bool, inside the ground-truth 3D box.
        box_cam: (7,) ``[x, y, z, l, h, w, ry]`` KITTI box (bottom centre).
        bbox: (4,) the label's 2D box.
        class_index: index into the model's classes.
        calib: the frame's calibration.
    """

    points_rect: np.ndarray
    uv_img: np.ndarray
    inside: np.ndarray
    box_cam: np.ndarray
    bbox: np.ndarray
    class_index: int
    calib: Calibration


def collect_frustum_objects(
    dataset: KittiObjectDataset,
    classes: tuple[str, ...],
    margin: float,
    min_object_points: int,
    progress: bool = True,
) -> list[FrustumObject]:
    """Training objects of a split (see the module docstring); ``margin``: fraction of the 2D
    box size added on each side."""
    objects = []
    for frame in tqdm(dataset, desc="collect frustums", disable=not progress, leave=False):
        labels = [o for o in frame.objects if o.type in classes]
        if not labels:
            continue
        pts, calib = frame.points, frame.calib
        rect = calib.lidar_to_rect(pts)
        uv, depth = calib.rect_to_image(rect)
        boxes_lidar = boxes_cam_to_lidar(np.array([o.box_cam for o in labels]), calib)
        inside = points_in_boxes(pts, boxes_lidar, return_mask=True)  # (N, M)
        for j, obj in enumerate(labels):
            bbox = np.asarray(obj.bbox, dtype=np.float64)
            if (frustum_mask_uv(uv, depth, bbox) & inside[:, j]).sum() < min_object_points:
                continue
            wh = bbox[2:] - bbox[:2]
            big = np.concatenate([bbox[:2] - margin * wh, bbox[2:] + margin * wh])
            keep = frustum_mask_uv(uv, depth, big)
            objects.append(
                FrustumObject(
                    np.concatenate([rect[keep], pts[keep, 3:4]], axis=1).astype(np.float32),
                    uv[keep].astype(np.float32),
                    inside[keep, j],
                    obj.box_cam,
                    bbox,
                    classes.index(obj.type),
                    calib,
                )
            )
    return objects


def make_training_frustum(
    obj: FrustumObject,
    num_points: int,
    jitter_shift: float,
    jitter_scale: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One augmented frustum: ``(points (N, 4) frustum frame, seg labels (N,), box (7,))``."""
    x1, y1, x2, y2 = obj.bbox
    w, h = x2 - x1, y2 - y1
    cx = (x1 + x2) / 2 + rng.uniform(-jitter_shift, jitter_shift) * w
    cy = (y1 + y2) / 2 + rng.uniform(-jitter_shift, jitter_shift) * h
    w *= rng.uniform(1 - jitter_scale, 1 + jitter_scale)
    h *= rng.uniform(1 - jitter_scale, 1 + jitter_scale)
    box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    ones = np.ones(len(obj.uv_img))
    mask = frustum_mask_uv(obj.uv_img, ones, box)
    if not (mask & obj.inside).any():  # the jitter lost the object: use the label's box
        box, mask = obj.bbox, frustum_mask_uv(obj.uv_img, ones, obj.bbox)
    index = np.flatnonzero(mask)
    index = index[sample_points(num_points, len(index), rng)]
    angle = frustum_angle(box, obj.calib)
    pts = rotate_y(obj.points_rect[index], -angle)
    target = boxes_cam_to_frustum(obj.box_cam, angle)[0]
    if rng.random() < 0.5:
        pts[:, 0] *= -1
        target[0] *= -1
        target[6] = np.pi - target[6]
    return pts.astype(np.float32), obj.inside[index].astype(np.int64), target


def build_frustum_model(cfg: FrustumExperiment) -> FrustumPointNet:
    m = cfg.model
    return FrustumPointNet(
        m.classes, m.size_templates_m, m.num_points, m.min_frustum_points, 4,
        m.num_heading_bins, m.num_object_points, m.seg_local_channels, m.seg_global_channels,
        m.seg_head_channels, m.center_channels, m.center_head_channels, m.box_channels,
        m.box_head_channels,
    )  # fmt: skip


def load_frustum_model(path: str | Path) -> FrustumPointNet:
    """The 3D stage of a checkpoint, in eval mode."""
    ckpt = load_frustum_checkpoint(path, "frustum")
    model = build_frustum_model(ckpt["experiment"])
    model.load_state_dict(ckpt["model"])
    return model.eval()


def train_frustum(
    cfg: FrustumExperiment,
    out_dir: str | Path,
    resume: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """Train, checkpoint every epoch (``out_dir/latest.pt``), then run the 3D stage on the val
    split's ground-truth 2D boxes (``out_dir/val_gt2d/``) and evaluate it.

    Returns:
        The history (``out_dir/history.json``): per-epoch mean losses and seconds, ``val``.
    """
    with torch_threads(cfg.train.num_threads):
        return _train(cfg, Path(out_dir), resume, progress)


def _train(cfg: FrustumExperiment, out_dir: Path, resume, progress: bool) -> dict:
    tc, mc = cfg.train, cfg.model
    seed_everything(tc.seed)
    model = build_frustum_model(cfg)
    ds = KittiObjectDataset(tc.data_root, tc.train_split)
    if tc.max_train_frames is not None:
        ds.ids = ds.ids[: tc.max_train_frames]
    margin = tc.jitter_shift + tc.jitter_scale / 2 + 0.02
    objects = collect_frustum_objects(ds, mc.classes, margin, tc.min_object_points, progress)
    if not objects:
        raise ValueError(f"{tc.data_root}: no training objects in {tc.train_split!r}")
    steps = math.ceil(len(objects) / tc.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr_max, weight_decay=tc.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=tc.lr_max, total_steps=tc.epochs * steps, pct_start=0.2
    )
    history: dict = {"epochs": [], "objects": len(objects)}
    start = 0
    if resume is not None:
        ckpt = load_frustum_checkpoint(resume, "frustum")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        start, history = ckpt["epoch"], ckpt["extra"].get("history", history)
    eye = torch.eye(len(mc.classes))
    for epoch in range(start, tc.epochs):
        t0 = time.perf_counter()
        model.train()
        order = np.random.default_rng([tc.seed, epoch]).permutation(len(objects))
        sums: dict[str, float] = {}
        bar = tqdm(range(steps), desc=f"3d epoch {epoch + 1}", disable=not progress)
        for step in bar:
            idx = order[step * tc.batch_size : (step + 1) * tc.batch_size]
            if len(idx) < 2:  # batch norm needs two samples
                continue
            items = [
                make_training_frustum(
                    objects[i],
                    mc.num_points,
                    tc.jitter_shift,
                    tc.jitter_scale,
                    np.random.default_rng([tc.seed, epoch, int(i)]),
                )
                for i in idx
            ]
            cls = torch.tensor([objects[i].class_index for i in idx])
            pts = torch.from_numpy(np.stack([it[0] for it in items]))
            out = model(pts, eye[cls])
            loss, parts = compute_frustum_loss(
                out,
                torch.from_numpy(np.stack([it[1] for it in items])),
                torch.from_numpy(np.stack([it[2] for it in items])).float(),
                cls,
                model.templates_lhw,
                tc.corner_loss_weight,
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            sched.step()
            parts["loss"] = float(loss.detach())
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            bar.set_postfix(loss=f"{sums['loss'] / (step + 1):.3f}")
        record = {k: v / steps for k, v in sums.items()}
        record.update(epoch=epoch + 1, seconds=time.perf_counter() - t0)
        history["epochs"].append(record)
        save_frustum_checkpoint(
            out_dir / "latest.pt", "frustum", model, cfg, epoch + 1, opt, sched,
            {"history": history},
        )  # fmt: skip
    from perception3d.engine.frustum_infer import evaluate_results, infer_frustum

    model.eval()
    val_dir = out_dir / "val_gt2d"
    infer_frustum(None, model, tc.data_root, tc.val_split, val_dir,
                  max_frames=tc.max_val_frames, progress=progress)  # fmt: skip
    history["val"] = evaluate_results(tc.data_root, val_dir, tc.val_split, tc.max_val_frames)
    atomic_write_text(out_dir / "history.json", json.dumps(history, indent=2))
    save_frustum_checkpoint(
        out_dir / "latest.pt", "frustum", model, cfg, tc.epochs, opt, sched,
        {"history": history},
    )  # fmt: skip
    return history
