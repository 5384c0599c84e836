"""What a training run checks before it starts: its output folder, and the checkpoint it
resumes from (kind, model, schedule), which it then loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from perception3d.checkpoint import CheckpointError, is_release
from perception3d.engine.checkpoint import load_checkpoint
from perception3d.engine.config import TrainConfig
from perception3d.engine.optim import schedule_length
from perception3d.errors import OutputExistsError


def check_out_dir(out_dir: Path, resume: str | Path | None) -> None:
    """Refuse to train into a folder that holds another run's checkpoints: without
    ``resume``, or when resuming from a checkpoint of another folder (its checkpoints would
    be replaced).

    Raises:
        OutputExistsError: naming the checkpoints found and what to do.
    """
    found = sorted(p.name for p in Path(out_dir).glob("checkpoint_epoch_*.pt"))
    found += ["latest.pt"] if (Path(out_dir) / "latest.pt").is_file() else []
    if not found:
        return
    if resume is not None and Path(resume).resolve().parent == Path(out_dir).resolve():
        return
    shown = ", ".join(found[-3:])
    raise OutputExistsError(
        f"{out_dir} already holds a training run ({shown}); continue it with --resume "
        f"{Path(out_dir) / 'latest.pt'}, or give another --out"
    )


def restore_run(
    path: str | Path,
    expected: Any,
    tc: TrainConfig,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler,
) -> tuple[int, int, dict]:
    """Load a checkpoint into a run about to resume: the weights, optimizer and schedule.

    Returns:
        (completed epochs, completed steps, history).

    Raises:
        CheckpointError: another kind or model, a weights-only file, or a schedule other than
            this run's (checked before any step: another epoch count, learning rate... or
            another number of steps per epoch).
    """
    path = Path(path)
    ckpt = load_checkpoint(path, expected)
    if is_release(ckpt):
        raise CheckpointError(
            f"{path}: weights only (a release), it cannot be resumed; start a new run from "
            f"its weights with --set train.init_weights={path}"
        )
    stored = ckpt["experiment"].train
    changed = [k for k in TrainConfig.SCHEDULE_KEYS if getattr(stored, k) != getattr(tc, k)]
    hint = f"; to train on from its weights, start a new run with --set train.init_weights={path}"
    if changed:
        pairs = ", ".join(f"train.{k} {getattr(tc, k)} (checkpoint: {getattr(stored, k)})"
                          for k in changed)  # fmt: skip
        raise CheckpointError(f"{path}: resuming needs the checkpoint's schedule: {pairs}{hint}")
    own, theirs = schedule_length(scheduler.state_dict()), schedule_length(ckpt["scheduler"])
    if own != theirs:
        raise CheckpointError(
            f"{path}: the checkpoint's schedule has {theirs} steps, this run {own} "
            f"({tc.epochs} epochs of {own // tc.epochs} steps: did the data change?){hint}"
        )
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    progress = ckpt["progress"]
    history = ckpt["extra"].get("history", {"epochs": []})
    return int(progress["epoch"]), int(progress.get("step", 0)), history
