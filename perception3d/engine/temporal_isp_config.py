"""Config of the temporal ISP stage's training (``task: temporal_isp``,
``configs/isp/train_temporal.yaml``), in the experiment schema of
:mod:`perception3d.engine.config`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from perception3d.config import at_least
from perception3d.engine.config import DataSection, TrainConfig, adam_cosine
from perception3d.isp.temporal import KIND, TemporalModelConfig


@dataclass(frozen=True)
class TemporalData(DataSection):
    """``data:``: clips of synthetic drives (``perception3d synth-drive`` root in ``root``).

    Attributes:
        max_train_frames: the first this many frames of each drive (None: all).
        clip_length: consecutive frames per training clip (the recurrence is unrolled over
            them and every frame's output is scored).
        crop: square crop side, pixels (even corners keep the Bayer phase).
        level: relative illuminance range (log-uniform per clip; 1/300 of daylight is 0.0033).
        random_camera: each clip's camera noise, colour and white balance drawn as the
            low-light condition draws them (:func:`perception3d.isp.conditions.random_sensor`);
            false: the daylight camera (``SensorParams()``) every time.
    """

    clip_length: int = 4
    crop: int = 128
    level: tuple[float, float] = (1 / 600, 1 / 150)
    random_camera: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        at_least(self, 2, "clip_length")
        at_least(self, 16, "crop")
        if not 0 < self.level[0] <= self.level[1] <= 1:
            raise ValueError(f"data.level must be 0 < lo <= hi <= 1, got {self.level}")


def _train_temporal() -> TrainConfig:
    return adam_cosine(epochs=10, steps_per_epoch=50, batch_size=4, lr_max=0.0005,
                       num_threads=1, validate_every=0)  # fmt: skip


@dataclass(frozen=True)
class TemporalIspExperiment:
    """``task: temporal_isp``: the recurrent raw stage on clips of synthetic drives."""

    model: TemporalModelConfig = field(default_factory=TemporalModelConfig)
    data: TemporalData = field(default_factory=TemporalData)
    train: TrainConfig = field(default_factory=_train_temporal)
    task: Literal["temporal_isp"] = "temporal_isp"

    kind: ClassVar[str] = KIND
