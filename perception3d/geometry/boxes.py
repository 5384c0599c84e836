"""3D boxes: layouts, corners, points in boxes, projection to a 2D image box.

Box layouts (defined here, once, for the whole project):
    boxes_lidar: (M, 7) ``[x, y, z, dx, dy, dz, heading]`` in the LiDAR frame, (x, y, z) the box
        centre in metres, dx along the heading, heading counter-clockwise from +x about +z
        (the OpenPCDet convention).
    boxes_cam: (M, 7) ``[x, y, z, l, h, w, ry]`` in the rectified camera frame, (x, y, z) the
        bottom centre (KITTI label location), ry = KITTI rotation_y about +y (pointing down).

Corner order (both frames): bottom face first, then top face, each counter-clockwise seen from
above starting at front-left: 0 front-left, 1 rear-left, 2 rear-right, 3 front-right (bottom),
4-7 the same on top. "Front" is +dx (the heading direction).
"""

from __future__ import annotations

import numba
import numpy as np

from perception3d.geometry.calib import Calibration

# Corners of the unit box in its own frame (x along heading, y left, z up), in the order
# documented above.
UNIT_CORNERS = np.array(
    [
        [0.5, 0.5, -0.5],
        [-0.5, 0.5, -0.5],
        [-0.5, -0.5, -0.5],
        [0.5, -0.5, -0.5],
        [0.5, 0.5, 0.5],
        [-0.5, 0.5, 0.5],
        [-0.5, -0.5, 0.5],
        [0.5, -0.5, 0.5],
    ]
)

# The 12 edges of a box as corner-index pairs (bottom ring, top ring, verticals).
BOX_EDGES = np.array(
    [[0, 1], [1, 2], [2, 3], [3, 0], [4, 5], [5, 6], [6, 7], [7, 4], [0, 4], [1, 5], [2, 6], [3, 7]]
)


def check_boxes(boxes: np.ndarray, name: str = "boxes") -> np.ndarray:
    """Return ``boxes`` as a (M, 7) float64 array or raise ``ValueError``."""
    b = np.asarray(boxes, dtype=np.float64)
    if b.ndim != 2 or b.shape[1] != 7:
        raise ValueError(f"{name} must be (M, 7), got {b.shape}")
    return b


def corners_lidar(boxes_lidar: np.ndarray) -> np.ndarray:
    """Corners of LiDAR-frame boxes.

    Args:
        boxes_lidar: (M, 7) ``[x, y, z, dx, dy, dz, heading]``.

    Returns:
        (M, 8, 3) float64 corners in the LiDAR frame, in the documented order.

    Example:
        >>> corners_lidar(np.array([[0, 0, 0, 4, 2, 1, 0.0]]))[0, 0].tolist()
        [2.0, 1.0, -0.5]
    """
    b = check_boxes(boxes_lidar, "boxes_lidar")
    local = UNIT_CORNERS[None] * b[:, None, 3:6]  # (M, 8, 3)
    c, s = np.cos(b[:, 6])[:, None], np.sin(b[:, 6])[:, None]
    x = local[..., 0] * c - local[..., 1] * s
    y = local[..., 0] * s + local[..., 1] * c
    return np.stack([x, y, local[..., 2]], axis=-1) + b[:, None, :3]


def corners_cam(boxes_cam: np.ndarray) -> np.ndarray:
    """Corners of camera-frame boxes.

    Args:
        boxes_cam: (M, 7) ``[x, y, z, l, h, w, ry]`` (bottom centre, rectified camera frame).

    Returns:
        (M, 8, 3) float64 corners in the rectified camera frame, in the documented order
        (bottom = larger y, as y points down).
    """
    b = check_boxes(boxes_cam, "boxes_cam")
    l, h, w, ry = b[:, 3:4], b[:, 4:5], b[:, 5:6], b[:, 6:7]
    # With heading = -(ry + pi/2), the box's front is (cos ry, 0, -sin ry) and its left
    # (sin ry, 0, cos ry) in the rect frame (the KITTI devkit's corner rotation about y).
    a = UNIT_CORNERS[None, :, 0] * l  # along front
    lft = UNIT_CORNERS[None, :, 1] * w  # along left
    up = (UNIT_CORNERS[None, :, 2] + 0.5) * h  # 0 at the bottom
    c, s = np.cos(ry), np.sin(ry)
    x = a * c + lft * s
    z = -a * s + lft * c
    y = -up
    return np.stack([x, y, z], axis=-1) + b[:, None, :3]


