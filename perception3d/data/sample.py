"""The unit that flows through the LiDAR data pipeline and its augmentations.

A transform is any callable ``transform(sample, rng) -> sample`` that returns a new sample (it
never mutates its input); pipelines are plain lists of transforms applied in order, each drawing
its randomness only from ``rng`` so a seed fixes the whole pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from perception3d.geometry.calib import Calibration


@dataclass(frozen=True)
class LidarSample:
    """One frame's LiDAR data with its boxes.

    Attributes:
        frame_id: KITTI frame id.
        points: (N, 4+) float32 ``[x, y, z, intensity, ...]``, LiDAR frame, metres; extra
            columns (e.g. painted class scores) travel with the points.
        boxes_lidar: (M, 7) float64 ``[x, y, z, dx, dy, dz, heading]``.
        names: (M,) object-dtype class names.
        calib: the frame's calibration (None when not known).
        image_shape: (H, W) of image_2, or None.
        extras: per-transform metadata (e.g. a weather-clutter mask), keyed by name.
    """

    frame_id: str
    points: np.ndarray
    boxes_lidar: np.ndarray
    names: np.ndarray
    calib: Calibration | None = None
    image_shape: tuple[int, int] | None = None
    extras: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.points.ndim != 2 or self.points.shape[1] < 4:
            raise ValueError(f"points must be (N, 4+), got {self.points.shape}")
        if self.boxes_lidar.ndim != 2 or self.boxes_lidar.shape[1] != 7:
            raise ValueError(f"boxes_lidar must be (M, 7), got {self.boxes_lidar.shape}")
        if len(self.names) != len(self.boxes_lidar):
            raise ValueError(
                f"names ({len(self.names)}) and boxes_lidar ({len(self.boxes_lidar)}) differ"
            )

    def with_(self, **changes) -> LidarSample:
        """A copy with some fields replaced (``dataclasses.replace``)."""
        return replace(self, **changes)


Transform = Callable[[LidarSample, np.random.Generator], LidarSample]


def apply_transforms(
    sample: LidarSample, transforms: Sequence[Transform], rng: np.random.Generator
) -> LidarSample:
    """Apply ``transforms`` in order, each drawing randomness from ``rng``."""
    for t in transforms:
        sample = t(sample, rng)
    return sample


def sample_from_frame(frame, with_labels: bool = True) -> LidarSample:
    """Build a :class:`LidarSample` from a ``perception3d.data.kitti.Frame``; without labels
    (``with_labels=False``, inference) the boxes are empty and no label file is read."""
    return LidarSample(
        frame_id=frame.frame_id,
        points=frame.points,
        boxes_lidar=frame.boxes_lidar if with_labels else np.zeros((0, 7)),
        names=frame.names if with_labels else np.zeros(0, dtype=object),
        calib=frame.calib,
        image_shape=frame.image_shape,
    )
