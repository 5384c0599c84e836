"""The training loop: AdamW + one-cycle, gradient clipping, a checkpoint every epoch (atomic),
resume, per-epoch KITTI validation, TensorBoard scalars, tqdm progress; data-parallel under
``torchrun`` (gloo on CPU, nccl on CUDA).

Determinism: the model is initialised from ``train.seed``; the frame order of epoch e comes
from ``(seed, e)`` and each sample's augmentation from ``(seed, e, index)``; nothing else
draws random numbers. So on CPU the same config gives the same weights, and a run resumed from
the checkpoint of epoch e continues exactly as the uninterrupted run did.
"""

from __future__ import annotations

import json
import math
import os
import resource
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from perception3d.atomic import atomic_write_text
from perception3d.data.dataset import LidarDetectionDataset, collate_batch
from perception3d.engine.checkpoint import load_checkpoint, save_checkpoint
from perception3d.engine.config import ExperimentConfig
from perception3d.engine.distributed import (
    DistInfo,
    EpochSampler,
    barrier,
    broadcast_buffers,
    cleanup,
    init_distributed,
)
from perception3d.engine.infer import voxel_batch
from perception3d.engine.validate import validate
from perception3d.lidar.pipeline import build_augmentation
from perception3d.models.anchors import AnchorTargetAssigner
from perception3d.models.detector import VoxelDetector, build_detector
from perception3d.models.losses import AnchorTargets
from perception3d.runtime import resolve_device, seed_everything, torch_threads


@dataclass
class TrainResult:
    """What :func:`train` returns: the trained detector (unwrapped from DDP), the history
    (also in ``out_dir/history.json``) and the output folder."""

    model: VoxelDetector
    history: dict
    out_dir: Path


