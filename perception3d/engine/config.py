"""The experiment schema every training config follows (``configs/**/*.yaml``)::

    task: detector          # which task module trains it (perception3d/engine/tasks/)
    model: {...}            # the network: what a checkpoint must match to load
    data: {root, train_split, val_split, max_train_frames, max_val_frames, ...}
    train: {...}            # TrainConfig: optimisation and run settings, the same for every task

A task may add sections of its own (the detector's ``augmentation:``). This module holds the
shared parts (:class:`TrainConfig`, :class:`DataSection`), the detector experiment
(:class:`ExperimentConfig`) and the loader that picks the experiment class from ``task:``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml

from perception3d.config import (
    DataSection,
    apply_overrides,
    at_least,
    from_dict,
    load_config,
    to_dict,
)
from perception3d.errors import ConfigError
from perception3d.geometry.fov import FovRule
from perception3d.lidar.pipeline import AugmentationConfig
from perception3d.models.config import ModelConfig


@dataclass(frozen=True)
class TrainConfig:
    """``train:`` section: optimisation and run settings (:func:`perception3d.engine.fit.fit`).

    Attributes:
        epochs: passes of the run (an epoch is one pass over the task's data, or
            ``steps_per_epoch`` random batches).
        steps_per_epoch: optimizer steps per epoch for tasks that draw random batches (None:
            one pass over the data).
        batch_size: samples per step and process.
        optimizer: ``adamw`` (decoupled weight decay) or ``adam`` (L2 weight decay).
        lr_max: peak learning rate of the schedule.
        weight_decay: the optimizer's weight decay.
        schedule: ``onecycle`` (Smith & Topin 2018: warm-up then annealing, with the Adam beta1
            cycled 0.95 -> 0.85 -> 0.95 as OpenPCDet's adam_onecycle), ``cosine`` (from
            ``lr_max`` down to ``lr_max * min_lr_ratio``), or ``constant``.
        pct_start, div_factor, final_div_factor: one-cycle shape: warm-up share of the steps,
            initial lr = lr_max / div_factor, final lr = initial lr / final_div_factor.
        min_lr_ratio: cosine: final lr / lr_max.
        grad_clip_norm: gradient norm clip (None: no clipping).
        seed: seeds the model init, the batch order and the augmentation.
        num_workers: DataLoader workers (0 = load in the training process).
        device: ``auto``, ``cpu`` or ``cuda``.
        num_threads: torch CPU threads per process (None: torch's default, divided by the
            number of processes under DDP on CPU).
        validate_every: evaluate every this many epochs and after the last (0: never).
        log_every: steps between TensorBoard scalar writes.
        init_weights: a checkpoint of the same kind whose weights start the run (fine-tuning;
            None: random initialisation).
    """

    epochs: int
    steps_per_epoch: int | None = None
    batch_size: int = 2
    optimizer: Literal["adamw", "adam"] = "adamw"
    lr_max: float = 0.003
    weight_decay: float = 0.01
    schedule: Literal["onecycle", "cosine", "constant"] = "onecycle"
    pct_start: float = 0.4
    div_factor: float = 10.0
    final_div_factor: float = 100.0
    min_lr_ratio: float = 0.0
    grad_clip_norm: float | None = 10.0
    seed: int = 0
    num_workers: int = 0
    device: str = "auto"
    num_threads: int | None = None
    validate_every: int = 1
    log_every: int = 10
    init_weights: Path | None = None

    # keys a resumed run must share with its checkpoint (they define the schedule)
    SCHEDULE_KEYS: ClassVar = ("epochs", "steps_per_epoch", "batch_size", "optimizer",
                               "lr_max", "weight_decay", "schedule", "pct_start", "div_factor",
                               "final_div_factor", "min_lr_ratio")  # fmt: skip

    def __post_init__(self) -> None:
        at_least(self, 1, "epochs", "batch_size", "log_every")
        at_least(self, 0, "num_workers", "validate_every")
        if self.steps_per_epoch is not None:
            at_least(self, 1, "steps_per_epoch")
        if self.num_threads is not None:
            at_least(self, 1, "num_threads")
        for name in ("div_factor", "final_div_factor"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("lr_max", "weight_decay"):  # lr 0: a run that only updates statistics
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 < self.pct_start < 1:
            raise ValueError(f"pct_start must be in (0, 1), got {self.pct_start}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.grad_clip_norm is not None and not self.grad_clip_norm > 0:
            raise ValueError(f"grad_clip_norm must be > 0 or null, got {self.grad_clip_norm}")


def adam_cosine(**settings) -> TrainConfig:
    """The learned ISP networks' recipe: Adam without weight decay, cosine from ``lr_max``
    down to 5 % of it, gradient norm clipped at 1; ``settings`` (epochs, batch size, ...) set
    the rest or replace these."""
    recipe = {"optimizer": "adam", "weight_decay": 0.0, "schedule": "cosine",
              "min_lr_ratio": 0.05, "grad_clip_norm": 1.0}  # fmt: skip
    return TrainConfig(**{**recipe, **settings})


def torch_one_cycle(**settings) -> TrainConfig:
    """One-cycle at torch's default shape (initial lr = lr_max / 25, final = initial / 1e4),
    20 % warm-up, AdamW with weight decay 1e-4; ``settings`` set the rest or replace these."""
    recipe = {"weight_decay": 0.0001, "pct_start": 0.2, "div_factor": 25.0,
              "final_div_factor": 1e4}  # fmt: skip
    return TrainConfig(**{**recipe, **settings})


@dataclass(frozen=True)
class DataConfig(DataSection):
    """``data:`` of a voxel-detector experiment.

    Attributes:
        root: KITTI-layout root (``training/``, ``ImageSets/``).
        fov_only: keep only points that project into image_2 (KITTI labels only cover the
            camera's field of view, so points outside it would be unlabelled objects).
        point_source: ``velodyne`` (``training/velodyne/<id>.bin``, (N, 4)) or
            ``velodyne_painted`` (``training/velodyne_painted/<id>.npy``, (N, 4 + C) painted by
            ``perception3d fusion paint``; the model's ``point_features`` must be 4 + C).
        fov_rule: how the FOV crop decides (:mod:`perception3d.geometry.fov`): ``image``
            (ours), ``openpcdet`` or ``mmdet3d`` (the rules of those frameworks' KITTI data,
            for their checkpoints: docs/interop.md).
        format: ``kitti`` (the KITTI object layout) or ``lidar`` (a LiDAR-only dataset:
            ``points/``, ``labels/`` in the LiDAR frame, any classes, no camera;
            :mod:`perception3d.data.lidar_folder`); splits are ``ImageSets/<name>.txt`` in both,
            ``training`` (or ``all``) meaning every frame. ``kitti_raw``: KITTI raw drives
            (real or ``perception3d synth-drive``; labels from the tracklets,
            :mod:`perception3d.data.drive_frames`), splits are ``ImageSets/<name>.txt`` of
            drive folder names, ``all`` meaning every drive.
        sweeps: earlier sweeps accumulated into each frame, ego-motion compensated, with a
            time-lag channel (``kitti_raw`` only; :mod:`perception3d.lidar.multisweep`); the
            model's ``point_features`` must then be 5 (x, y, z, intensity, dt_s). 0: one sweep.
    """

    fov_only: bool = True
    point_source: Literal["velodyne", "velodyne_painted"] = "velodyne"
    fov_rule: FovRule = "image"
    format: Literal["kitti", "lidar", "kitti_raw"] = "kitti"
    sweeps: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.format not in ("kitti", "lidar", "kitti_raw"):
            raise ValueError(
                f"data.format must be 'kitti', 'lidar' or 'kitti_raw', got {self.format!r}"
            )
        at_least(self, 0, "sweeps")
        if self.sweeps > 0 and (self.format != "kitti_raw" or self.point_source != "velodyne"):
            raise ValueError(
                f"data.sweeps {self.sweeps} needs data.format kitti_raw (drives with poses) "
                "and data.point_source velodyne"
            )
        if self.format == "lidar" and (self.fov_only or self.point_source != "velodyne"):
            raise ValueError(
                "data.format lidar (points/ + labels/, no camera) needs data.fov_only: false "
                "and data.point_source: velodyne"
            )


@dataclass(frozen=True)
class ExperimentConfig:
    """A voxel-detector experiment (PointPillars, SECOND, PointPainting):
    ``configs/models/*.yaml``."""

    model: ModelConfig
    data: DataConfig
    train: TrainConfig
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    task: Literal["detector"] = "detector"

    kind: ClassVar[str] = "detector"  # the checkpoint kind (perception3d.checkpoint.KINDS)
    # model keys that do not change the weights: a checkpoint loads whatever they are
    FREE_MODEL_KEYS: ClassVar = ("postprocess", "loss")

    def __post_init__(self) -> None:
        if self.data.format != "kitti_raw":
            return
        want = 5 if self.data.sweeps > 0 else 4
        if self.model.point_features != want:
            raise ValueError(
                f"data.sweeps {self.data.sweeps} gives points [x, y, z, intensity"
                f"{', dt_s' * (want == 5)}]: model.point_features must be {want}, got "
                f"{self.model.point_features}"
            )


def load_experiment(path: str | Path, overrides: Iterable[str] = ()) -> ExperimentConfig:
    """Load a detector config (``--set key=value`` overrides applied first).

    Example:
        >>> cfg = load_experiment("configs/models/pointpillars_lite.yaml")
        >>> cfg.model.type, cfg.model.classes
        ('pointpillars', ('Car', 'Pedestrian', 'Cyclist'))
    """
    return load_config(path, ExperimentConfig, overrides)


# task name (a config's ``task:``) -> "module:class" of its experiment config and of its task
# (perception3d/engine/tasks/); imported when asked for, so inference that reads a checkpoint's
# config never imports training code. A new model family adds one line here.
TASKS = {
    "detector": ("perception3d.engine.config:ExperimentConfig",
                 "perception3d.engine.tasks.detector:DetectorTask"),
    "detector2d": ("perception3d.engine.frustum_config:Detector2DExperiment",
                   "perception3d.engine.tasks.detector2d:Detector2DTask"),
    "frustum": ("perception3d.engine.frustum_config:FrustumExperiment",
                "perception3d.engine.tasks.frustum:FrustumTask"),
    "segnet": ("perception3d.engine.seg_config:SegExperiment",
               "perception3d.engine.tasks.segnet:SegNetTask"),
    "recognition": ("perception3d.engine.objectnet3d_config:RecognitionExperiment",
                    "perception3d.engine.tasks.recognition:RecognitionTask"),
    "viewpoint": ("perception3d.engine.objectnet3d_config:ViewpointExperiment",
                  "perception3d.engine.tasks.viewpoint:ViewpointTask"),
    "isp": ("perception3d.engine.isp_config:IspExperiment",
            "perception3d.engine.tasks.isp:IspTask"),
    "crf": ("perception3d.engine.isp_config:CrfExperiment",
            "perception3d.engine.tasks.crf:CrfTask"),
    "sr": ("perception3d.engine.sr_config:SrExperiment",
           "perception3d.engine.tasks.sr:SrTask"),
    "temporal_isp": ("perception3d.engine.temporal_isp_config:TemporalIspExperiment",
                     "perception3d.engine.tasks.temporal_isp:TemporalIspTask"),
    "lowlight": ("perception3d.engine.lowlight_config:LowLightExperiment",
                 "perception3d.engine.tasks.lowlight:LowLightTask"),
}  # fmt: skip


def load_object(spec: str) -> Any:
    """The object of a ``"module:name"`` spec (an entry of :data:`TASKS`)."""
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def experiment_class(task: Any, source: str = "config") -> type:
    """The experiment dataclass of ``task`` (a key of :data:`TASKS`).

    Raises:
        ConfigError: an unknown task.
    """
    if task not in TASKS:
        raise ConfigError(f"{source}: 'task' must be one of {sorted(TASKS)}, got {task!r}")
    return load_object(TASKS[task][0])


def load_task_config(path: str | Path, overrides: Iterable[str] = ()) -> Any:
    """Load any experiment config: its ``task:`` picks the dataclass.

    Example:
        >>> type(load_task_config("configs/models/pointpillars_lite.yaml")).__name__
        'ExperimentConfig'
    """
    try:
        head = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from exc
    task = apply_overrides(head if isinstance(head, dict) else {}, overrides).get("task")
    return load_config(path, experiment_class(task, str(path)), overrides)


def experiment_from_dict(config: dict, source: str = "<checkpoint>") -> Any:
    """The experiment dataclass of a plain config (a checkpoint's ``config``)."""
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: config must be a mapping, got {type(config).__name__}")
    return from_dict(experiment_class(config.get("task"), source), config, source=source)


def defaults_with(cls: type, overrides: Iterable[str] = (), **sections: dict) -> Any:
    """``cls``'s default experiment (its dataclass defaults, including the task's own
    ``train:`` defaults), with ``sections`` (plain dicts) merged into its sections and then
    the ``--set`` overrides applied: the config of commands whose YAML is optional.

    Example:
        >>> from perception3d.engine.seg_config import SegExperiment
        >>> cfg = defaults_with(SegExperiment, ["train.epochs=2"], data={"root": "/data"})
        >>> cfg.train.epochs, cfg.train.steps_per_epoch, str(cfg.data.root)
        (2, 250, '/data')
    """
    base = to_dict(cls())
    for name, patch in sections.items():
        base[name] = {**base.get(name, {}), **to_dict(patch)}
    return from_dict(cls, apply_overrides(base, overrides, source="--set"), source="--set")
