"""Rotated BEV and 3D IoU of boxes in the LiDAR and camera frames, and axis-aligned image IoU.

The BEV intersection is exact: each rectangle A is clipped by the four edges of B
(Sutherland-Hodgman, float64, numba). A vertex lying on an edge (signed distance >= -1e-9 m) is
kept unchanged, and every area, the boxes' own included, is the shoelace sum over the very same
corner coordinates, so identical boxes give an IoU of exactly 1.0 (the KITTI python port's
float point-in-quad test does not, OpenPCDet #972). Intersections thinner than 1e-10 of the
smaller box's area (boxes touching at an edge or a corner) count as 0.
"""

from __future__ import annotations

from typing import Literal

import numba
import numpy as np
import torch

Criterion = Literal["union", "a"]

_EDGE_TOL_M = 1e-9  # a vertex this close outside an edge is on it
_REL_AREA_EPS = 1e-10  # intersections below this fraction of the smaller box are touching
_MAX_VERTS = 64  # each of the 4 clips at most doubles the vertex count: 4 * 2**4
_MODE_AREA, _MODE_UNION, _MODE_A = 0, 1, 2


@numba.njit(cache=True)
def _rect_corners(rects: np.ndarray) -> np.ndarray:
    """(N, 5) [cx, cy, length, width, angle] -> (N, 4, 2) corners, counter-clockwise."""
    corners = np.empty((rects.shape[0], 4, 2))
    for i in range(rects.shape[0]):
        half_l, half_w = 0.5 * rects[i, 2], 0.5 * rects[i, 3]
        cos_a, sin_a = np.cos(rects[i, 4]), np.sin(rects[i, 4])
        for k in range(4):  # local (a, b): (+, +), (-, +), (-, -), (+, -)
            a = half_l if (k == 0 or k == 3) else -half_l
            b = half_w if k < 2 else -half_w
            corners[i, k, 0] = rects[i, 0] + (a * cos_a - b * sin_a)
            corners[i, k, 1] = rects[i, 1] + (a * sin_a + b * cos_a)
    return corners


@numba.njit(cache=True)
def _shoelace(xs: np.ndarray, ys: np.ndarray, n: int, ref_x: float, ref_y: float) -> float:
    """Signed area of the polygon xs[:n], ys[:n], summed relative to (ref_x, ref_y)."""
    twice_area = 0.0
    for k in range(n):
        nxt = k + 1 if k + 1 < n else 0
        twice_area += (xs[k] - ref_x) * (ys[nxt] - ref_y) - (xs[nxt] - ref_x) * (ys[k] - ref_y)
    return 0.5 * twice_area


@numba.njit(cache=True)
def _clip(xs, ys, n, px, py, ux, uy, out_x, out_y) -> int:
    """Keep the part of polygon (xs, ys)[:n] left of the line through p along unit u."""
    prev_x, prev_y = xs[n - 1], ys[n - 1]
    prev_d = ux * (prev_y - py) - uy * (prev_x - px)  # signed distance, > 0 on the left
    m = 0
    for k in range(n):
        cur_x, cur_y = xs[k], ys[k]
        cur_d = ux * (cur_y - py) - uy * (cur_x - px)
        cur_in = cur_d >= -_EDGE_TOL_M
        if (prev_d >= -_EDGE_TOL_M) != cur_in:  # the edge crosses the line: add the crossing
            t = min(max(prev_d / (prev_d - cur_d), 0.0), 1.0)
            out_x[m], out_y[m] = prev_x + t * (cur_x - prev_x), prev_y + t * (cur_y - prev_y)
            m += 1
        if cur_in:  # kept unchanged, so a polygon inside B comes out bit-for-bit as it went in
            out_x[m], out_y[m] = cur_x, cur_y
            m += 1
        prev_x, prev_y, prev_d = cur_x, cur_y, cur_d
    return m


