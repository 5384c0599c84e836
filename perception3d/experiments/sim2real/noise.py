"""Range noise on planar surfaces: how far returns scatter about the plane they lie on, along
their rays.

The points are binned into 1 m voxels; a voxel with at least 15 points is a planar patch when
its covariance's smallest eigenvalue is under 2 % of the trace (``curvature``; 5 cm of noise on
a 1 m patch gives about 1.5 %) and the middle one is at least 0.01 m^2 (points spread in two
directions, not on one scan line). Each point's distance to its patch's plane, divided by the
cosine of its incidence angle (ray against plane normal, kept when the cosine is at least 0.3),
is its range error along the ray: what a sensor's range noise, a surface's roughness and the
lasers' calibration spread together put there.

Example:
    >>> rng = np.random.default_rng(0)
    >>> wall = np.column_stack([np.full(2000, 10.5), rng.uniform(0, 0.99, 2000),
    ...                         rng.uniform(0, 0.99, 2000)])
    >>> wall[:, 0] += rng.normal(0, 0.02, 2000)  # 2 cm noise along x (the rays' direction)
    >>> err = planar_range_errors(wall)
    >>> len(err), round(float(robust_std(err)), 3)
    (2000, 0.02)
"""

from __future__ import annotations

import numpy as np

__all__ = ["NOISE_EDGES_M", "planar_range_errors", "robust_std"]

NOISE_EDGES_M = np.linspace(-0.3, 0.3, 61)
_VOXEL_M = 1.0
_MIN_POINTS = 15
_MAX_CURVATURE = 0.02
_MIN_SPREAD_M2 = 0.01
_MIN_COS = 0.3


def planar_range_errors(points: np.ndarray) -> np.ndarray:
    """(K,) float64 signed range errors (metres, along the ray) of the points in planar patches.

    Args:
        points: (N, 3+) LiDAR-frame points, metres (rays from the origin).
    """
    xyz = np.asarray(points, dtype=np.float64)[:, :3]
    if len(xyz) == 0:
        return np.zeros(0)
    ijk = np.floor(xyz / _VOXEL_M).astype(np.int64)
    _, group, counts = np.unique(ijk, axis=0, return_inverse=True, return_counts=True)
    group = group.ravel()
    keep = counts[group] >= _MIN_POINTS
    xyz, group = xyz[keep], group[keep]
    if len(xyz) == 0:
        return np.zeros(0)
    _, group = np.unique(group, return_inverse=True)
    num = np.bincount(group).astype(np.float64)
    mean = np.stack([np.bincount(group, xyz[:, k]) for k in range(3)], 1) / num[:, None]
    centred = xyz - mean[group]
    cov = np.empty((len(num), 3, 3))
    for a in range(3):
        for b in range(a, 3):
            cov[:, a, b] = cov[:, b, a] = np.bincount(group, centred[:, a] * centred[:, b]) / num
    evals, evecs = np.linalg.eigh(cov)  # ascending; evecs[:, :, 0] is the normal
    trace = evals.sum(axis=1)
    planar = (evals[:, 0] < _MAX_CURVATURE * trace) & (evals[:, 1] >= _MIN_SPREAD_M2)
    normal = evecs[:, :, 0]
    sel = planar[group]
    dist = np.einsum("ij,ij->i", centred[sel], normal[group[sel]])
    ray = xyz[sel] / np.maximum(np.linalg.norm(xyz[sel], axis=1, keepdims=True), 1e-9)
    cos = np.abs(np.einsum("ij,ij->i", ray, normal[group[sel]]))
    ok = cos >= _MIN_COS
    return dist[ok] / cos[ok]


def robust_std(values: np.ndarray) -> float:
    """1.4826 x the median absolute deviation (the standard deviation for Gaussian data)."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0:
        return float("nan")
    return float(1.4826 * np.median(np.abs(v - np.median(v))))
