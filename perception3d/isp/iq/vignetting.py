"""Vignetting: the fall-off of a flat field from the centre to the corners."""

from __future__ import annotations

import math

import numpy as np


def flat_field_falloff(image: np.ndarray, window: float = 0.08) -> dict:
    """Fall-off of ``image`` (H, W) linear intensity of a uniform chart.

    The centre and the four corners are averaged over squares of side ``window`` x min(H, W).

    Returns:
        ``corner_to_centre`` (mean of the four corners over the centre), ``falloff_pct``
        (``100 (1 - ratio)``), ``falloff_stops`` (``-log2 ratio``).

    Example:
        >>> flat_field_falloff(np.ones((32, 48)))["falloff_pct"]
        0.0
    """
    image = np.asarray(image, np.float64)
    if image.ndim != 2:
        raise ValueError(f"image must be (H, W), got {image.shape}")
    h, w = image.shape
    k = max(2, round(window * min(h, w)))
    cy, cx = h // 2, w // 2
    centre = image[cy - k // 2 : cy - k // 2 + k, cx - k // 2 : cx - k // 2 + k].mean()
    corners = [image[:k, :k], image[:k, -k:], image[-k:, :k], image[-k:, -k:]]
    ratio = float(np.mean([c.mean() for c in corners]) / max(centre, 1e-12))
    return {
        "corner_to_centre": ratio,
        "falloff_pct": 100.0 * (1.0 - ratio),
        "falloff_stops": -math.log2(max(ratio, 1e-12)),
    }
