"""Camera view: LiDAR points and 3D boxes projected onto ``image_2``.

Clipping is done in two stages, as a renderer does: each box edge is first clipped at the
camera's near plane in 3D (:func:`perception3d.geometry.boxes.box_edges_image`), so the part of
a box behind the camera is never folded onto the picture, then the projected segment is clipped
to the image rectangle (Liang-Barsky) before drawing. Points behind the near plane or outside
the image are dropped; where several points land on one pixel the nearest wins (z-buffer).
Lines are drawn with Pillow without anti-aliasing, so box colours are exact.
"""

from __future__ import annotations

import numpy as np

from perception3d.geometry.boxes import BOX_EDGES, box_edges_image
from perception3d.geometry.calib import Calibration
from perception3d.viz.canvas import font, to_rgb_uint8
from perception3d.viz.style import HEADING_EDGES, BoxSet, ViewBoxes, box_sets, colormap_rgb

_DRAW_EDGES = np.concatenate([BOX_EDGES, HEADING_EDGES])  # 12 edges + the front-face cross


def clip_segments_to_rect(
    segments: np.ndarray, width: float, height: float
) -> tuple[np.ndarray, np.ndarray]:
    """Clip 2D segments to the rectangle [0, width] x [0, height] (Liang-Barsky).

    Args:
        segments: (N, 2, 2) ``[[x0, y0], [x1, y1]]``.
        width, height: the rectangle.

    Returns:
        clipped: (N, 2, 2) float64 (meaningless where not kept); keep: (N,) bool.

    Example:
        >>> seg = np.array([[[-10.0, 5.0], [10.0, 5.0]]])
        >>> clipped, keep = clip_segments_to_rect(seg, 8, 8)
        >>> clipped.tolist(), keep.tolist()
        ([[[0.0, 5.0], [8.0, 5.0]]], [True])
    """
    seg = np.asarray(segments, dtype=np.float64)
    p0, d = seg[:, 0], seg[:, 1] - seg[:, 0]
    t0, t1 = np.zeros(len(seg)), np.ones(len(seg))
    keep = np.all(np.isfinite(seg), axis=(1, 2))
    for p, q in (
        (-d[:, 0], p0[:, 0]),
        (d[:, 0], width - p0[:, 0]),
        (-d[:, 1], p0[:, 1]),
        (d[:, 1], height - p0[:, 1]),
    ):
        parallel = p == 0
        keep &= ~(parallel & (q < 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(parallel, 0.0, q / p)
        t0 = np.where(~parallel & (p < 0), np.maximum(t0, r), t0)
        t1 = np.where(~parallel & (p > 0), np.minimum(t1, r), t1)
    keep &= t0 <= t1
    clipped = np.stack([p0 + t0[:, None] * d, p0 + t1[:, None] * d], axis=1)
    return np.where(keep[:, None, None], clipped, 0.0), keep


def project_points(
    points: np.ndarray,
    calib: Calibration,
    image_shape_hw: tuple[int, int],
    min_depth_m: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixels of the LiDAR points that fall on the image, in front of the camera.

    Args:
        points: (N, 3+) LiDAR frame, metres.
        calib: frame calibration.
        image_shape_hw: (H, W).
        min_depth_m: points nearer than this (along camera 2's axis) are dropped.

    Returns:
        index: (K,) int64 indices of the visible points; rc: (K, 2) int64 ``[row, col]``;
        depth_m: (K,) float64 depth along the optical axis.
    """
    pts = np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points must be (N, 3+), got {pts.shape}")
    uv, depth = calib.lidar_to_image(pts)
    h, w = image_shape_hw
    front = depth > min_depth_m
    col = np.floor(np.where(front, uv[:, 0], -1.0)).astype(np.int64)
    row = np.floor(np.where(front, uv[:, 1], -1.0)).astype(np.int64)
    index = np.flatnonzero(front & (col >= 0) & (col < w) & (row >= 0) & (row < h))
    return index, np.stack([row[index], col[index]], axis=1), depth[index]


def draw_points(
    rgb: np.ndarray,
    rc: np.ndarray,
    depth_m: np.ndarray,
    colors_rgb: np.ndarray,
    radius_px: int = 1,
) -> np.ndarray:
    """Draw points as (2r+1)-pixel squares in place; the nearest point wins every pixel."""
    h, w = rgb.shape[:2]
    offsets = np.arange(-radius_px, radius_px + 1)
    dr, dc = (a.reshape(-1) for a in np.meshgrid(offsets, offsets, indexing="ij"))
    rows = (rc[:, :1] + dr[None]).reshape(-1)  # from (K, S) to (K*S,), S square pixels
    cols = (rc[:, 1:] + dc[None]).reshape(-1)
    owner = np.repeat(np.arange(len(rc)), len(dr))
    ok = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    flat, owner = rows[ok] * w + cols[ok], owner[ok]
    order = np.lexsort((owner, depth_m[owner], flat))  # per pixel: nearest, then lowest index
    first = np.ones(len(order), bool)
    first[1:] = flat[order[1:]] != flat[order[:-1]]
    win = order[first]
    rgb.reshape(-1, 3)[flat[win]] = colors_rgb[owner[win]]
    return rgb


def _draw_box_set(draw, s: BoxSet, calib: Calibration, h: int, w: int, labels: bool) -> None:
    if not len(s):
        return
    segments, visible = box_edges_image(s.boxes_lidar, calib, _DRAW_EDGES)  # (M, 14, 2, 2)
    m, e = visible.shape
    clipped, keep = clip_segments_to_rect(segments.reshape(-1, 2, 2), w - 1, h - 1)
    keep = keep.reshape(m, e) & visible
    clipped = clipped.reshape(m, e, 2, 2)
    for k in range(m):
        color = tuple(int(c) for c in s.colors_rgb[k])
        for j in np.flatnonzero(keep[k]):
            (u0, v0), (u1, v1) = np.round(clipped[k, j])
            draw.line([(u0, v0), (u1, v1)], fill=color, width=s.line_width)
        if labels and s.labels[k] and keep[k].any():
            pts = clipped[k][keep[k]].reshape(-1, 2)
            x, y = float(pts[:, 0].min()), float(pts[:, 1].min())
            f = font(12)
            left, top, right, bottom = draw.textbbox((0, 0), s.labels[k], font=f)
            x = min(max(x, 0.0), w - (right - left) - 2)
            y = min(max(y - (bottom - top) - 4, 0.0), h - (bottom - top) - 2)
            draw.rectangle([x, y, x + right - left + 2, y + bottom + 1], fill=(0, 0, 0))
            draw.text((x + 1, y), s.labels[k], fill=color, font=f)


def render_image(
    image: np.ndarray | None,
    calib: Calibration,
    points: np.ndarray | None = None,
    boxes: ViewBoxes | None = None,
    *,
    image_shape_hw: tuple[int, int] | None = None,
    depth_range_m: tuple[float, float] = (2.0, 45.0),
    point_radius_px: int = 0,
    dim: float = 0.8,
    show_labels: bool = True,
) -> np.ndarray:
    """Draw projected LiDAR points (coloured by depth) and 3D box wireframes on ``image_2``.

    Args:
        image: (3, H, W) float sRGB in [0, 1] (``Frame.image``) or (H, W, 3) uint8; None draws
            on a black ``image_shape_hw`` canvas.
        calib: frame calibration (P2, R0_rect, Tr_velo_to_cam).
        points: (N, 3+) LiDAR frame, metres; coloured by depth (turbo: red near, blue far).
        boxes: as in :func:`perception3d.viz.bev.render_bev`. Each box is drawn as its 12
            edges plus a cross on its front face (the heading).
        depth_range_m: depth mapped to the colormap ends.
        point_radius_px: points are (2r+1) x (2r+1) squares.
        dim: factor on the image brightness so overlays stand out (1: unchanged).
        show_labels: score labels above the boxes.

    Returns:
        (H, W, 3) uint8 RGB.
    """
    from PIL import Image, ImageDraw

    if image is None:
        if image_shape_hw is None:
            raise ValueError("render_image needs an image or image_shape_hw")
        rgb = np.zeros((*image_shape_hw, 3), np.uint8)
    else:
        rgb = to_rgb_uint8(image)
        if dim != 1.0:
            rgb = (rgb.astype(np.float32) * dim).astype(np.uint8)
    h, w = rgb.shape[:2]
    if points is not None and len(points):
        _, rc, depth = project_points(points, calib, (h, w))
        colors = colormap_rgb(depth, *depth_range_m, "turbo_r")
        draw_points(rgb, rc, depth, colors, point_radius_px)
    sets = box_sets(boxes)
    im = Image.fromarray(rgb)
    draw = ImageDraw.Draw(im)
    for s in sorted(sets, key=lambda s: s.kind == "pred"):
        _draw_box_set(draw, s, calib, h, w, show_labels)
    return np.asarray(im).copy()