@numba.njit(cache=True)
def _overlap_kernel(rects_a, rects_b, z_a, z_b, use_height, mode) -> np.ndarray:
    """(N, M) intersection areas/volumes (mode 0) or IoU over union (1) or over A (2).

    rects: (N, 5) [cx, cy, length, width, angle]; z: (N, 2) [low, high], read if use_height.
    """
    num_a, num_b = rects_a.shape[0], rects_b.shape[0]
    corners_a, corners_b = _rect_corners(rects_a), _rect_corners(rects_b)
    xs, ys = np.empty(_MAX_VERTS), np.empty(_MAX_VERTS)
    xs_tmp, ys_tmp = np.empty(_MAX_VERTS), np.empty(_MAX_VERTS)
    area_a, area_b = np.empty(num_a), np.empty(num_b)
    for i in range(num_a):  # own areas through the same shoelace, same corners, same reference
        xs[:4], ys[:4] = corners_a[i, :, 0], corners_a[i, :, 1]
        area_a[i] = _shoelace(xs, ys, 4, rects_a[i, 0], rects_a[i, 1])
    for j in range(num_b):
        xs[:4], ys[:4] = corners_b[j, :, 0], corners_b[j, :, 1]
        area_b[j] = _shoelace(xs, ys, 4, rects_b[j, 0], rects_b[j, 1])
    size_a, size_b = area_a.copy(), area_b.copy()  # volumes when use_height
    if use_height:
        size_a *= z_a[:, 1] - z_a[:, 0]
        size_b *= z_b[:, 1] - z_b[:, 0]
    radius_a = 0.5 * np.sqrt(rects_a[:, 2] ** 2 + rects_a[:, 3] ** 2)
    radius_b = 0.5 * np.sqrt(rects_b[:, 2] ** 2 + rects_b[:, 3] ** 2)
    # unit edge directions of B: edge k runs from corner k to corner k + 1
    cos_b, sin_b = np.cos(rects_b[:, 4]), np.sin(rects_b[:, 4])
    edge_dirs = np.empty((num_b, 4, 2))
    for j in range(num_b):
        c, s = cos_b[j], sin_b[j]
        edge_dirs[j, 0, 0], edge_dirs[j, 0, 1] = -c, -s
        edge_dirs[j, 1, 0], edge_dirs[j, 1, 1] = s, -c
        edge_dirs[j, 2, 0], edge_dirs[j, 2, 1] = c, s
        edge_dirs[j, 3, 0], edge_dirs[j, 3, 1] = -s, c

    out = np.zeros((num_a, num_b))
    for i in range(num_a):
        if area_a[i] <= 0.0:
            continue
        for j in range(num_b):
            if area_b[j] <= 0.0:
                continue
            dx, dy = rects_a[i, 0] - rects_b[j, 0], rects_a[i, 1] - rects_b[j, 1]
            reach = radius_a[i] + radius_b[j]
            if dx * dx + dy * dy > reach * reach:
                continue
            height = 1.0
            if use_height:
                height = min(z_a[i, 1], z_b[j, 1]) - max(z_a[i, 0], z_b[j, 0])
                if height <= 0.0:
                    continue
            for k in range(4):
                xs[k], ys[k] = corners_a[i, k, 0], corners_a[i, k, 1]
            n = 4
            for k in range(0, 4, 2):  # clip by edges k and k + 1, xs -> xs_tmp -> xs
                bx, by = corners_b[j, k, 0], corners_b[j, k, 1]
                ux, uy = edge_dirs[j, k, 0], edge_dirs[j, k, 1]
                n = _clip(xs, ys, n, bx, by, ux, uy, xs_tmp, ys_tmp)
                if n < 3:
                    break
                bx, by = corners_b[j, k + 1, 0], corners_b[j, k + 1, 1]
                ux, uy = edge_dirs[j, k + 1, 0], edge_dirs[j, k + 1, 1]
                n = _clip(xs_tmp, ys_tmp, n, bx, by, ux, uy, xs, ys)
                if n < 3:
                    break
            if n < 3:
                continue
            inter = _shoelace(xs, ys, n, rects_a[i, 0], rects_a[i, 1])
            if inter <= _REL_AREA_EPS * min(area_a[i], area_b[j]):
                continue
            if use_height:
                inter *= height
            if mode == _MODE_AREA:
                out[i, j] = inter
            elif mode == _MODE_UNION:
                out[i, j] = min(inter / (size_a[i] + size_b[j] - inter), 1.0)
            else:
                out[i, j] = min(inter / size_a[i], 1.0)
    return out


def _as_array(boxes, name: str, width: int, size_cols: slice) -> np.ndarray:
    """Validate (N, width) boxes (numpy, torch or nested lists) with sizes >= 0 in size_cols;
    return them C-contiguous float64."""
    if isinstance(boxes, torch.Tensor):
        boxes = boxes.detach().cpu().numpy()
    arr = np.ascontiguousarray(boxes, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, width)
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ValueError(f"{name} must be (N, {width}), got {tuple(arr.shape)}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got NaN or inf")
    if (arr[:, size_cols] < 0.0).any():
        raise ValueError(f"{name} sizes must be >= 0, got min {arr[:, size_cols].min()}")
    return arr


