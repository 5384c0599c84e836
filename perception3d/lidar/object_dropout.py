"""Missing returns on objects: thin out the points of labelled objects.

Real KITTI cars return about half the points a synthetic car of the same size and range does
(docs/sim2real.md, "points per object": dark paint and glass that give no return, returns below
the detection floor at glancing incidence). A detector trained on dense synthetic objects then
scores the sparse real ones low. This transform keeps, for each labelled object chosen with
probability ``prob``, a random fraction of its points (drawn uniformly in ``keep_fraction``),
never fewer than ``min_points`` (an object stays as visible as its label says it is). The
object's returns are thinned where they are, so no point moves and the label box is unchanged.

Where the returns go missing matters too: the points of real cars beyond 20 m lie lower in their
boxes than synthetic ones (mean height 0.41 of the box height against 0.51; the top two fifths
hold 22 % of the real points and 45 % of the synthetic ones: windows and dark roofs return
little). `UpperPointDropout` thins only the part of a box above a random cut height.

Example:
    >>> rng = np.random.default_rng(0)
    >>> pts = np.c_[rng.uniform(-0.5, 0.5, (100, 3)), np.zeros(100)].astype(np.float32)
    >>> s = LidarSample("0", pts, np.array([[0.0, 0, 0, 2, 2, 2, 0]]), np.array(["Car"]))
    >>> cfg = ObjectDropoutConfig(prob=1.0, keep_fraction=(0.5, 0.5))
    >>> len(ObjectPointDropout(cfg)(s, rng).points)
    50
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception3d.data.sample import LidarSample
from perception3d.geometry.boxes import points_in_boxes
from perception3d.lidar.sample_ops import chosen_boxes, replace_points

__all__ = [
    "ObjectDropoutConfig",
    "ObjectPointDropout",
    "UpperDropoutConfig",
    "UpperPointDropout",
    "drop_object_points",
    "drop_upper_points",
]


def _check_dropout_config(
    cfg, section: str, fractions: tuple[str, ...], min_above_zero: bool = False
) -> None:
    """Raise ValueError naming ``section`` unless ``cfg.prob`` is in [0, 1], each of the
    ``fractions`` is a (min, max) with 0 <= min <= max <= 1 (0 < min if ``min_above_zero``)
    and ``cfg.min_points`` >= 0."""
    if not 0.0 <= cfg.prob <= 1.0:
        raise ValueError(f"{section}.prob must be in [0, 1], got {cfg.prob}")
    for name in fractions:
        lo, hi = getattr(cfg, name)
        if not (0.0 < lo if min_above_zero else 0.0 <= lo) or not lo <= hi <= 1.0:
            low = "0 < min" if min_above_zero else "0 <= min"
            raise ValueError(
                f"{section}.{name} must be (min, max) with {low} <= max <= 1, "
                f"got {getattr(cfg, name)}"
            )
    if cfg.min_points < 0:
        raise ValueError(f"{section}.min_points must be >= 0, got {cfg.min_points}")


@dataclass(frozen=True)
class ObjectDropoutConfig:
    """Per labelled object of ``classes``, with probability ``prob``: keep a fraction drawn
    uniformly in ``keep_fraction`` of its points, at least ``min_points`` of them."""

    prob: float = 0.0
    keep_fraction: tuple[float, float] = (0.3, 1.0)
    min_points: int = 5
    classes: tuple[str, ...] = ("Car", "Pedestrian", "Cyclist")

    def __post_init__(self) -> None:
        _check_dropout_config(self, "object_dropout", ("keep_fraction",), min_above_zero=True)


def drop_object_points(
    sample: LidarSample,
    keep_fractions: np.ndarray,
    rng: np.random.Generator,
    min_points: int = 5,
) -> LidarSample:
    """Keep ``keep_fractions[m]`` of the points inside box m (a random subset, rounded up).

    Args:
        sample: points (N, C) and M boxes (LiDAR frame).
        keep_fractions: (M,) fraction in [0, 1] per box; 1 leaves the box untouched.
        rng: which points are kept.
        min_points: a box keeps at least this many points (or all it has).

    Returns:
        The sample without the dropped points; boxes, names and other points unchanged.
    """
    keep_fractions = np.asarray(keep_fractions, dtype=np.float64)
    if keep_fractions.shape != (len(sample.boxes_lidar),):
        raise ValueError(
            f"keep_fractions must have one value per box ({len(sample.boxes_lidar)}), "
            f"got shape {keep_fractions.shape}"
        )
    return _thin_boxes(sample, keep_fractions, None, rng, min_points)


def _thin_boxes(
    sample: LidarSample,
    keep_fractions: np.ndarray,
    cut_z_m: np.ndarray | None,
    rng: np.random.Generator,
    min_points: int,
) -> LidarSample:
    """In box m, keep ``keep_fractions[m]`` (rounded up) of its points above ``cut_z_m[m]``
    (LiDAR z; None: all its points), the box keeping at least ``min_points`` in all."""
    if not len(sample.points) or not np.any(keep_fractions < 1.0):
        return sample
    box = points_in_boxes(sample.points, sample.boxes_lidar)
    keep = np.ones(len(sample.points), bool)
    for m in np.flatnonzero(keep_fractions < 1.0):
        inside = np.flatnonzero(box == m)
        if cut_z_m is None:
            thinned = inside
        else:
            thinned = inside[sample.points[inside, 2] > cut_z_m[m]]
        floor = min(min_points, len(inside)) - (len(inside) - len(thinned))
        n_keep = max(int(np.ceil(keep_fractions[m] * len(thinned))), floor)
        if n_keep < len(thinned):
            keep[rng.choice(thinned, size=len(thinned) - n_keep, replace=False)] = False
    return replace_points(sample, keep)


@dataclass(frozen=True, eq=False)
class ObjectPointDropout:
    """Transform of `drop_object_points` drawn from an `ObjectDropoutConfig`."""

    config: ObjectDropoutConfig

    def __call__(self, sample: LidarSample, rng: np.random.Generator) -> LidarSample:
        cfg = self.config
        chosen = chosen_boxes(sample, cfg, rng)
        fractions = np.where(chosen, rng.uniform(*cfg.keep_fraction, len(chosen)), 1.0)
        return drop_object_points(sample, fractions, rng, cfg.min_points)


@dataclass(frozen=True)
class UpperDropoutConfig:
    """Per labelled object of ``classes``, with probability ``prob``: of its points above a cut
    at a fraction of the box height drawn uniformly in ``cut_fraction`` (from the bottom), keep a
    fraction drawn uniformly in ``keep_fraction``; the object keeps at least ``min_points``."""

    prob: float = 0.0
    cut_fraction: tuple[float, float] = (0.45, 0.7)
    keep_fraction: tuple[float, float] = (0.0, 0.6)
    min_points: int = 5
    classes: tuple[str, ...] = ("Car",)

    def __post_init__(self) -> None:
        _check_dropout_config(self, "upper_dropout", ("cut_fraction", "keep_fraction"))


def drop_upper_points(
    sample: LidarSample,
    cut_fractions: np.ndarray,
    keep_fractions: np.ndarray,
    rng: np.random.Generator,
    min_points: int = 5,
) -> LidarSample:
    """In box m, keep ``keep_fractions[m]`` of the points above ``cut_fractions[m]`` of the box
    height (measured from the box bottom along LiDAR z); the points below all stay.

    Args:
        sample: points (N, C) and M upright boxes (LiDAR frame).
        cut_fractions: (M,) cut height per box, fraction of its height in [0, 1].
        keep_fractions: (M,) fraction of the points above the cut kept; 1 leaves the box alone.
        rng: which points are kept.
        min_points: a box keeps at least this many points (or all it has).
    """
    m_boxes = len(sample.boxes_lidar)
    cut_fractions = np.asarray(cut_fractions, dtype=np.float64)
    keep_fractions = np.asarray(keep_fractions, dtype=np.float64)
    if cut_fractions.shape != (m_boxes,) or keep_fractions.shape != (m_boxes,):
        raise ValueError(
            f"cut_fractions and keep_fractions must have one value per box ({m_boxes}), "
            f"got shapes {cut_fractions.shape} and {keep_fractions.shape}"
        )
    boxes = sample.boxes_lidar
    cut_z_m = boxes[:, 2] - boxes[:, 5] / 2 + cut_fractions * boxes[:, 5]
    return _thin_boxes(sample, keep_fractions, cut_z_m, rng, min_points)


@dataclass(frozen=True, eq=False)
class UpperPointDropout:
    """Transform of `drop_upper_points` drawn from an `UpperDropoutConfig`."""

    config: UpperDropoutConfig

    def __call__(self, sample: LidarSample, rng: np.random.Generator) -> LidarSample:
        cfg = self.config
        chosen = chosen_boxes(sample, cfg, rng)
        m = len(chosen)
        cuts = rng.uniform(*cfg.cut_fraction, m)
        fractions = np.where(chosen, rng.uniform(*cfg.keep_fraction, m), 1.0)
        return drop_upper_points(sample, cuts, fractions, rng, cfg.min_points)
