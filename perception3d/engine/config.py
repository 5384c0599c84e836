"""A detector experiment config (``configs/models/*.yaml``): ``model``, ``data``,
``augmentation`` and ``train`` sections, one frozen dataclass each."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from perception3d.config import load_config
from perception3d.data.dataset import DataConfig
from perception3d.lidar.pipeline import AugmentationConfig
from perception3d.models.config import ModelConfig


@dataclass(frozen=True)
class TrainConfig:
    """``train:`` section: optimisation and run settings.

    Attributes:
        epochs: passes over the training split.
        batch_size: frames per step and process.
        lr_max: peak learning rate of the one-cycle schedule (Smith & Topin 2018), AdamW.
        weight_decay: AdamW decoupled weight decay.
        pct_start: fraction of the steps spent warming up.
        div_factor: initial lr = lr_max / div_factor.
        final_div_factor: final lr = initial lr / final_div_factor.
        grad_clip_norm: gradient norm clip.
        seed: seeds the model init, the shuffling and the augmentation.
        num_workers: DataLoader workers (0 = load in the training process).
        device: ``auto``, ``cpu`` or ``cuda``.
        num_threads: torch CPU threads per process (None: torch's default, divided by the
            number of processes under DDP on CPU).
        validate_every: run the KITTI evaluation on the val split every this many epochs and
            after the last (0: never).
        max_train_frames: use only the first N frames of the training split (None: all).
        max_val_frames: use only the first N frames of the val split (None: all).
        log_every: steps between TensorBoard scalar writes.
        init_weights: a detector checkpoint whose weights start the run (fine-tuning);
            input columns the checkpoint lacks (painted scores) start at zero weight, so a
            LiDAR-only detector starts a painted one (None: random initialisation).
    """

    epochs: int
    batch_size: int = 2
    lr_max: float = 0.003
    weight_decay: float = 0.01
    pct_start: float = 0.4
    div_factor: float = 10.0
    final_div_factor: float = 100.0
    grad_clip_norm: float = 10.0
    seed: int = 0
    num_workers: int = 0
    device: str = "auto"
    num_threads: int | None = None
    validate_every: int = 1
    max_train_frames: int | None = None
    max_val_frames: int | None = None
    log_every: int = 10
    init_weights: Path | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(
                f"epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}"
            )
        if not 0 < self.pct_start < 1:
            raise ValueError(f"pct_start must be in (0, 1), got {self.pct_start}")


@dataclass(frozen=True)
class ExperimentConfig:
    """A whole detector config file."""

    model: ModelConfig
    data: DataConfig
    train: TrainConfig
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)


def load_experiment(path: str | Path, overrides: Iterable[str] = ()) -> ExperimentConfig:
    """Load a detector config (``--set key=value`` overrides applied first).

    Example:
        >>> cfg = load_experiment("configs/models/pointpillars_lite.yaml")
        >>> cfg.model.type, cfg.model.classes
        ('pointpillars', ('Car', 'Pedestrian', 'Cyclist'))
    """
    return load_config(path, ExperimentConfig, overrides)
