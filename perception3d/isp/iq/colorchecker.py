"""The 24-patch ColorChecker Classic: published reference values, the chart, its patches.

Reference L*a*b* (D50, 2 degree observer) are X-Rite's published values for charts made after
November 2014 (the new formulation; X-Rite, "ColorChecker Classic: new L*a*b* values", 2014),
row by row from dark skin (top left) to black (bottom right). The chart is rendered as linear
sRGB reflectance (D65 scene white, Bradford-adapted from D50): cyan lies outside the sRGB
gamut (red -0.07) and is clipped there, so even an ideal camera that encodes sRGB misses it by
3.46 (:func:`gamut_floor`, reported beside the measurement).
"""

from __future__ import annotations

import numpy as np

from perception3d.isp.iq.ciede2000 import ciede2000, lab_to_linear_srgb, linear_srgb_to_lab

PATCH_NAMES = (
    "dark skin", "light skin", "blue sky", "foliage", "blue flower", "bluish green",
    "orange", "purplish blue", "moderate red", "purple", "yellow green", "orange yellow",
    "blue", "green", "red", "yellow", "magenta", "cyan",
    "white 9.5", "neutral 8", "neutral 6.5", "neutral 5", "neutral 3.5", "black 2",
)  # fmt: skip
REFERENCE_LAB_D50 = np.array(
    [
        [37.54, 14.37, 14.92], [64.66, 19.27, 17.50], [49.32, -3.82, -22.54],
        [43.46, -12.74, 22.72], [54.94, 9.61, -24.79], [70.48, -32.26, -0.37],
        [62.73, 35.83, 56.50], [39.43, 10.75, -45.17], [50.57, 48.64, 16.67],
        [30.10, 22.54, -20.87], [71.77, -24.13, 58.19], [71.51, 18.24, 67.37],
        [28.37, 15.42, -49.80], [54.38, -39.72, 32.27], [42.43, 51.05, 28.62],
        [81.80, 2.67, 80.41], [50.63, 51.28, -14.12], [49.57, -29.71, -28.32],
        [95.19, -1.03, 2.93], [81.29, -0.57, 0.44], [66.89, -0.75, -0.06],
        [50.76, -0.13, 0.14], [35.63, -0.46, -0.48], [20.64, 0.07, -0.46],
    ]
)  # fmt: skip
NEUTRALS = slice(18, 24)
ROWS, COLS = 4, 6


def patch_reflectance() -> np.ndarray:
    """(24, 3) linear sRGB reflectance of the patches, clipped to [0, 1] (the sRGB gamut)."""
    return np.clip(lab_to_linear_srgb(REFERENCE_LAB_D50), 0.0, 1.0)


def gamut_floor() -> np.ndarray:
    """(24,) CIEDE2000 of the gamut-clipped patches against the references: the error of an
    ideal sRGB camera."""
    return ciede2000(linear_srgb_to_lab(patch_reflectance()), REFERENCE_LAB_D50)


def render(x: np.ndarray, y: np.ndarray, width: float, height: float) -> np.ndarray:
    """Reflectance (3, ...) of the chart at chart coordinates ``x``, ``y`` (pixels, the chart
    spans ``width`` x ``height``): 6 x 4 square cells, patches with a dark border."""
    cell = min(width / COLS, height / ROWS)
    col = np.clip((x // cell).astype(int), 0, COLS - 1)
    row = np.clip((y // cell).astype(int), 0, ROWS - 1)
    u, v = x - col * cell, y - row * cell
    border = 0.08 * cell
    inside = (u > border) & (u < cell - border) & (v > border) & (v < cell - border)
    colours = patch_reflectance()[row * COLS + col]  # (..., 3)
    out = np.where(inside[..., None], colours, 0.03)
    return np.moveaxis(out, -1, 0)


def patch_means(linear: np.ndarray, inner: float = 0.5) -> np.ndarray:
    """(24, 3) mean linear sRGB of each patch of a chart image ``linear`` (3, H, W) that spans
    the whole frame; ``inner``: the central fraction of each cell averaged."""
    if linear.ndim != 3 or linear.shape[0] != 3:
        raise ValueError(f"linear must be (3, H, W), got {linear.shape}")
    _, h, w = linear.shape
    cell = min(w / COLS, h / ROWS)
    half = inner * cell / 2.0
    means = []
    for i in range(ROWS * COLS):
        cy, cx = (i // COLS + 0.5) * cell, (i % COLS + 0.5) * cell
        y0, y1, x0, x1 = (round(v) for v in (cy - half, cy + half, cx - half, cx + half))
        means.append(linear[:, y0:y1, x0:x1].reshape(3, -1).mean(axis=1))
    return np.stack(means)


def colour_errors(means_linear: np.ndarray, exposure_correct: bool = True) -> dict:
    """CIEDE2000 of measured patch colours (24, 3) linear sRGB against the references.

    ``exposure_correct``: first scale the colours so that the unclipped neutral patches'
    luminance (every channel below 0.98) matches the references' in the least-squares sense (a
    camera's exposure is not a colour error).

    Returns: ``delta_e00`` (24,), ``mean``, ``max``, ``exposure_scale``, ``floor_mean`` (the
    gamut-clipped ideal's mean, see :func:`gamut_floor`).
    """
    means_linear = np.asarray(means_linear, np.float64)
    if means_linear.shape != (24, 3):
        raise ValueError(f"patch colours must be (24, 3), got {means_linear.shape}")
    scale = 1.0
    if exposure_correct:
        luma = np.array([0.2126729, 0.7151522, 0.0721750])
        neutral = means_linear[NEUTRALS]
        unclipped = neutral.max(axis=1) < 0.98  # a clipped patch does not show the exposure
        measured = neutral[unclipped] @ luma
        reference = patch_reflectance()[NEUTRALS][unclipped] @ luma
        if unclipped.any():
            scale = float(measured @ reference / max(measured @ measured, 1e-12))
    de = ciede2000(linear_srgb_to_lab(np.clip(means_linear * scale, 0.0, None)), REFERENCE_LAB_D50)
    return {
        "delta_e00": de.tolist(),
        "mean": float(de.mean()),
        "max": float(de.max()),
        "worst_patch": PATCH_NAMES[int(de.argmax())],
        "exposure_scale": scale,
        "floor_mean": float(gamut_floor().mean()),
    }