@numba.njit(cache=True)
def _points_in_boxes_kernel(pts, boxes, out_index, out_mask, want_mask):
    n = pts.shape[0]
    m = boxes.shape[0]
    for j in range(m):
        cx, cy, cz = boxes[j, 0], boxes[j, 1], boxes[j, 2]
        hx, hy, hz = boxes[j, 3] / 2, boxes[j, 4] / 2, boxes[j, 5] / 2
        c, s = np.cos(boxes[j, 6]), np.sin(boxes[j, 6])
        r2 = hx * hx + hy * hy
        for i in range(n):
            dx = pts[i, 0] - cx
            dy = pts[i, 1] - cy
            if dx * dx + dy * dy > r2:
                continue
            dz = pts[i, 2] - cz
            if dz > hz or dz < -hz:
                continue
            lx = dx * c + dy * s
            ly = -dx * s + dy * c
            if lx > hx or lx < -hx or ly > hy or ly < -hy:
                continue
            if want_mask:
                out_mask[i, j] = True
            if out_index[i] < 0:
                out_index[i] = j


def points_in_boxes(
    points_xyz: np.ndarray, boxes_lidar: np.ndarray, return_mask: bool = False
) -> np.ndarray:
    """Which box each point lies in (boundaries inclusive).

    Args:
        points_xyz: (N, 3+) LiDAR-frame points (extra columns ignored), metres.
        boxes_lidar: (M, 7) LiDAR-frame boxes.
        return_mask: return the full (N, M) membership instead of one index per point.

    Returns:
        (N,) int64 index of the first box containing each point, -1 for none; or (N, M) bool.

    Example:
        >>> pts = np.array([[0.0, 0, 0], [5, 0, 0]])
        >>> points_in_boxes(pts, np.array([[0, 0, 0, 2, 2, 2, 0.3]])).tolist()
        [0, -1]
    """
    pts = np.asarray(points_xyz)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points_xyz must be (N, 3) or (N, >=3), got {pts.shape}")
    boxes = check_boxes(boxes_lidar, "boxes_lidar")
    pts = np.ascontiguousarray(pts[:, :3], dtype=np.float64)
    index = np.full(len(pts), -1, dtype=np.int64)
    mask = np.zeros((len(pts), len(boxes)) if return_mask else (0, 0), dtype=np.bool_)
    if len(pts) and len(boxes):
        _points_in_boxes_kernel(pts, np.ascontiguousarray(boxes), index, mask, return_mask)
    return mask if return_mask else index


def rotate_points_z(points: np.ndarray, angle_rad: float) -> np.ndarray:
    """Rotate (N, 3+) points about +z by ``angle_rad`` (counter-clockwise); extra columns kept."""
    out = np.array(points, copy=True)
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    x, y = out[:, 0].copy(), out[:, 1].copy()
    out[:, 0] = c * x - s * y
    out[:, 1] = s * x + c * y
    return out


def rotate_boxes_z(boxes_lidar: np.ndarray, angle_rad: float) -> np.ndarray:
    """Rotate LiDAR boxes about the sensor's +z axis (an azimuth shift); headings follow."""
    b = check_boxes(boxes_lidar, "boxes_lidar").copy()
    b[:, :3] = rotate_points_z(b[:, :3], angle_rad)
    b[:, 6] = (b[:, 6] + angle_rad + np.pi) % (2 * np.pi) - np.pi
    return b


