"""How strong a LiDAR return is: the range/incidence model shared by the augmentations.

A return of a Lambertian surface of reflectivity rho at range r and incidence angle iota brings
back power P ~ rho cos(iota) exp(-2 alpha r) / r^2 (the lidar equation; alpha is the extinction
of the air, 0 when clear). The sensor detects it when P exceeds a floor, and reports an
intensity. KITTI's HDL-64E reports a calibrated, range-compensated reflectance: on sweep 004139
the median intensity of planar patches barely depends on range (3-80 m) or incidence (a
log-log fit gives exponents +0.14 for range and +0.02 for cos(iota)), so the reported intensity
is the surface's apparent reflectivity rho cos(iota) and the received power is

    P = i * exp(-2 alpha r) / r^2        (arbitrary units, 1/m^2; LISA, Kilic et al. 2021)

The floor: 99.98 % of the 004139 returns with nonzero intensity have i / r^2 >= 1e-5, which is
a 6 % reflective target at the 80 m where KITTI's returns end. KITTI quantizes intensity to 0.01,
so a reported 0 is below 0.005: we take 0.0025 for it. A detected return had at least the
floor's power; when its intensity says less (10 % of KITTI's returns read 0, some at 70 m), we
assume it came back 3 dB over the floor (HEADROOM = 2), so that the slightest haze does not
erase every such return at once.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import ArrayLike

__all__ = ["DETECTION_FLOOR", "apparent_reflectivity", "reflectivity_of", "return_power"]

DETECTION_FLOOR = 1e-5  # i / r^2 (1/m^2) of the weakest detectable return, measured on 004139
ZERO_INTENSITY = 0.0025  # what a reported 0 stands for (KITTI quantizes to 0.01)
HEADROOM = 2.0  # power over the floor assumed for returns whose intensity implies less


def apparent_reflectivity(
    intensity: ArrayLike, range_m: ArrayLike, floor: float = DETECTION_FLOOR
) -> np.ndarray:
    """Apparent reflectivity rho cos(iota) of detected returns: the intensity (a reported 0
    read as ``ZERO_INTENSITY``), but at least ``HEADROOM`` times what the detection floor
    implies at that range.

    Example:
        >>> apparent_reflectivity([0.3, 0.0, 0.0], [10.0, 10.0, 30.0]).round(4).tolist()
        [0.3, 0.0025, 0.018]
    """
    i = np.asarray(intensity, dtype=np.float64)
    r = np.asarray(range_m, dtype=np.float64)
    floor_reflectivity = floor * r * r
    return np.where(
        i >= floor_reflectivity,
        i,
        np.maximum(np.maximum(i, ZERO_INTENSITY), HEADROOM * floor_reflectivity),
    )


@numba.njit(cache=True, inline="always")
def reflectivity_of(intensity: float, range_m: float, floor: float) -> float:
    """Scalar `apparent_reflectivity`, for numba kernels."""
    floor_reflectivity = floor * range_m * range_m
    if intensity >= floor_reflectivity:
        return intensity
    return max(max(intensity, ZERO_INTENSITY), HEADROOM * floor_reflectivity)


def return_power(
    reflectivity: ArrayLike, range_m: ArrayLike, alpha_per_m: float | ArrayLike = 0.0
) -> np.ndarray:
    """Received power (1/m^2, arbitrary scale) of a return: rho exp(-2 alpha r) / r^2.

    Example:
        >>> float(return_power(0.5, 10.0))
        0.005
    """
    r = np.maximum(np.asarray(range_m, dtype=np.float64), 1e-3)
    return np.asarray(reflectivity) * np.exp(-2.0 * np.asarray(alpha_per_m) * r) / (r * r)
