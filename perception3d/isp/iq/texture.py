"""Texture loss: the dead-leaves texture MTF (Cao, Guichard, Hornung, "Dead leaves model for
measuring texture quality on a digital camera", SPIE 7537, 2010).

``MTF_tex(f) = sqrt((PSD_out(f) - PSD_noise(f)) / PSD_ideal(f))``: the output's power spectrum
over the dead-leaves region, minus the noise power measured on a uniform patch of the same
mean in the same capture, over the ideal chart's power spectrum; all three radially averaged
in frequency bins. A denoiser that smears texture lowers it where the slanted edge (a strong,
isolated edge that denoisers keep) may not.
"""

from __future__ import annotations

import numpy as np


def radial_psd(image: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Radially averaged power spectrum of ``image`` (N, N) (mean removed, 2-D Hann window,
    normalized per pixel) in the frequency bins ``edges`` (cycles/pixel)."""
    image = np.asarray(image, np.float64)
    if image.ndim != 2 or image.shape[0] != image.shape[1]:
        raise ValueError(f"image must be square (N, N), got {image.shape}")
    n = image.shape[0]
    hann = np.hanning(n)
    window = np.outer(hann, hann)
    x = (image - image.mean()) * window
    power = np.abs(np.fft.fft2(x)) ** 2 / (window**2).sum()
    f = np.fft.fftfreq(n)
    radius = np.hypot(f[:, None], f[None, :])
    idx = np.digitize(radius.ravel(), edges) - 1
    ok = (idx >= 0) & (idx < len(edges) - 1)
    total = np.bincount(idx[ok], power.ravel()[ok], minlength=len(edges) - 1)
    count = np.bincount(idx[ok], minlength=len(edges) - 1)
    return total / np.maximum(count, 1)


def texture_mtf(output: np.ndarray, flat: np.ndarray, ideal: np.ndarray,
                num_bins: int = 24) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(frequencies (B,) cycles/pixel, texture MTF (B,)) of the dead-leaves region ``output``
    (N, N), noise-corrected with the uniform patch ``flat`` (N, N), against the ideal chart
    ``ideal`` (N, N) (same geometry, no camera)."""
    if not output.shape == flat.shape == ideal.shape:
        raise ValueError(f"shapes differ: {output.shape}, {flat.shape}, {ideal.shape}")
    edges = np.linspace(0.0, 0.5, num_bins + 1)
    ratio = (radial_psd(output, edges) - radial_psd(flat, edges)) / np.maximum(
        radial_psd(ideal, edges), 1e-20
    )
    centres = (edges[1:] + edges[:-1]) / 2.0
    return centres[1:], np.sqrt(np.clip(ratio, 0.0, None))[1:]  # bin 0 holds the DC term