def clip_segments_near_plane(
    p0_rect: np.ndarray, p1_rect: np.ndarray, near_m: float = 0.1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clip 3D segments to the half-space in front of the camera's near plane.

    Args:
        p0_rect, p1_rect: (..., 3) segment end points in the rectified camera frame, metres.
        near_m: near-plane depth (rect z), metres.

    Returns:
        q0_rect, q1_rect: (..., 3) float64 clipped end points (the part with z >= near_m;
            unchanged where both ends are in front; meaningless where not visible).
        visible: (...,) bool, False where the whole segment lies behind the near plane.

    Example:
        >>> p0, p1 = np.array([[0, 0, -1.0]]), np.array([[0, 0, 3.0]])
        >>> q0, q1, vis = clip_segments_near_plane(p0, p1)
        >>> q0.tolist(), q1.tolist(), vis.tolist()
        ([[0.0, 0.0, 0.1]], [[0.0, 0.0, 3.0]], [True])
    """
    p0 = np.asarray(p0_rect, dtype=np.float64)
    p1 = np.asarray(p1_rect, dtype=np.float64)
    if p0.shape != p1.shape or p0.shape[-1] != 3:
        raise ValueError(f"p0_rect and p1_rect must both be (..., 3), got {p0.shape}, {p1.shape}")
    z0, z1 = p0[..., 2], p1[..., 2]
    in0, in1 = z0 >= near_m, z1 >= near_m
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(in0 != in1, (near_m - z0) / (z1 - z0), 0.0)[..., None]
    cut = p0 + t * (p1 - p0)
    cut[..., 2] = np.where(in0 != in1, near_m, cut[..., 2])  # exactly on the plane
    q0 = np.where(in0[..., None], p0, cut)
    q1 = np.where(in1[..., None], p1, cut)
    return q0, q1, in0 | in1


def box_edges_image(
    boxes_lidar: np.ndarray,
    calib: Calibration,
    edges: np.ndarray = BOX_EDGES,
    near_m: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Box edges projected into image_2, each clipped at the camera's near plane first.

    A box partly behind the camera keeps only the part of each edge in front of the near
    plane; projecting the whole edge would fold points behind the camera onto the image.
    The result is not clipped to the image border.

    Args:
        boxes_lidar: (M, 7) LiDAR-frame boxes.
        calib: frame calibration.
        edges: (E, 2) corner-index pairs (default :data:`BOX_EDGES`, the 12 edges).
        near_m: near-plane depth in the rectified frame, metres.

    Returns:
        segments_uv: (M, E, 2, 2) float64 ``[[u0, v0], [u1, v1]]`` pixels of each edge's
            visible part (zeros where not visible).
        visible: (M, E) bool.
    """
    b = check_boxes(boxes_lidar, "boxes_lidar")
    m, e = len(b), len(edges)
    corners = calib.lidar_to_rect(corners_lidar(b).reshape(-1, 3)).reshape(m, 8, 3)
    q0, q1, visible = clip_segments_near_plane(
        corners[:, edges[:, 0]], corners[:, edges[:, 1]], near_m
    )  # (M, E, 3) each
    ends = np.stack([q0, q1], axis=2).reshape(-1, 3)  # from (M, E, 2, 3) to (M*E*2, 3)
    uv, _ = calib.rect_to_image(ends)
    segments = uv.reshape(m, e, 2, 2)
    segments[~visible] = 0.0
    return segments, visible


def boxes_to_image_2d(
    boxes_lidar: np.ndarray,
    calib: Calibration,
    image_shape_hw: tuple[int, int] | None = None,
    near_m: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """2D image_2 box of each projected 3D box, clipped to the image.

    The box's edges are clipped at the camera's near plane before projection
    (:func:`box_edges_image`), so boxes partly behind the camera get the extent of their
    visible part.

    Args:
        boxes_lidar: (M, 7) LiDAR-frame boxes.
        calib: frame calibration.
        image_shape_hw: (H, W) to clip to; ``None`` leaves the box unclipped.
        near_m: near-plane depth in the rectified frame, metres.

    Returns:
        boxes_2d: (M, 4) float64 ``[x1, y1, x2, y2]`` pixels.
        valid: (M,) bool, False when the box is entirely behind the near plane or off-image.
    """
    b = check_boxes(boxes_lidar, "boxes_lidar")
    m = len(b)
    if m == 0:
        return np.zeros((0, 4)), np.zeros(0, dtype=bool)
    segments, visible = box_edges_image(b, calib, near_m=near_m)
    uv = segments.reshape(m, -1, 2)  # from (M, 12, 2, 2) to (M, 24, 2): both ends of each edge
    keep = np.repeat(visible, 2, axis=1)  # (M, 24)
    big = np.inf
    x1 = np.where(keep, uv[..., 0], big).min(axis=1)
    y1 = np.where(keep, uv[..., 1], big).min(axis=1)
    x2 = np.where(keep, uv[..., 0], -big).max(axis=1)
    y2 = np.where(keep, uv[..., 1], -big).max(axis=1)
    valid = keep.any(axis=1)
    boxes_2d = np.stack([x1, y1, x2, y2], axis=1)
    if image_shape_hw is not None:
        h, w = image_shape_hw
        valid &= (x2 >= 0) & (y2 >= 0) & (x1 <= w - 1) & (y1 <= h - 1)
        boxes_2d[:, [0, 2]] = np.clip(boxes_2d[:, [0, 2]], 0, w - 1)
        boxes_2d[:, [1, 3]] = np.clip(boxes_2d[:, [1, 3]], 0, h - 1)
    boxes_2d[~valid] = 0.0
    return boxes_2d, valid
