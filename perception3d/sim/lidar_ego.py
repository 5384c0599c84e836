"""Where the ego car hides the sensor's lowest lasers: a mask fitted on real KITTI sweeps.

The KITTI car's roof, its sensor rack and body keep the lowest lasers from the ground in fixed
directions. The mask holds, per laser (index into KITTI's 64, highest first), the azimuth bins
(400 per turn, 0.9 degrees, the range-image column convention of
`perception3d.geometry.spherical`: bin 0 starts at azimuth +pi, bin 200 at 0, straight ahead)
where fewer than a quarter of the 12 unlabelled full sweeps of ``../shared/kitti_real/unlabeled``
have a return (lasers 36-63 only, where the ground is always in reach; single isolated bins
dropped). Made by ``python tools/fit_lidar_sensor.py --ego-mask`` (docs/sim2real.md): behind the
car (|azimuth| > 155 degrees) lasers 52-63, straight ahead (+-15 degrees) lasers 57-63, and the
rack's posts (thin stripes near -60 to -80, +-125 to 140, +-160 degrees).

Example:
    >>> blocked = ego_blocked(np.array([63, 63, 20]), np.radians([0.0, 90.0, 180.0]))
    >>> blocked.tolist()
    [True, False, False]
"""

from __future__ import annotations

import numpy as np

__all__ = ["EGO_MASK_BINS", "ego_blocked", "ego_mask"]

EGO_MASK_BINS = 400
# laser -> ((first bin, end bin), ...), end exclusive
_EGO_RUNS: dict[int, tuple[tuple[int, int], ...]] = {
    42: ((16, 24), (371, 379)),
    43: ((19, 28), (374, 382)),
    44: ((16, 26), (371, 380)),
    45: ((19, 28), (374, 383)),
    46: ((17, 25), (268, 270), (372, 379)),
    47: ((21, 27), (274, 282), (376, 381)),
    48: ((16, 22), (265, 282), (374, 379)),
    49: ((19, 25), (270, 289), (377, 382)),
    50: ((17, 21), (263, 286), (375, 380)),
    51: ((19, 24), (269, 293), (379, 382)),
    52: ((0, 11), (17, 21), (264, 287), (376, 380), (386, 400)),
    53: ((0, 25), (269, 292), (377, 400)),
    54: ((0, 22), (261, 286), (373, 400)),
    55: ((0, 25), (56, 58), (268, 290), (376, 400)),
    56: ((0, 24), (49, 56), (263, 286), (338, 343), (372, 400)),
    57: ((0, 28), (52, 61), (189, 211), (270, 291), (341, 349), (374, 400)),
    58: ((0, 27), (48, 55), (184, 208), (209, 215), (264, 286), (339, 346), (370, 400)),
    59: ((0, 31), (52, 62), (183, 212), (213, 217), (274, 291), (341, 350), (372, 400)),
    60: (
        (0, 28),
        (46, 56),
        (180, 182),
        (184, 214),
        (228, 232),
        (237, 240),
        (269, 285),
        (337, 345),
        (367, 400),
    ),
    61: (
        (0, 33),
        (45, 48),
        (53, 58),
        (159, 162),
        (168, 171),
        (180, 220),
        (231, 236),
        (239, 244),
        (278, 289),
        (342, 349),
        (369, 400),
    ),
    62: (
        (0, 31),
        (39, 44),
        (47, 51),
        (156, 160),
        (164, 168),
        (178, 220),
        (229, 233),
        (235, 237),
        (238, 241),
        (276, 284),
        (339, 341),
        (342, 345),
        (350, 353),
        (365, 400),
    ),
    63: (
        (0, 39),
        (42, 49),
        (50, 61),
        (159, 165),
        (168, 172),
        (178, 219),
        (232, 237),
        (240, 244),
        (285, 290),
        (340, 351),
        (354, 360),
        (365, 400),
    ),
}


def ego_mask() -> np.ndarray:
    """(64, EGO_MASK_BINS) bool: the laser is blocked by the ego car in that azimuth bin."""
    mask = np.zeros((64, EGO_MASK_BINS), bool)
    for laser, runs in _EGO_RUNS.items():
        for lo, hi in runs:
            mask[laser, lo:hi] = True
    return mask


_MASK = ego_mask()
_MASK.setflags(write=False)


def ego_blocked(laser: np.ndarray, azimuth_rad: np.ndarray) -> np.ndarray:
    """(N,) bool: rays of KITTI laser ``laser`` (0-63) at ``azimuth_rad`` meet the ego car."""
    az = np.asarray(azimuth_rad, dtype=np.float64)
    col = np.floor(0.5 * (1.0 - az / np.pi) * EGO_MASK_BINS).astype(np.int64)
    return _MASK[np.asarray(laser, dtype=np.int64), np.clip(col, 0, EGO_MASK_BINS - 1)]