def _mode(criterion: str) -> int:
    if criterion == "union":
        return _MODE_UNION
    elif criterion == "a":
        return _MODE_A
    else:
        raise ValueError(f"criterion must be 'union' or 'a', got {criterion!r}")


def rotated_rect_intersection(rects_a, rects_b) -> np.ndarray:
    """Exact intersection areas of rotated rectangles, all pairs.

    Args:
        rects_a: (N, 5) [cx, cy, length, width, angle_rad], any float dtype, numpy or torch;
            angle counter-clockwise from +x, length along the angle. Units as given (m).
        rects_b: (M, 5), same layout.

    Returns:
        (N, M) float64 numpy intersection areas (units squared).

    Raises:
        ValueError: a shape is not (N, 5), a value is not finite or a size is negative.

    Example:
        >>> rotated_rect_intersection([[0.0, 0.0, 2.0, 2.0, 0.0]], [[1.0, 1.0, 2.0, 2.0, 0.0]])
        array([[1.]])
    """
    rects_a = _as_array(rects_a, "rects_a", 5, slice(2, 4))
    rects_b = _as_array(rects_b, "rects_b", 5, slice(2, 4))
    no_z = np.zeros((0, 2))
    return _overlap_kernel(rects_a, rects_b, no_z, no_z, False, _MODE_AREA)


