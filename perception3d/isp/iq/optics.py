"""The lens that images a chart onto the sensor: radial distortion, optical blur, pixel
integration. The sensor model (:mod:`perception3d.isp.sensor`) starts from radiance on the
pixel grid and has no optics of its own, so the IQ report images its charts through this
simple lens (its parameters are part of the report's config).

Order: the chart is sampled ``supersample`` x ``supersample`` times per pixel through the
distortion ``r_d = r_u (1 + k1 r_u^2)`` (r normalized by the half diagonal, the Brown-Conrady
radial term), blurred by a Gaussian PSF of ``blur_sigma_px`` (pixels), then averaged over each
pixel (a 100 % fill-factor box aperture).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from perception3d.isp.iq.charts import Chart


@dataclasses.dataclass(frozen=True)
class Lens:
    """The report's lens.

    Attributes:
        blur_sigma_px: standard deviation of the Gaussian PSF, pixels (>= 0).
        distortion_k1: radial distortion coefficient, r normalized by the half diagonal
            (< 0 barrel, > 0 pincushion; 0: a rectified camera, as KITTI's image_2).
        supersample: samples per pixel along each axis (pixel integration), >= 1.
    """

    blur_sigma_px: float = 0.5
    distortion_k1: float = 0.0
    supersample: int = 4

    def __post_init__(self) -> None:
        if self.blur_sigma_px < 0:
            raise ValueError(f"blur_sigma_px must be >= 0, got {self.blur_sigma_px}")
        if self.supersample < 1:
            raise ValueError(f"supersample must be >= 1, got {self.supersample}")


def undistort_points(x_d: np.ndarray, y_d: np.ndarray, width: int, height: int, k1: float):
    """Chart (undistorted) coordinates of image points ``x_d``, ``y_d`` (pixels) under
    ``r_d = r_u (1 + k1 r_u^2)``: fixed-point iteration (20 steps; |k1| < 0.3)."""
    cx, cy, norm = width / 2.0, height / 2.0, np.hypot(width, height) / 2.0
    xd, yd = (x_d - cx) / norm, (y_d - cy) / norm
    xu, yu = xd.copy(), yd.copy()
    for _ in range(20):
        factor = 1.0 + k1 * (xu**2 + yu**2)
        xu, yu = xd / factor, yd / factor
    return cx + xu * norm, cy + yu * norm


def image_chart(chart: Chart, width: int, height: int, lens: Lens) -> np.ndarray:
    """(3, height, width) float64 image-plane radiance of ``chart`` (reflectance x 1) through
    ``lens``: the mean over each pixel of the blurred, distorted chart."""
    s = lens.supersample
    coords = (np.arange(s * max(width, height)) + 0.5) / s
    x_d, y_d = np.meshgrid(coords[: s * width], coords[: s * height])
    if lens.distortion_k1 != 0.0:
        # the chart is evaluated on its regular grid, then resampled through the distortion
        fine = chart(x_d, y_d)
        x_u, y_u = undistort_points(x_d, y_d, width, height, lens.distortion_k1)
        idx = np.stack([y_u * s - 0.5, x_u * s - 0.5])
        fine = np.stack([ndimage.map_coordinates(c, idx, order=1, mode="nearest") for c in fine])
    else:
        fine = chart(x_d, y_d)
    if lens.blur_sigma_px > 0:
        fine = np.stack(
            [ndimage.gaussian_filter(c, lens.blur_sigma_px * s, mode="nearest") for c in fine]
        )
    # pixel integration: from (3, H s, W s) to (3, H, s, W, s), mean over the two s axes
    return fine.reshape(3, height, s, width, s).mean(axis=(2, 4))
