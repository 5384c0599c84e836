"""Training entry points: any experiment config -> its task module ->
:func:`perception3d.engine.fit.fit`. ``perception3d train CONFIG`` is
:func:`train_config_file`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from perception3d.engine.config import (
    TASKS,
    defaults_with,
    experiment_class,
    load_object,
    load_task_config,
)
from perception3d.engine.fit import FitResult, fit
from perception3d.engine.task import Task


def build_task(cfg: Any) -> Task:
    """The :class:`Task` of an experiment config (by its ``task``,
    :data:`perception3d.engine.config.TASKS`)."""
    return load_object(TASKS[cfg.task][1])(cfg)


def train(
    cfg: Any, out_dir: str | Path, resume: str | Path | None = None, progress: bool = True
) -> FitResult:
    """Train any experiment (a loaded config dataclass) into ``out_dir``
    (:func:`perception3d.engine.fit.fit`)."""
    return fit(build_task(cfg), cfg.train, out_dir, resume, progress)


def default_out_dir(config: str | Path) -> Path:
    """Where ``perception3d train CONFIG`` writes without ``--out``:
    ``outputs/train/<config name>``."""
    return Path("outputs") / "train" / Path(config).stem


def train_config_file(
    config: str | Path | None,
    overrides: Iterable[str] = (),
    out_dir: str | Path | None = None,
    resume: str | Path | None = None,
    progress: bool = True,
    task: str | None = None,
) -> FitResult:
    """``perception3d train CONFIG [--set k=v] [--out DIR] [--resume CKPT]``.

    Args:
        config: an experiment YAML; None: the defaults of ``task``'s experiment (for the
            commands whose config is optional), with ``overrides``.
        overrides: ``--set`` strings, applied last.
        out_dir: output folder (default: :func:`default_out_dir`).
        resume: a checkpoint of this run to continue from.
        progress: progress bars and per-epoch lines.
        task: the task of the defaults when ``config`` is None.
    """
    if config is None:
        if task is None:
            raise ValueError("give a config file or a task")
        cfg = defaults_with(experiment_class(task), overrides)
        out = out_dir or Path("outputs") / "train" / task
    else:
        cfg = load_task_config(config, overrides)
        out = out_dir or default_out_dir(config)
    return train(cfg, out, resume, progress)
