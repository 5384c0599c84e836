"""Ray drop measured in the range image: which rays of the scanner come back empty.

The sweep becomes a (64, W) range image (rows: KITTI's HDL-64E beams, cones of
`ScannerModel.kitti_hdl64e`; W = 2000 columns, the sensor's 0.18 degree firing step). A cell
counts when its ray, followed to 10 m horizontal distance, projects into image_2 at least 20 px
from the border (the camera field of view, with a margin so that a camera crop of the sweep
loses no counted cell). Then:

- **empty share per beam**: counted cells without a return, per row. It includes rays into the
  open sky (upper beams) and onto the ego car (lowest beams), as the sensor sees it.
- **holes**: empty counted cells inside a surface: the nearest returns to the left and right in
  the same row, at most 2 columns away, agree in range (within 5 % + 0.3 m). The hole's range
  is theirs and its incidence angle that of its left neighbour. Drop share vs range and vs
  incidence = holes / (holes + returns) per bin, over cells where both are defined.
- **incidence** of a return: the angle between its ray and the surface normal, the normal
  being the cross product of the range-image tangents (differences to the row and column
  neighbours within 10 % of its range, one-sided at a surface's edge); NaN where a direction has
  no such neighbour.

Example:
    >>> img = np.full((1, 6), 10.0); img[0, 2] = 0.0  # one empty cell inside a wall
    >>> holes, hole_range = find_holes(img, img > 0)
    >>> holes.nonzero()[1].tolist(), float(hole_range[0, 2])
    ([2], 10.0)
"""

from __future__ import annotations

import numpy as np

from perception3d.geometry.calib import Calibration
from perception3d.geometry.spherical import RangeImage
from perception3d.lidar.scanner import KITTI_HDL64E_ELEVATIONS_DEG, ScannerModel

__all__ = [
    "INCIDENCE_EDGES_DEG",
    "RANGE_EDGES_M",
    "counted_cells",
    "find_holes",
    "incidence_deg",
    "range_image",
]

RANGE_EDGES_M = np.array([0, 5, 10, 15, 20, 30, 40, 50, 60, 80, 120], np.float64)
INCIDENCE_EDGES_DEG = np.arange(0.0, 90.1, 10.0)
_MARGIN_PX = 20.0
_MAX_GAP = 2
_SAME_SURFACE = (0.05, 0.3)  # relative, absolute metres
_SAME_NORMAL = 0.1  # neighbours within 10 % of the range shape the normal


def range_image(points: np.ndarray, rows: np.ndarray, width: int) -> RangeImage:
    """The (64, width) range image of a sweep with known beams (nearest return per cell)."""
    beams = np.radians(KITTI_HDL64E_ELEVATIONS_DEG)
    return RangeImage.from_points(points[:, :4], beams, width=width, rows=rows)


def counted_cells(
    scanner: ScannerModel, calib: Calibration, image_hw: tuple[int, int]
) -> np.ndarray:
    """(H, W) bool: rays whose point at 10 m horizontal distance projects into image_2, at
    least 20 px inside its border."""
    rows, cols = np.meshgrid(np.arange(scanner.num_beams), np.arange(scanner.width), indexing="ij")
    xyz = scanner.ray_points(rows.ravel(), cols.ravel(), np.full(rows.size, 10.0))
    uv, depth = calib.lidar_to_image(xyz)
    h, w = image_hw
    inside = (
        (depth > 0)
        & (uv[:, 0] >= _MARGIN_PX)
        & (uv[:, 0] < w - _MARGIN_PX)
        & (uv[:, 1] >= _MARGIN_PX)
        & (uv[:, 1] < h - _MARGIN_PX)
    )
    return inside.reshape(rows.shape)


def _nearest_valid(valid: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """For every cell, the column of the nearest valid cell on one side (step -1: left, +1:
    right) within ``_MAX_GAP`` columns, and whether there is one."""
    h, w = valid.shape
    col = np.full((h, w), -1, np.int64)
    found = np.zeros((h, w), bool)
    for k in range(_MAX_GAP, 0, -1):  # nearer neighbours overwrite farther ones
        shifted = np.zeros((h, w), bool)
        if step < 0:
            shifted[:, k:] = valid[:, :-k]
        else:
            shifted[:, :-k] = valid[:, k:]
        col = np.where(shifted, np.arange(w)[None] + step * k, col)
        found |= shifted
    return col, found


def find_holes(range_m: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empty cells inside a surface (see the module docstring).

    Args:
        range_m: (H, W) range of each cell's return (ignored where not valid).
        valid: (H, W) bool, the cell holds a return.

    Returns:
        holes (H, W) bool, and hole_range (H, W) float64 (the neighbours' mean range, NaN
        elsewhere).
    """
    left, has_l = _nearest_valid(valid, -1)
    right, has_r = _nearest_valid(valid, +1)
    rows = np.arange(range_m.shape[0])[:, None]
    r_l = np.where(has_l, range_m[rows, np.maximum(left, 0)], np.nan)
    r_r = np.where(has_r, range_m[rows, np.maximum(right, 0)], np.nan)
    mean = (r_l + r_r) / 2
    rel, absolute = _SAME_SURFACE
    with np.errstate(invalid="ignore"):
        same = np.abs(r_l - r_r) <= rel * mean + absolute
    holes = ~valid & has_l & has_r & same
    return holes, np.where(holes, mean, np.nan)


def incidence_deg(image: RangeImage, points: np.ndarray) -> np.ndarray:
    """(H, W) incidence angle (degrees) of each return, NaN where no normal can be formed."""
    valid = image.mask
    xyz = np.zeros((*valid.shape, 3))
    xyz[valid] = points[image.point_index[valid], :3]
    r = np.where(valid, image.range_m, np.nan).astype(np.float64)

    def tangent(axis: int) -> np.ndarray:
        """Central difference, or one-sided where one neighbour is off the surface."""
        sides = []
        for shift in (-1, 1):
            nb, r_nb = np.roll(xyz, shift, axis), np.roll(r, shift, axis)
            with np.errstate(invalid="ignore"):
                ok = np.abs(r_nb - r) < _SAME_NORMAL * r
            if axis == 0:  # no wrap across the top and bottom beams
                ok[-1 if shift == -1 else 0] = False
            sides.append(np.where(ok[..., None], nb, xyz))
            sides.append(ok)
        nxt, ok_next, prev, ok_prev = sides  # np.roll(a, -1) puts cell i + 1 at i
        t = nxt - prev
        t[~(ok_next | ok_prev)] = np.nan
        return t

    normal = np.cross(tangent(1), tangent(0))
    norm = np.linalg.norm(normal, axis=-1)
    ray = xyz / np.maximum(np.linalg.norm(xyz, axis=-1, keepdims=True), 1e-9)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.abs(np.einsum("hwk,hwk->hw", normal, ray)) / norm
    out = np.degrees(np.arccos(np.clip(cos, 0.0, 1.0)))
    out[~valid] = np.nan
    return out
