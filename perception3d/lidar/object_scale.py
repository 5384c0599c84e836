"""Objects of other sizes: stretch or shrink a labelled object's returns with its box.

A detector trained on synthetic cars, whose lengths follow KITTI's label statistics (3.88 m,
sd 0.43 m, truncated at 2.5 sd), does not read a car's length off its points: on held-out
synthetic frames whose cars are 2.6 m long (sd 0.15 m) the shipped PointPillars-lite still finds
85 % of them at BEV@0.5 but its Car 3D AP_R40@0.7 falls from 82.7 to 8.7, its boxes keep the
mean length (docs/sim2real.md, "Rows 46-49", where training with this step did not pay off).

This transform draws, for each labelled object of ``classes`` chosen with probability ``prob``,
a factor per box axis (``length_factor`` along the heading, ``width_factor``,
``height_factor``), uniformly, and scales the object's points and its box about the box's
bottom centre in the box frame: the object stays on the ground where it stood. OpenPCDet's
``random_local_scaling`` does the same with one factor for all axes.

What it does not model: a shrunk object leaves an empty band where the sensor would have seen
the scene behind it; a grown one hides what its new box covers (those returns are removed).
An object is not grown into another labelled box (its factors then stay 1).

Example:
    >>> rng = np.random.default_rng(0)
    >>> pts = np.c_[rng.uniform(-2, 2, (200, 1)), rng.uniform(-0.8, 0.8, (200, 1)),
    ...             rng.uniform(-0.75, 0.75, (200, 1)), np.zeros((200, 1))].astype(np.float32)
    >>> s = LidarSample("0", pts, np.array([[0.0, 0, 0, 4, 1.6, 1.5, 0]]), np.array(["Car"]))
    >>> out = scale_objects(s, np.array([[0.6, 1.0, 1.0]]))
    >>> out.boxes_lidar[0, 3].round(2), bool(np.abs(out.points[:, 0]).max() <= 1.2)
    (np.float64(2.4), True)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from perception3d.data.sample import LidarSample
from perception3d.geometry.boxes import points_in_boxes, rotate_points_z
from perception3d.geometry.iou import bev_iou_lidar
from perception3d.lidar.sample_ops import chosen_boxes, replace_points

__all__ = ["ObjectScale", "ObjectScaleConfig", "scale_objects"]


@dataclass(frozen=True)
class ObjectScaleConfig:
    """Per labelled object of ``classes``, with probability ``prob``: scale its box and points
    by factors drawn uniformly in ``length_factor``, ``width_factor``, ``height_factor``."""

    prob: float = 0.0
    length_factor: tuple[float, float] = (0.7, 1.3)
    width_factor: tuple[float, float] = (0.9, 1.1)
    height_factor: tuple[float, float] = (0.9, 1.1)
    classes: tuple[str, ...] = ("Car",)

    def __post_init__(self) -> None:
        if not 0.0 <= self.prob <= 1.0:
            raise ValueError(f"object_scale.prob must be in [0, 1], got {self.prob}")
        for name in ("length_factor", "width_factor", "height_factor"):
            lo, hi = getattr(self, name)
            if not 0.0 < lo <= hi:
                raise ValueError(
                    f"object_scale.{name} must be (min, max) with 0 < min <= max, "
                    f"got {getattr(self, name)}"
                )


def scale_objects(sample: LidarSample, factors: np.ndarray) -> LidarSample:
    """Scale box m and the points inside it by ``factors[m]`` (length, width, height) about the
    box's bottom centre, in the box frame.

    Args:
        sample: points (N, C) and M upright boxes (LiDAR frame).
        factors: (M, 3) positive factors; a row of ones leaves that box alone. A box that would
            grow into another box keeps its size.

    Returns:
        The sample with the moved points and scaled boxes; other points unchanged, except those
        a grown box now covers, which are removed.
    """
    factors = np.asarray(factors, dtype=np.float64)
    boxes = sample.boxes_lidar
    if factors.shape != (len(boxes), 3):
        raise ValueError(f"factors must be ({len(boxes)}, 3), got shape {factors.shape}")
    if not np.all(factors > 0):
        raise ValueError("factors must be > 0")
    changed = np.flatnonzero(np.any(factors != 1.0, axis=1))
    if not len(changed):
        return sample
    new_boxes = boxes.copy()
    new_boxes[:, 3:6] *= factors
    new_boxes[:, 2] = boxes[:, 2] - boxes[:, 5] / 2 + new_boxes[:, 5] / 2
    grown = changed[np.any(factors[changed] > 1.0, axis=1)]
    if len(grown) and len(boxes) > 1:
        overlap = bev_iou_lidar(new_boxes[grown], boxes) > 0
        overlap[np.arange(len(grown)), grown] = False
        blocked = grown[overlap.any(axis=1)]
        new_boxes[blocked] = boxes[blocked]
        changed = np.setdiff1d(changed, blocked)
        grown = np.setdiff1d(grown, blocked)
    if not len(changed):
        return sample
    owner = points_in_boxes(sample.points, boxes)
    points = sample.points.copy()
    for m in changed:
        idx = np.flatnonzero(owner == m)
        if not len(idx):
            continue
        bottom_centre = boxes[m, :3] - [0.0, 0.0, boxes[m, 5] / 2]
        local = rotate_points_z(points[idx, :3] - bottom_centre, -boxes[m, 6])  # x: the heading
        points[idx, :3] = rotate_points_z(local * factors[m], boxes[m, 6]) + bottom_centre
    keep = np.ones(len(points), bool)
    if len(grown):  # returns a grown box now covers are hidden behind its surface
        covered = points_in_boxes(points, new_boxes[grown])
        keep = (covered < 0) | (owner == grown[np.maximum(covered, 0)])
    return replace_points(replace(sample, points=points), keep, boxes_lidar=new_boxes)


@dataclass(frozen=True, eq=False)
class ObjectScale:
    """Transform of `scale_objects` drawn from an `ObjectScaleConfig`."""

    config: ObjectScaleConfig

    def __call__(self, sample: LidarSample, rng: np.random.Generator) -> LidarSample:
        cfg = self.config
        m = len(sample.boxes_lidar)
        chosen = chosen_boxes(sample, cfg, rng)
        lo = np.array([cfg.length_factor[0], cfg.width_factor[0], cfg.height_factor[0]])
        hi = np.array([cfg.length_factor[1], cfg.width_factor[1], cfg.height_factor[1]])
        factors = np.where(chosen[:, None], rng.uniform(lo, hi, (m, 3)), 1.0)
        return scale_objects(sample, factors)