def _lidar_parts(boxes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(N, 7) LiDAR boxes -> (N, 5) BEV rects in x-y, (N, 2) z [low, high]."""
    boxes = _as_array(boxes, name, 7, slice(3, 6))
    rects = np.ascontiguousarray(boxes[:, [0, 1, 3, 4, 6]])  # x, y, dx, dy, heading
    z_range = boxes[:, 2:3] + np.array([-0.5, 0.5]) * boxes[:, 5:6]  # z -+ dz / 2
    return rects, z_range


def _cam_parts(boxes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(N, 7) camera boxes -> (N, 5) BEV rects in the x-z plane, (N, 2) y [low, high]."""
    boxes = _as_array(boxes, name, 7, slice(3, 6))
    # corner (a, b) maps to x = cx + a cos(ry) + b sin(ry), z = cz - a sin(ry) + b cos(ry):
    # a rectangle in (x, z) turned by -ry
    rects = np.ascontiguousarray(boxes[:, [0, 2, 3, 5, 6]])  # x, z, l, w, ry
    rects[:, 4] *= -1.0
    y_range = boxes[:, 1:2] - np.array([1.0, 0.0]) * boxes[:, 4:5]  # [y - h, y], y points down
    return rects, y_range


def _pairwise(parts, boxes_a, boxes_b, criterion: str, use_height: bool) -> np.ndarray:
    """All-pairs overlap of two box sets split by ``parts`` (:func:`_lidar_parts` or
    :func:`_cam_parts`): BEV only, or times the height overlap (``use_height``)."""
    mode = _mode(criterion)
    (rects_a, h_a), (rects_b, h_b) = parts(boxes_a, "boxes_a"), parts(boxes_b, "boxes_b")
    if not use_height:
        h_a = h_b = np.zeros((0, 2))
    return _overlap_kernel(rects_a, rects_b, h_a, h_b, use_height, mode)


def bev_iou_lidar(boxes_a, boxes_b, criterion: Criterion = "union") -> np.ndarray:
    """Rotated bird's-eye-view IoU of LiDAR-frame boxes, all pairs.

    Args:
        boxes_a: (N, 7) [x, y, z, dx, dy, dz, heading] LiDAR frame, centre of the box, metres,
            heading radians CCW from +x about +z; numpy (any float dtype) or torch.
        boxes_b: (M, 7), same layout.
        criterion: "union" for IoU, "a" for intersection over the BEV area of boxes_a.

    Returns:
        (N, M) float64 numpy array in [0, 1].

    Raises:
        ValueError: a shape is not (N, 7), a value is not finite, a size is negative or the
            criterion is unknown.

    Example:
        >>> boxes = [[10.0, 2.0, -1.0, 4.0, 2.0, 1.5, 0.3], [12.0, 2.0, -1.0, 4.0, 2.0, 1.5, 0.3]]
        >>> bev_iou_lidar(boxes, boxes).round(4)
        array([[1.    , 0.2255],
               [0.2255, 1.    ]])
    """
    return _pairwise(_lidar_parts, boxes_a, boxes_b, criterion, use_height=False)


def iou3d_lidar(boxes_a, boxes_b, criterion: Criterion = "union") -> np.ndarray:
    """3D IoU of LiDAR-frame boxes (rotated BEV intersection times z overlap), all pairs.

    Args, Returns, Raises: as ``bev_iou_lidar``; "a" divides by the volume of boxes_a.

    Example:
        >>> boxes_a = [[0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 0.0]]
        >>> iou3d_lidar(boxes_a, [[0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 0.0]])
        array([[0.33333333]])
    """
    return _pairwise(_lidar_parts, boxes_a, boxes_b, criterion, use_height=True)


def bev_iou_cam(boxes_a, boxes_b, criterion: Criterion = "union") -> np.ndarray:
    """Rotated bird's-eye-view (x-z plane) IoU of camera-frame boxes, all pairs.

    Args:
        boxes_a: (N, 7) [x, y, z, l, h, w, ry] rectified camera frame (x right, y down,
            z forward), (x, y, z) the bottom centre, metres, ry radians about +y (KITTI
            rotation_y); numpy (any float dtype) or torch.
        boxes_b: (M, 7), same layout.
        criterion: "union" for IoU, "a" for intersection over the BEV area of boxes_a.

    Returns, Raises: as ``bev_iou_lidar``.
    """
    return _pairwise(_cam_parts, boxes_a, boxes_b, criterion, use_height=False)


def iou3d_cam(boxes_a, boxes_b, criterion: Criterion = "union") -> np.ndarray:
    """3D IoU of camera-frame boxes (BEV intersection times overlap of y in [y - h, y]).

    Args, Returns, Raises: as ``bev_iou_cam``; "a" divides by the volume of boxes_a.
    """
    return _pairwise(_cam_parts, boxes_a, boxes_b, criterion, use_height=True)


def iou_2d(boxes_a, boxes_b, criterion: Criterion = "union") -> np.ndarray:
    """IoU of axis-aligned image boxes, all pairs; widths are x2 - x1 (no +1), as the KITTI
    python evaluation computes them.

    Args:
        boxes_a: (N, 4) [x1, y1, x2, y2] pixels, x2 >= x1 and y2 >= y1; numpy or torch.
        boxes_b: (M, 4), same layout.
        criterion: "union" for IoU, "a" for intersection over the area of boxes_a (how the
            KITTI evaluation matches detections to DontCare regions).

    Returns:
        (N, M) float64 numpy array in [0, 1]; 0 where the denominator is 0.

    Raises:
        ValueError: a shape is not (N, 4), a value is not finite, a box has x2 < x1 or
            y2 < y1, or the criterion is unknown.

    Example:
        >>> iou_2d([[0.0, 0.0, 10.0, 10.0]], [[5.0, 0.0, 15.0, 10.0]])
        array([[0.33333333]])
        >>> iou_2d([[0.0, 0.0, 10.0, 10.0]], [[5.0, 0.0, 15.0, 10.0]], criterion="a")
        array([[0.5]])
    """
    mode = _mode(criterion)
    boxes_a = _as_array(boxes_a, "boxes_a", 4, slice(0, 0))
    boxes_b = _as_array(boxes_b, "boxes_b", 4, slice(0, 0))
    size_a, size_b = boxes_a[:, 2:] - boxes_a[:, :2], boxes_b[:, 2:] - boxes_b[:, :2]  # (N, 2)
    for name, size in (("boxes_a", size_a), ("boxes_b", size_b)):
        if (size < 0.0).any():
            raise ValueError(f"{name} must have x2 >= x1 and y2 >= y1, got a size {size.min()}")
    # from (N, 2) and (M, 2) corners to (N, M, 2) overlap extents [width, height]
    extent = np.minimum(boxes_a[:, None, 2:], boxes_b[None, :, 2:])
    extent -= np.maximum(boxes_a[:, None, :2], boxes_b[None, :, :2])
    np.maximum(extent, 0.0, out=extent)
    inter = extent[..., 0] * extent[..., 1]
    area_a = size_a[:, 0] * size_a[:, 1]
    if mode == _MODE_UNION:
        denom = area_a[:, None] + (size_b[:, 0] * size_b[:, 1])[None, :] - inter
    else:
        denom = np.broadcast_to(area_a[:, None], inter.shape)
    out = np.zeros_like(inter)
    np.divide(inter, denom, out=out, where=denom > 0.0)
    return out
