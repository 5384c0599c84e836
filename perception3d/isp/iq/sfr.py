"""Sharpness: the spatial frequency response of a slanted edge (ISO 12233 e-SFR).

Steps (ISO 12233:2017 annex D, as in Burns' sfrmat): per row, the centroid of the windowed
derivative locates the edge; a line fitted to the centroids gives its angle; every pixel's
signed distance to the line (perpendicular, in pixels) bins the values into a 4x oversampled
edge spread function (ESF); its derivative is the line spread function (LSF), Hamming windowed
about its peak; ``|FFT|`` normalized at zero frequency is the MTF, corrected for the derivative
filter's own response. MTF50: the first frequency where it falls to 0.5 (cycles per pixel).
"""

from __future__ import annotations

import dataclasses

import numpy as np

OVERSAMPLE = 4


@dataclasses.dataclass(frozen=True)
class Sfr:
    """An e-SFR: ``freq_cy_px`` (K,), ``mtf`` (K,) up to 1 cycle/pixel, the edge angle from
    vertical (degrees) and ``mtf50_cy_px``."""

    freq_cy_px: np.ndarray
    mtf: np.ndarray
    edge_angle_deg: float
    mtf50_cy_px: float


def _edge_line(roi: np.ndarray) -> tuple[float, float]:
    """(slope, offset) of the edge, ``x = offset + slope * y`` (pixel-centre coordinates):
    per-row centroids of the signed horizontal derivative (noise stays zero-mean), first over
    the whole row, then twice more under a Hamming window centred on the fitted line."""
    d = np.diff(roi, axis=1)  # (H, W - 1); pixel centres at x = i + 0.5, so the difference
    d = d * np.sign(d.sum())  # of pixels i, i + 1 sits at x = i + 1; edge made rising
    xs = np.arange(d.shape[1]) + 1.0
    rows = np.arange(roi.shape[0]) + 0.5
    window = np.ones_like(d)
    half = d.shape[1] / 4.0
    for _ in range(3):
        dw = d * window
        centroid = (dw * xs).sum(1) / np.where(np.abs(dw.sum(1)) > 1e-12, dw.sum(1), 1e-12)
        slope, offset = np.polyfit(rows, centroid, 1)
        u = np.clip((xs[None] - (offset + slope * rows[:, None])) / half, -1.0, 1.0)
        window = 0.54 + 0.46 * np.cos(np.pi * u)
    return float(slope), float(offset)


def mtf50(freq: np.ndarray, mtf: np.ndarray, level: float = 0.5) -> float:
    """First frequency where ``mtf`` falls to ``level`` (linear interpolation); NaN if never."""
    below = np.nonzero(mtf <= level)[0]
    if len(below) == 0 or below[0] == 0:
        return float("nan")
    i = below[0]
    f0, f1, m0, m1 = freq[i - 1], freq[i], mtf[i - 1], mtf[i]
    return float(f0 + (m0 - level) * (f1 - f0) / (m0 - m1))


def slanted_edge_sfr(roi: np.ndarray) -> Sfr:
    """e-SFR of a near-vertical edge in ``roi`` (H, W) linear intensity (either polarity,
    2-45 degrees from vertical is the usable range).

    Raises:
        ValueError: not 2-D, too small, or no edge (flat region).
    """
    roi = np.asarray(roi, np.float64)
    if roi.ndim != 2 or min(roi.shape) < 16:
        raise ValueError(f"roi must be a 2-D array of at least 16 x 16, got {roi.shape}")
    if np.ptp(roi) <= 0:
        raise ValueError("roi is flat: no edge to measure")
    h, w = roi.shape
    rows = np.arange(h, dtype=np.float64) + 0.5  # row centres, as x
    slope, offset = _edge_line(roi)  # edge x = offset + slope * row
    cos_t = 1.0 / np.hypot(1.0, slope)
    xs = np.arange(w, dtype=np.float64) + 0.5  # pixel centres
    dist = (xs[None, :] - (offset + slope * rows[:, None])) * cos_t  # perpendicular, pixels
    bins = np.floor(dist * OVERSAMPLE).astype(int).ravel()
    bins -= bins.min()
    count = np.bincount(bins)
    esf = np.bincount(bins, roi.ravel()) / np.maximum(count, 1)
    filled = count > 0
    esf = np.interp(np.arange(len(esf)), np.nonzero(filled)[0], esf[filled])
    # keep the bins covered along the whole edge: a distance every row reaches
    reach = int(np.floor((w / 2.0 - abs(slope) * h / 2.0) * cos_t * OVERSAMPLE)) - 2
    centre = int(np.argmax(np.abs(np.convolve(esf, [0.5, 0.0, -0.5], "valid")))) + 1
    lo, hi = max(centre - reach, 1), min(centre + reach, len(esf) - 1)
    lsf = np.convolve(esf[lo - 1 : hi + 1], [0.5, 0.0, -0.5], "valid")  # central difference
    peak = int(np.argmax(np.abs(lsf)))
    n = len(lsf)
    half = max(peak, n - 1 - peak)
    window = 0.54 + 0.46 * np.cos(np.pi * (np.arange(n) - peak) / max(half, 1))
    spectrum = np.abs(np.fft.rfft(lsf * window))
    freq = np.fft.rfftfreq(n, d=1.0 / OVERSAMPLE)  # cycles per pixel
    mtf = spectrum / max(spectrum[0], 1e-12)
    # the central difference over 2 bins has response sin(2 pi f d) / (2 pi f d), d = 1/4 px
    arg = 2.0 * np.pi * freq / OVERSAMPLE
    mtf = mtf / np.where(arg > 0, np.sin(arg) / np.where(arg > 0, arg, 1.0), 1.0)
    keep = freq <= 1.0
    freq, mtf = freq[keep], mtf[keep]
    return Sfr(freq, mtf, float(np.degrees(np.arctan(slope))), mtf50(freq, mtf))
