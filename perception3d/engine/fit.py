"""The one training loop: ``fit(task, train_config, out_dir, resume=None)`` trains any
:class:`~perception3d.engine.task.Task`.

What it does for every model family: the optimizer and schedule of the ``train:`` section
(AdamW or Adam; one-cycle, cosine or constant), gradient clipping, data parallelism under
``torchrun`` (gloo on CPU, nccl on CUDA), TensorBoard scalars, tqdm progress, validation every
``validate_every`` epochs and after the last, an atomic checkpoint every epoch
(``checkpoint_epoch_NNN.pt`` and ``latest.pt``, :mod:`perception3d.checkpoint`),
``history.json``, and at the end the weights-only ``model.pt`` and ``metrics.json``.

Determinism: torch is seeded with ``train.seed`` before the model is built, and a task's
batches depend only on (seed, epoch, index); nothing else draws random numbers. So on CPU the
same config gives the same weights, and a run resumed from the checkpoint of epoch e continues
exactly as the uninterrupted run did. A run refuses an output folder that holds another run's
checkpoints (without ``resume``) and a resume whose schedule differs from the checkpoint's.
"""

from __future__ import annotations

import json
import os
import resource
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from perception3d.atomic import atomic_write_text
from perception3d.checkpoint import make_checkpoint, release_checkpoint_file, write_checkpoint
from perception3d.config import to_dict
from perception3d.engine.config import TrainConfig
from perception3d.engine.distributed import (
    DistInfo,
    barrier,
    broadcast_buffers,
    cleanup,
    init_distributed,
)
from perception3d.engine.interrupt import InterruptGuard, sigint_guard
from perception3d.engine.optim import build_optimizer, build_scheduler
from perception3d.engine.resume import check_out_dir, restore_run
from perception3d.engine.task import Task
from perception3d.runtime import resolve_device, seed_everything, torch_threads


@dataclass
class FitResult:
    """What :func:`fit` returns: the trained model (unwrapped from DDP), the history (also in
    ``out_dir/history.json``), the output folder and whether this process is the one that
    wrote it (rank 0 under DDP)."""

    model: nn.Module
    history: dict
    out_dir: Path
    main_process: bool = True


@dataclass
class _Run:
    """The state a checkpoint carries besides the weights."""

    config: dict
    history: dict
    epoch: int = 0
    step: int = 0


def fit(
    task: Task,
    train_config: TrainConfig,
    out_dir: str | Path,
    resume: str | Path | None = None,
    progress: bool = True,
) -> FitResult:
    """Train ``task`` with ``train_config``; write checkpoints and logs to ``out_dir``.

    Args:
        task: the model family's task (its ``config`` is stored in every checkpoint, with
            ``train`` replaced by ``train_config``).
        train_config: the ``train:`` section.
        out_dir: output folder (``checkpoint_epoch_NNN.pt``, ``latest.pt``, ``history.json``,
            ``tensorboard/``; at the end ``model.pt`` weights only and ``metrics.json``).
        resume: a checkpoint of this run to continue from (its completed epochs are skipped;
            model and schedule must be the checkpoint's).
        progress: tqdm bars and a line per epoch.

    Raises:
        OutputExistsError: ``out_dir`` holds another run's checkpoints.
        CheckpointError: ``resume`` is of another kind, model or schedule, or weights only.
        KeyboardInterrupt: on Ctrl-C, with the checkpoint to resume from in its message.
    """
    out_dir = Path(out_dir)
    check_out_dir(out_dir, resume)
    device = resolve_device(train_config.device)
    info = init_distributed(device)
    try:
        if info.enabled and not getattr(task, "distributed", True):
            raise ValueError(f"task {task.config.task!r} does not train data-parallel (torchrun)")
        threads = train_config.num_threads
        if threads is None and info.enabled and device.type == "cpu":
            threads = max(1, (os.cpu_count() or 1) // info.world_size)
        with torch_threads(task.threads(threads, device)):
            return _fit(task, train_config, out_dir, resume, progress, device, info)
    finally:
        cleanup(info)


def _fit(task, tc: TrainConfig, out_dir: Path, resume, progress, device, info) -> FitResult:
    seed_everything(tc.seed)
    model = task.build_model().to(device)
    if tc.init_weights is not None and resume is None:
        task.load_init(model, tc.init_weights)
    task.prepare(progress)
    steps = task.steps_per_epoch(info)
    if steps < 1:
        raise ValueError(f"task {task.config.task!r}: no training batch in an epoch "
                         f"(too few samples for train.batch_size {tc.batch_size}?)")  # fmt: skip
    optimizer = build_optimizer(task.trainable(model), tc)
    scheduler = build_scheduler(optimizer, tc, tc.epochs * steps)
    config = {**to_dict(task.config), "train": to_dict(tc)}
    history = {"epochs": [], "world_size": info.world_size, "device": str(device)}
    run = _Run(config, {**history, **task.describe()})
    if resume is not None:
        run.epoch, run.step, run.history = restore_run(
            resume, task.config, tc, model, optimizer, scheduler
        )
    wrapped = model
    if info.enabled:
        wrapped = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    writer = _open_writer(out_dir / "tensorboard") if info.is_main else None
    released = False
    with sigint_guard() as stop:
        try:
            for epoch in range(run.epoch, tc.epochs):
                record = _train_epoch(task, wrapped, optimizer, scheduler, tc, run, epoch, info,
                                      writer, progress, stop)  # fmt: skip
                broadcast_buffers(model, info)
                if info.is_main and _validates(tc, epoch):
                    record["val"] = _validate(task, model, out_dir, progress, writer, epoch + 1)
                barrier(info)
                run.history["epochs"].append(record)
                run.epoch = epoch + 1
                if info.is_main:
                    with stop.deferred():  # a Ctrl-C here stops the run once the files exist
                        _save_epoch(task, model, optimizer, scheduler, run, out_dir, writer,
                                    progress)  # fmt: skip
                barrier(info)
            if info.is_main:
                with stop.deferred():  # model.pt is whole when a Ctrl-C here takes effect
                    released = _release(task, out_dir, run)
        except KeyboardInterrupt:
            latest = out_dir / "latest.pt"
            if released:
                done = f"training stopped after its last epoch ({run.epoch})"
                raise KeyboardInterrupt(f"{done}; {out_dir / 'model.pt'} was written") from None
            where = f"resume with --resume {latest}" if latest.is_file() else "no epoch completed"
            raise KeyboardInterrupt(f"training stopped in epoch {run.epoch + 1}; {where}") from None
        finally:
            if writer is not None:
                writer.close()
    return FitResult(model, run.history, out_dir, info.is_main)


def _train_epoch(task, model, optimizer, scheduler, tc, run: _Run, epoch, info: DistInfo,
                 writer, progress, stop: InterruptGuard) -> dict:  # fmt: skip
    """One epoch of optimizer steps; returns the epoch's record (mean loss and parts, lr,
    time). A Ctrl-C whose ``KeyboardInterrupt`` was lost stops it before the next step."""
    t0, cpu0 = time.perf_counter(), _cpu_seconds()
    model.train()
    sums: dict[str, float] = defaultdict(float)
    count = 0
    bar = tqdm(task.batches(epoch, info), total=task.steps_per_epoch(info), unit="step",
               desc=f"epoch {epoch + 1}/{tc.epochs}",
               disable=not (progress and info.is_main))  # fmt: skip
    for batch in bar:
        stop.check()
        loss, parts = task.loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # the one backward pass of the package
        if tc.grad_clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip_norm)
        optimizer.step()
        scheduler.step()
        run.step, count = run.step + 1, count + 1
        value = float(loss.detach())
        sums["loss"] += value
        for key, part in parts.items():
            sums[key] += float(part)
        bar.set_postfix(loss=f"{sums['loss'] / count:.3f}")
        if writer is not None and run.step % tc.log_every == 0:
            writer.add_scalar("train/loss", value, run.step)
            for key, part in parts.items():
                writer.add_scalar(f"train/{key}_loss", float(part), run.step)
            writer.add_scalar("train/lr", scheduler.get_last_lr()[0], run.step)
    record = {key: total / max(count, 1) for key, total in sums.items()}
    record.update(epoch=epoch + 1, steps=run.step, lr=scheduler.get_last_lr()[0])
    record["seconds"] = time.perf_counter() - t0
    record["cpu_seconds"] = _cpu_seconds() - cpu0
    return record


