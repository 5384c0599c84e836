"""Noise and dynamic range from a step chart of known grey levels.

Per patch: mean and standard deviation of the linear luminance in its central region. The
signal of a patch is its mean minus the mean of the chart's opaque (black) patch, so offsets
(black-level error, the positive bias of noise clipped at 0, flare, haze airlight) are not
counted as signal; ``SNR = signal / std``. Dynamic range (after ISO 15739's SNR = 1 criterion):
``log2`` of the ratio of the chart reflectances of the brightest unclipped patch to the darkest
patch with SNR >= 1, in stops. A patch counts as clipped when it is at the output's maximum
or not brighter than the next darker patch by 2 % (no tonal separation left).
"""

from __future__ import annotations

import math

import numpy as np


def patch_stats(image: np.ndarray, cells: list[tuple[float, float, float]],
                inner: float = 0.5) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(mean, std) (N,) of ``image`` (H, W) over the central ``inner`` fraction of each cell
    ``(centre x, centre y, size)`` (pixels)."""
    if image.ndim != 2:
        raise ValueError(f"image must be (H, W), got {image.shape}")
    means, stds = [], []
    for cx, cy, size in cells:
        half = inner * size / 2.0
        y0, y1 = round(cy - half), round(cy + half)
        x0, x1 = round(cx - half), round(cx + half)
        patch = image[y0:y1, x0:x1].astype(np.float64)
        if patch.size < 4:
            raise ValueError(f"cell at ({cx}, {cy}) of size {size} leaves {patch.size} pixels")
        means.append(patch.mean())
        stds.append(patch.std(ddof=1))
    return np.array(means), np.array(stds)


def snr_per_level(means: np.ndarray, stds: np.ndarray, black_index: int = -1) -> np.ndarray:
    """(N,) SNR ``(mean - mean[black]) / std`` of each patch (inf where std is 0 and the
    signal positive; the black patch's own entry is 0)."""
    signal = means - means[black_index]
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.where(stds > 0, signal / np.where(stds > 0, stds, 1.0), np.inf * np.sign(signal))
    snr = np.nan_to_num(snr, nan=0.0)
    snr[black_index] = 0.0
    return snr


def dynamic_range_stops(levels: np.ndarray, means: np.ndarray, snr: np.ndarray,
                        saturation: float = 1.0, separation: float = 0.02) -> dict:  # fmt: skip
    """Dynamic range of a step chart.

    Args:
        levels: (N,) chart reflectances, decreasing, the last one 0 (the black patch).
        means, snr: per patch (:func:`patch_stats`, :func:`snr_per_level`).
        saturation: the output's maximum (a patch within 0.5 % of it is clipped).
        separation: a patch is clipped when not at least this fraction brighter than the next.

    Returns:
        ``stops`` (0 when no patch qualifies), ``top_level`` and ``bottom_level`` (chart
        reflectances of the range's ends), ``clipped_patches``.
    """
    levels, means, snr = (np.asarray(v, np.float64) for v in (levels, means, snr))
    if not (levels.ndim == 1 and len(levels) == len(means) == len(snr) and levels[-1] == 0):
        raise ValueError("levels, means, snr must be (N,) with levels[-1] == 0 (black patch)")
    grey = len(levels) - 1
    top = 0
    while top < grey - 1 and (
        means[top] >= 0.995 * saturation or means[top] < (1.0 + separation) * means[top + 1]
    ):
        top += 1
    good = [i for i in range(top, grey) if snr[i] >= 1.0]
    if not good:
        return {"stops": 0.0, "top_level": float(levels[top]), "bottom_level": float("nan"),
                "clipped_patches": top}  # fmt: skip
    bottom = max(good)
    return {
        "stops": float(math.log2(levels[top] / levels[bottom])),
        "top_level": float(levels[top]),
        "bottom_level": float(levels[bottom]),
        "clipped_patches": top,
    }