def _open_writer(log_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # the 'train' extra is missing
        warnings.warn("tensorboard is not installed: no TensorBoard logs", stacklevel=2)
        return None
    return SummaryWriter(str(log_dir))


def _cpu_seconds() -> float:
    """CPU time (user + system, all threads) of this process and its finished children: the
    DataLoader workers of an epoch have exited by the time the epoch's figure is taken."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _targets(batch: dict, device: torch.device) -> AnchorTargets:
    return AnchorTargets(
        batch["anchor_labels"].to(device),
        batch["anchor_gt_index"].to(device),
        batch["gt_boxes_lidar"].to(device),
    )


def build_datasets(cfg: ExperimentConfig, model_cfg=None):
    """Training and validation datasets of an experiment (training with augmentation and
    anchor targets)."""
    model_cfg = model_cfg or cfg.model
    train_ds = LidarDetectionDataset(
        cfg.data.root,
        cfg.data.train_split,
        model_cfg.voxel,
        transforms=build_augmentation(cfg.augmentation),
        assign_targets=AnchorTargetAssigner(model_cfg),
        training=True,
        fov_only=cfg.data.fov_only,
        fov_rule=cfg.data.fov_rule,
        seed=cfg.train.seed,
        point_source=cfg.data.point_source,
        point_features=model_cfg.point_features,
    )
    if cfg.train.max_train_frames is not None:
        train_ds.kitti.ids = train_ds.kitti.ids[: cfg.train.max_train_frames]
    val_ds = None
    if cfg.train.validate_every > 0:
        val_ds = LidarDetectionDataset(
            cfg.data.root,
            cfg.data.val_split,
            model_cfg.voxel,
            fov_only=cfg.data.fov_only,
            fov_rule=cfg.data.fov_rule,
            point_source=cfg.data.point_source,
            point_features=model_cfg.point_features,
        )
        if cfg.train.max_val_frames is not None:
            val_ds.kitti.ids = val_ds.kitti.ids[: cfg.train.max_val_frames]
    return train_ds, val_ds


def train(
    cfg: ExperimentConfig,
    out_dir: str | Path,
    resume: str | Path | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train a detector; write checkpoints, ``history.json`` and TensorBoard logs to ``out_dir``.

    Args:
        cfg: the experiment.
        out_dir: output folder (``checkpoint_epoch_NNN.pt``, ``latest.pt``, ``history.json``,
            ``tensorboard/``).
        resume: a checkpoint of this experiment's model to continue from (its completed
            epochs are skipped).
        progress: show tqdm bars.

    Returns:
        :class:`TrainResult`; its history holds per-epoch mean losses, learning rate, seconds,
        and validation results when run.
    """
    out_dir = Path(out_dir)
    tc = cfg.train
    device = resolve_device(tc.device)
    info = init_distributed(device)
    try:
        return _train(cfg, out_dir, resume, progress, device, info)
    finally:
        cleanup(info)


def cpu_training_threads(model_type: str, threads: int | None, device: torch.device):
    """The torch thread count a training run uses: ``threads``, except SECOND on the CPU,
    which trains on one thread. spconv's CPU backward of submanifold convolutions is not
    thread-safe: at 2 threads the input gradients were wrong in 11 of 60 identical runs
    (absolute errors up to 0.14; exact at 1 thread; tests/models/test_second.py), the CPU
    counterpart of spconv issue #679."""
    if device.type == "cpu" and model_type == "second" and threads != 1:
        warnings.warn(
            "SECOND trains on 1 CPU thread: spconv's CPU backward is not thread-safe",
            stacklevel=2,
        )
        return 1
    return threads


def _train(cfg, out_dir, resume, progress, device, info: DistInfo) -> TrainResult:
    tc = cfg.train
    threads = tc.num_threads
    if threads is None and info.enabled and device.type == "cpu":
        threads = max(1, (os.cpu_count() or 1) // info.world_size)
    threads = cpu_training_threads(cfg.model.type, threads, device)
    with torch_threads(threads):
        return _train_body(cfg, out_dir, resume, progress, device, info)


def _train_body(cfg, out_dir, resume, progress, device, info: DistInfo) -> TrainResult:
    tc = cfg.train
    seed_everything(tc.seed)
    model: VoxelDetector = build_detector(cfg.model).to(device)
    if tc.init_weights is not None and resume is None:
        from perception3d.models.fusion import load_expanded_state

        init = load_checkpoint(tc.init_weights)
        model.load_state_dict(load_expanded_state(init["model"], model.state_dict()))
    train_ds, val_ds = build_datasets(cfg)
    if len(train_ds) == 0:
        raise ValueError(f"{cfg.data.root}: training split {cfg.data.train_split!r} is empty")
    sampler = EpochSampler(len(train_ds), tc.seed, True, info.rank, info.world_size)
    steps_per_epoch = math.ceil(len(sampler) / tc.batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=tc.lr_max, weight_decay=tc.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=tc.lr_max,
        total_steps=tc.epochs * steps_per_epoch,
        pct_start=tc.pct_start,
        div_factor=tc.div_factor,
        final_div_factor=tc.final_div_factor,
        base_momentum=0.85,  # AdamW beta1 cycled 0.95 -> 0.85 -> 0.95 (OpenPCDet's adam_onecycle)
        max_momentum=0.95,
    )
    history: dict = {"epochs": [], "world_size": info.world_size, "device": str(device)}
    start_epoch = 0
    if resume is not None:
        ckpt = load_checkpoint(resume, expected=cfg)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        start_epoch = ckpt["epoch"]
        history = ckpt["extra"].get("history", history)
    core = model
    if info.enabled:
        model = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    writer = _open_writer(out_dir / "tensorboard") if info.is_main else None
    step = start_epoch * steps_per_epoch
    for epoch in range(start_epoch, tc.epochs):
        t0, cpu0 = time.perf_counter(), _cpu_seconds()
        train_ds.set_epoch(epoch)
        sampler.set_epoch(epoch)
        loader = DataLoader(
            train_ds,
            batch_size=tc.batch_size,
            sampler=sampler,
            collate_fn=collate_batch,
            num_workers=tc.num_workers,
        )
        model.train()
        sums = {"loss": 0.0, "cls": 0.0, "box": 0.0, "dir": 0.0}
        bar = tqdm(
            loader,
            desc=f"epoch {epoch + 1}/{tc.epochs}",
            unit="step",
            disable=not (progress and info.is_main),
        )
        for batch in bar:
            head = model(voxel_batch(batch, device))
            loss, parts = core.compute_loss(head, _targets(batch, device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip_norm)
            optimizer.step()
            scheduler.step()
            step += 1
            sums["loss"] += float(loss.detach())
            for k, v in parts.items():
                sums[k] += float(v)
            bar.set_postfix(loss=f"{sums['loss'] / (bar.n + 1):.3f}")
            if writer is not None and step % tc.log_every == 0:
                writer.add_scalar("train/loss", float(loss.detach()), step)
                for k, v in parts.items():
                    writer.add_scalar(f"train/{k}_loss", float(v), step)
                writer.add_scalar("train/lr", scheduler.get_last_lr()[0], step)
        broadcast_buffers(core, info)
        n = max(len(loader), 1)
        record = {k: v / n for k, v in sums.items()}
        record.update(epoch=epoch + 1, steps=step, lr=scheduler.get_last_lr()[0])
        record["seconds"] = time.perf_counter() - t0
        record["cpu_seconds"] = _cpu_seconds() - cpu0
        last = epoch + 1 == tc.epochs
        if val_ds is not None and info.is_main and ((epoch + 1) % tc.validate_every == 0 or last):
            record["val"] = validate(core, val_ds, device, progress=progress)
            if writer is not None:
                for key, value in record["val"].get("scalars", {}).items():
                    writer.add_scalar(f"val/{key}", value, epoch + 1)
        barrier(info)
        history["epochs"].append(record)
        if info.is_main:
            if writer is not None:
                writer.add_scalar("epoch/loss", record["loss"], epoch + 1)
                writer.flush()
            extra = {"history": history}
            path = save_checkpoint(
                out_dir / f"checkpoint_epoch_{epoch + 1:03d}.pt",
                core,
                optimizer,
                epoch + 1,
                cfg,
                scheduler,
                extra,
            )
            save_checkpoint(
                out_dir / "latest.pt", core, optimizer, epoch + 1, cfg, scheduler, extra
            )
            atomic_write_text(out_dir / "history.json", json.dumps(history, indent=2))
            if progress:
                val = record.get("val", {}).get("summary", "")
                print(
                    f"epoch {epoch + 1}: loss {record['loss']:.4f} ({record['seconds']:.0f} s) "
                    f"-> {path.name} {val}"
                )
        barrier(info)
    if writer is not None:
        writer.close()
    return TrainResult(core, history, out_dir)