def _validates(tc: TrainConfig, epoch: int) -> bool:
    """Whether epoch ``epoch`` (0-based) ends with a validation."""
    every = tc.validate_every
    return every > 0 and ((epoch + 1) % every == 0 or epoch + 1 == tc.epochs)


def _validate(task, model: nn.Module, out_dir: Path, progress, writer, epoch: int) -> dict:
    model.eval()
    try:
        with torch.no_grad():
            result = task.evaluate(model, out_dir, progress)
    finally:
        model.train()
    if writer is not None:
        for key, value in result.get("scalars", {}).items():
            writer.add_scalar(f"val/{key}", value, epoch)
    return result


def _save_epoch(task, model, optimizer, scheduler, run: _Run, out_dir, writer, progress) -> None:
    record = run.history["epochs"][-1]
    if writer is not None:
        writer.add_scalar("epoch/loss", record.get("loss", 0.0), run.epoch)
        writer.flush()
    ckpt = make_checkpoint(
        task.config.kind, model.state_dict(), run.config, {"epoch": run.epoch, "step": run.step},
        optimizer.state_dict(), scheduler.state_dict(), {"history": run.history},
    )  # fmt: skip
    path = write_checkpoint(out_dir / f"checkpoint_epoch_{run.epoch:03d}.pt", ckpt)
    write_checkpoint(out_dir / "latest.pt", ckpt)
    atomic_write_text(out_dir / "history.json", json.dumps(run.history, indent=2))
    if progress:
        val = record.get("val", {}).get("summary", "")
        print(f"epoch {run.epoch}: loss {record.get('loss', float('nan')):.4f} "
              f"({record['seconds']:.0f} s) -> {path.name} {val}".rstrip())  # fmt: skip


def _release(task, out_dir: Path, run: _Run) -> bool:
    """``model.pt`` (weights only, with the last validation and the task's loader data) and
    ``metrics.json`` (the last validation); False when no epoch was saved to release."""
    latest = out_dir / "latest.pt"
    if not latest.is_file():
        return False
    vals = [r["val"] for r in run.history["epochs"] if "val" in r]
    note = {"metrics": vals[-1] if vals else {}, **task.release_extra()}
    release_checkpoint_file(latest, out_dir / "model.pt", note)
    if vals:
        atomic_write_text(out_dir / "metrics.json", json.dumps(vals[-1], indent=2) + "\n")
    return True


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
