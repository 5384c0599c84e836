"""Geometric distortion from a dot-grid chart.

Dots are found as dark connected regions; their darkness-weighted centroids are matched to
the chart's known lattice; a least-squares fit of ``r_d = s r_u (1 + k1 (s r_u / R)^2)``
(about the image centre, R the half diagonal; linear in ``s`` and ``s^3 k1``) gives the radial
coefficient ``k1`` (< 0 barrel); the SMIA TV distortion ``100 (A - B) / B`` follows from it
(B: the picture height at the centre, A: at the sides, along the image of the horizontal line
that touches the top edge at the centre; < 0 barrel).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def dot_centroids(image: np.ndarray, threshold: float | None = None,
                  smooth_px: float = 1.0) -> np.ndarray:  # fmt: skip
    """(N, 2) centroids (x, y), pixel centres at i + 0.5, of the dark dots in ``image`` (H, W).

    The image is smoothed by a Gaussian of ``smooth_px`` (noise would split dots) and
    thresholded (``threshold``, default midway between the 5th and 95th percentiles); regions
    touching the border or smaller than a third of the median region are dropped; centroids
    are weighted by darkness below the 95th percentile."""
    image = np.asarray(image, np.float64)
    if image.ndim != 2:
        raise ValueError(f"image must be (H, W), got {image.shape}")
    if smooth_px > 0:
        image = ndimage.gaussian_filter(image, smooth_px, mode="nearest")
    lo, hi = np.percentile(image, [5, 95])
    thr = (lo + hi) / 2.0 if threshold is None else threshold
    labels, n = ndimage.label(image < thr)
    border = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])))
    weight = np.clip(hi - image, 0.0, None)
    area = np.bincount(labels.ravel(), minlength=n + 1)
    inner = [i for i in range(1, n + 1) if i not in border]
    min_area = np.median(area[inner]) / 3.0 if inner else 0.0
    ids = [i for i in inner if area[i] >= min_area]
    if not ids:
        return np.zeros((0, 2))
    cy, cx = np.array(ndimage.center_of_mass(weight, labels, ids)).T
    return np.stack([cx + 0.5, cy + 0.5], axis=1)


def fit_radial_distortion(points: np.ndarray, lattice: np.ndarray, width: int, height: int) -> dict:
    """Fit ``k1`` to measured dot centres ``points`` (N, 2) given the chart lattice ``lattice``
    (M, 2) (undistorted positions, pixels); each point is matched to the nearest lattice node
    after removing the fitted scale once.

    Returns: ``k1``, ``scale``, ``tv_distortion_pct``, ``rms_residual_px``, ``dots``.

    Raises:
        ValueError: fewer than 6 dots matched.
    """
    c = np.array([width / 2.0, height / 2.0])
    norm = np.hypot(width, height) / 2.0
    pts, lat = np.asarray(points, np.float64) - c, np.asarray(lattice, np.float64) - c
    pairs = _match(pts, lat)
    if len(pairs) < 6:
        raise ValueError(f"only {len(pairs)} dots matched the lattice (need >= 6)")
    r_d = np.hypot(*pts[pairs[:, 0]].T)
    r_u = np.hypot(*lat[pairs[:, 1]].T) / norm
    design = np.stack([r_u * norm, r_u**3 * norm], axis=1)
    (scale, cubic), *_ = np.linalg.lstsq(design, r_d, rcond=None)
    k1 = float(cubic / scale**3)
    residual = r_d - design @ np.array([scale, cubic])
    return {
        "k1": k1,
        "scale": float(scale),
        "tv_distortion_pct": tv_distortion_pct(k1, width, height),
        "rms_residual_px": float(np.sqrt(np.mean(residual**2))),
        "dots": len(pairs),
    }


def _match(pts: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """(K, 2) index pairs (point, lattice node): nearest node within half the lattice pitch,
    after scaling the points by the ratio of median radii."""
    if len(pts) == 0:
        return np.zeros((0, 2), int)
    pitch = np.min(np.linalg.norm(lat[1:] - lat[:1], axis=1))
    rp, rl = np.median(np.hypot(*pts.T)), np.median(np.hypot(*lat.T))
    scaled = pts * (rl / max(rp, 1e-9))
    d = np.linalg.norm(scaled[:, None] - lat[None], axis=2)
    nearest = d.argmin(1)
    ok = d[np.arange(len(pts)), nearest] < pitch / 2.0
    return np.stack([np.nonzero(ok)[0], nearest[ok]], axis=1)


def tv_distortion_pct(k1: float, width: int, height: int) -> float:
    """SMIA TV distortion (%) of ``r_d = r_u (1 + k1 r_u^2)`` (r / half diagonal) on a
    ``width`` x ``height`` frame.

    Example:
        >>> tv_distortion_pct(0.0, 640, 480)
        0.0
    """
    norm = np.hypot(width, height) / 2.0
    b_half = height / 2.0 / norm  # top edge at the centre column, distorted
    y_u = b_half
    for _ in range(50):  # undistort the centre point of the line: y_d = y_u (1 + k1 y_u^2)
        y_u = b_half / (1.0 + k1 * y_u**2)
    x_d_side = width / 2.0 / norm
    x_u = x_d_side
    for _ in range(50):  # the line's point that lands on the side edge
        x_u = x_d_side / (1.0 + k1 * (x_u**2 + y_u**2))
    a_half = y_u * (1.0 + k1 * (x_u**2 + y_u**2))
    return float(100.0 * (a_half - b_half) / b_half)
