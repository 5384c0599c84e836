"""CIE L*a*b* (D50) of linear sRGB and the CIEDE2000 colour difference.

Linear sRGB (D65 white) -> XYZ (IEC 61966-2-1) -> Bradford adaptation to D50 -> L*a*b* D50,
the space the ColorChecker reference values are published in. CIEDE2000 follows the equations
of Sharma, Wu and Dalal, "The CIEDE2000 color-difference formula: implementation notes,
supplementary test data, and mathematical observations", Color Res. Appl. 30(1), 2005 (their
34 test pairs are in ``tests/isp/iq/test_ciede2000.py``).
"""

from __future__ import annotations

import numpy as np

# Linear sRGB (D65) -> XYZ, IEC 61966-2-1 (the same matrix as isp.color.RGB_TO_XYZ).
RGB_TO_XYZ_D65 = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
# Bradford chromatic adaptation D65 -> D50 (Lindbloom's tabulated matrix).
BRADFORD_D65_TO_D50 = np.array(
    [
        [1.0478112, 0.0228866, -0.0501270],
        [0.0295424, 0.9904844, -0.0170491],
        [-0.0092345, 0.0150436, 0.7521316],
    ]
)
WHITE_D50 = np.array([0.96422, 1.0, 0.82521])  # XYZ of the D50 white, Y = 1
_EPS = (6.0 / 29.0) ** 3
_KAPPA = 3.0 * (6.0 / 29.0) ** 2


def linear_srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """L*a*b* (D50) of linear sRGB values ``rgb`` (..., 3) (1.0 = diffuse white).

    Example:
        >>> np.round(linear_srgb_to_lab(np.array([1.0, 1.0, 1.0])), 3).tolist()
        [100.0, -0.0, 0.0]
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    if rgb.shape[-1] != 3:
        raise ValueError(f"rgb must be (..., 3), got {rgb.shape}")
    xyz = rgb @ (BRADFORD_D65_TO_D50 @ RGB_TO_XYZ_D65).T / WHITE_D50
    f = np.where(xyz > _EPS, np.cbrt(xyz), xyz / _KAPPA + 4.0 / 29.0)
    return np.stack(
        [
            116.0 * f[..., 1] - 16.0,
            500.0 * (f[..., 0] - f[..., 1]),
            200.0 * (f[..., 1] - f[..., 2]),
        ],
        axis=-1,
    )


def lab_to_linear_srgb(lab: np.ndarray) -> np.ndarray:
    """Inverse of :func:`linear_srgb_to_lab`: linear sRGB (..., 3), unclipped (colours outside
    the sRGB gamut get negative components)."""
    lab = np.asarray(lab, dtype=np.float64)
    if lab.shape[-1] != 3:
        raise ValueError(f"lab must be (..., 3), got {lab.shape}")
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    xyz = np.where(f > 6.0 / 29.0, f**3, _KAPPA * (f - 4.0 / 29.0)) * WHITE_D50
    return xyz @ np.linalg.inv(BRADFORD_D65_TO_D50 @ RGB_TO_XYZ_D65).T


def ciede2000(lab1: np.ndarray, lab2: np.ndarray, k_l: float = 1.0, k_c: float = 1.0,
              k_h: float = 1.0) -> np.ndarray:  # fmt: skip
    """CIEDE2000 colour difference of L*a*b* colours ``lab1``, ``lab2`` (..., 3), broadcast.

    Example:
        >>> pair = np.array([[50, 2.6772, -79.7751], [50, 0, -82.7485]])  # Sharma's pair 1
        >>> round(float(ciede2000(pair[0], pair[1])), 4)
        2.0425
    """
    lab1, lab2 = np.asarray(lab1, np.float64), np.asarray(lab2, np.float64)
    if lab1.shape[-1] != 3 or lab2.shape[-1] != 3:
        raise ValueError(f"Lab colours must be (..., 3), got {lab1.shape} and {lab2.shape}")
    l1, a1, b1 = np.moveaxis(lab1, -1, 0)
    l2, a2, b2 = np.moveaxis(lab2, -1, 0)
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2.0
    g = 0.5 * (1.0 - np.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360.0  # atan2(0, 0) = 0, as the paper specifies
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360.0
    chroma0 = c1p * c2p == 0
    dh = h2p - h1p
    dh = np.where(dh > 180.0, dh - 360.0, np.where(dh < -180.0, dh + 360.0, dh))
    dh = np.where(chroma0, 0.0, dh)
    d_l, d_c = l2 - l1, c2p - c1p
    d_h = 2.0 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh) / 2.0)
    l_bar, c_bar_p = (l1 + l2) / 2.0, (c1p + c2p) / 2.0
    h_sum = h1p + h2p
    h_bar = np.where(
        np.abs(h1p - h2p) <= 180.0,
        h_sum / 2.0,
        np.where(h_sum < 360.0, (h_sum + 360.0) / 2.0, (h_sum - 360.0) / 2.0),
    )
    h_bar = np.where(chroma0, h_sum, h_bar)
    t = (
        1.0
        - 0.17 * np.cos(np.radians(h_bar - 30.0))
        + 0.24 * np.cos(np.radians(2.0 * h_bar))
        + 0.32 * np.cos(np.radians(3.0 * h_bar + 6.0))
        - 0.20 * np.cos(np.radians(4.0 * h_bar - 63.0))
    )
    d_theta = 30.0 * np.exp(-(((h_bar - 275.0) / 25.0) ** 2))
    r_c = 2.0 * np.sqrt(c_bar_p**7 / (c_bar_p**7 + 25.0**7))
    s_l = 1.0 + 0.015 * (l_bar - 50.0) ** 2 / np.sqrt(20.0 + (l_bar - 50.0) ** 2)
    s_c = 1.0 + 0.045 * c_bar_p
    s_h = 1.0 + 0.015 * c_bar_p * t
    r_t = -np.sin(np.radians(2.0 * d_theta)) * r_c
    tl, tc, th = d_l / (k_l * s_l), d_c / (k_c * s_c), d_h / (k_h * s_h)
    return np.sqrt(tl**2 + tc**2 + th**2 + r_t * tc * th)
