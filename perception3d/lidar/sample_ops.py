"""Point selection on a `LidarSample` that keeps per-point extras aligned with the points, and
the random choice of the labelled objects a per-object transform acts on.

Convention: an ``extras`` value that is a NumPy array whose first dimension equals the number of
points is per-point data (e.g. ``pasted_mask``, ``weather_clutter_mask``); when a transform drops
or appends points such arrays follow (appended rows are 0 / False unless given).
"""

from __future__ import annotations

import numpy as np

from perception3d.data.sample import LidarSample

__all__ = ["chosen_boxes", "per_point_extras", "replace_points"]


def per_point_extras(sample: LidarSample) -> dict[str, np.ndarray]:
    """The extras that are per-point arrays (first dimension == number of points)."""
    n = len(sample.points)
    return {
        k: v for k, v in sample.extras.items() if isinstance(v, np.ndarray) and v.shape[:1] == (n,)
    }


def replace_points(
    sample: LidarSample,
    keep: np.ndarray,
    added_points: np.ndarray | None = None,
    added_extras: dict[str, np.ndarray] | None = None,
    **changes,
) -> LidarSample:
    """A copy of ``sample`` keeping the points ``keep`` selects, then appending ``added_points``.

    Args:
        sample: input sample (not modified).
        keep: (N,) bool mask or int index array into ``sample.points``.
        added_points: (K, C) points to append (columns beyond theirs are 0-filled to the
            sample's C); None for none.
        added_extras: per-point values for the appended rows, by extras key; a key absent
            from the sample's extras is created (False/0 for the kept rows).
        changes: other fields to replace (boxes_lidar, names, ...).

    Example:
        >>> s = LidarSample("0", np.zeros((3, 4), np.float32), np.zeros((0, 7)), np.array([]))
        >>> out = replace_points(s, np.array([True, False, True]), np.ones((1, 4), np.float32),
        ...                      {"pasted_mask": np.array([True])})
        >>> out.points.shape, out.extras["pasted_mask"].tolist()
        ((3, 4), [False, False, True])
    """
    points = sample.points
    index = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep)
    num_added = 0 if added_points is None else len(added_points)
    new_points = np.empty((len(index) + num_added, points.shape[1]), dtype=points.dtype)
    np.take(points, index, axis=0, out=new_points[: len(index)])
    if num_added:
        cols = min(points.shape[1], added_points.shape[1])
        new_points[len(index) :, :cols] = added_points[:, :cols]
        new_points[len(index) :, cols:] = 0
    extras = dict(sample.extras)
    added_extras = added_extras or {}
    per_point = per_point_extras(sample)
    for key, value in per_point.items():
        tail = added_extras.get(key)
        if tail is None:
            tail = np.zeros((num_added, *value.shape[1:]), dtype=value.dtype)
        extras[key] = np.concatenate([value[index], tail.astype(value.dtype)])
    for key, tail in added_extras.items():
        if key not in per_point:
            head = np.zeros((len(index), *np.shape(tail)[1:]), dtype=np.asarray(tail).dtype)
            extras[key] = np.concatenate([head, tail])
    return sample.with_(points=new_points, extras=extras, **changes)


def chosen_boxes(sample: LidarSample, config, rng: np.random.Generator) -> np.ndarray:
    """(M,) bool: the boxes of ``config.classes`` drawn with probability ``config.prob`` (one
    uniform draw per box, in box order)."""
    m = len(sample.boxes_lidar)
    return (rng.random(m) < config.prob) & np.isin(sample.names.astype(str), config.classes)
