"""KITTI calibration: LiDAR <-> rectified camera <-> image, and box frame conversions.

Frames:
    lidar: Velodyne, x forward, y left, z up, metres.
    rect: rectified camera 0 frame, x right, y down, z forward, metres (KITTI labels live here).
    image: pixel coordinates (u right, v down) of camera 2 (``image_2``) through P2.

A point goes lidar -> rect as ``R0_rect @ Tr_velo_to_cam @ [x, y, z, 1]`` and rect -> image as
``P2 @ [x, y, z, 1]`` (KITTI object devkit, readme.txt).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_text
from perception3d.errors import KittiFormatError, read_utf8

# Accepted key spellings: object benchmark first, tracking benchmark second.
_KEY_ALIASES = {
    "R0_rect": ("R0_rect", "R_rect"),
    "Tr_velo_to_cam": ("Tr_velo_to_cam", "Tr_velo_cam"),
    "Tr_imu_to_velo": ("Tr_imu_to_velo", "Tr_imu_velo"),
}
_SHAPES = {
    "P0": (3, 4),
    "P1": (3, 4),
    "P2": (3, 4),
    "P3": (3, 4),
    "R0_rect": (3, 3),
    "Tr_velo_to_cam": (3, 4),
    "Tr_imu_to_velo": (3, 4),
}
_REQUIRED = ("P2", "R0_rect", "Tr_velo_to_cam")


def _as_xyz(points: np.ndarray, name: str) -> np.ndarray:
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] < 3:
        raise ValueError(f"{name} must be (N, 3) or (N, >=3), got {points.shape}")
    return points[:, :3].astype(np.float64, copy=False)


@dataclass(frozen=True)
class Calibration:
    """One frame's KITTI calibration (float64 matrices).

    Attributes:
        P2: (3, 4) projection of rectified camera-0 coordinates into image_2 pixels.
        R0_rect: (3, 3) rectifying rotation.
        Tr_velo_to_cam: (3, 4) rigid LiDAR -> (unrectified) camera 0.
        P0, P1, P3, Tr_imu_to_velo: optional, kept for writing the file back.
    """

    P2: np.ndarray
    R0_rect: np.ndarray
    Tr_velo_to_cam: np.ndarray
    P0: np.ndarray | None = None
    P1: np.ndarray | None = None
    P3: np.ndarray | None = None
    Tr_imu_to_velo: np.ndarray | None = None
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, shape in _SHAPES.items():
            m = getattr(self, name)
            if m is None:
                continue
            m = np.asarray(m, dtype=np.float64)
            if m.shape != shape:
                raise ValueError(f"calibration {name} must be {shape}, got {m.shape}")
            object.__setattr__(self, name, m)

    # -- file I/O ---------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | Path) -> Calibration:
        """Parse a KITTI object (or tracking) calib file.

        Raises:
            KittiFormatError: missing P2/R0_rect/Tr_velo_to_cam, a wrong count of numbers, a
                non-numeric value, or not UTF-8 text; the message names the file and line.
            FileNotFoundError: the file does not exist.
        """
        path = Path(path)
        mats: dict[str, np.ndarray] = {}
        text = read_utf8(path, error=KittiFormatError)
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            if ":" not in line:
                raise KittiFormatError(path, f"expected 'KEY: numbers', got {line[:40]!r}", lineno)
            key, values = line.split(":", 1)
            key = key.strip()
            canon = next((c for c, names in _KEY_ALIASES.items() if key in names), key)
            if canon not in _SHAPES:
                continue  # unknown keys (e.g. raw-data extras) are ignored
            try:
                nums = np.array([float(v) for v in values.split()], dtype=np.float64)
            except ValueError as exc:
                raise KittiFormatError(path, f"{key}: non-numeric value ({exc})", lineno) from None
            shape = _SHAPES[canon]
            if nums.size != shape[0] * shape[1]:
                raise KittiFormatError(
                    path, f"{key}: expected {shape[0] * shape[1]} numbers, got {nums.size}", lineno
                )
            if not np.all(np.isfinite(nums)):
                raise KittiFormatError(path, f"{key}: non-finite value", lineno)
            mats[canon] = nums.reshape(shape)
        missing = [k for k in _REQUIRED if k not in mats]
        if missing:
            raise KittiFormatError(path, f"missing matrix {', '.join(missing)}")
        return cls(**mats)

    def to_text(self) -> str:
        """KITTI object calib text (``%.12e`` numbers, trailing blank line as in KITTI)."""
        lines = []
        for name in ("P0", "P1", "P2", "P3", "R0_rect", "Tr_velo_to_cam", "Tr_imu_to_velo"):
            m = getattr(self, name)
            if m is None:
                m = self.P2 if name in ("P0", "P1", "P3") else np.eye(3, 4)
            lines.append(f"{name}: " + " ".join(f"{v:.12e}" for v in m.ravel()))
        return "\n".join(lines) + "\n\n"

    def write(self, path: str | Path) -> Path:
        """Write the calib file atomically."""
        return atomic_write_text(path, self.to_text())

    # -- derived matrices -------------------------------------------------------------------
    @property
    def lidar_to_rect_matrix(self) -> np.ndarray:
        """(4, 4) homogeneous LiDAR -> rectified camera transform."""
        if "l2r" not in self._cache:
            m = np.eye(4)
            m[:3, :4] = self.Tr_velo_to_cam
            r = np.eye(4)
            r[:3, :3] = self.R0_rect
            self._cache["l2r"] = r @ m
        return self._cache["l2r"]

    @property
    def rect_to_lidar_matrix(self) -> np.ndarray:
        """(4, 4) inverse of :attr:`lidar_to_rect_matrix`."""
        if "r2l" not in self._cache:
            self._cache["r2l"] = np.linalg.inv(self.lidar_to_rect_matrix)
        return self._cache["r2l"]

    # -- point transforms -------------------------------------------------------------------
    def lidar_to_rect(self, points_lidar: np.ndarray) -> np.ndarray:
        """(N, 3+) LiDAR points -> (N, 3) float64 rectified camera points."""
        xyz = _as_xyz(points_lidar, "points_lidar")
        m = self.lidar_to_rect_matrix
        return xyz @ m[:3, :3].T + m[:3, 3]

    def rect_to_lidar(self, points_rect: np.ndarray) -> np.ndarray:
        """(N, 3) rectified camera points -> (N, 3) float64 LiDAR points."""
        xyz = _as_xyz(points_rect, "points_rect")
        m = self.rect_to_lidar_matrix
        return xyz @ m[:3, :3].T + m[:3, 3]

    def rect_to_image(self, points_rect: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project rectified camera points into image_2.

        Returns:
            uv_img: (N, 2) float64 pixel coordinates (meaningless where depth <= 0).
            depth_m: (N,) float64 depth along the camera-2 optical axis.
        """
        xyz = _as_xyz(points_rect, "points_rect")
        proj = xyz @ self.P2[:, :3].T + self.P2[:, 3]
        depth = proj[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = proj[:, :2] / depth[:, None]
        return uv, depth

    def lidar_to_image(self, points_lidar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project LiDAR points into image_2: ``(uv_img (N, 2), depth_m (N,))``."""
        return self.rect_to_image(self.lidar_to_rect(points_lidar))

    def _p2_intrinsics(self) -> tuple[float, float, float, float, float, float, float]:
        """``(fu, fv, cu, cv, tx, ty, tz)`` of ``P2 = K [I | t]``: its last column holds K t, so
        t_x = (P2[0,3] - cu P2[2,3]) / fu etc. (KITTI's P2 has a baseline offset along x and
        small y/z offsets)."""
        fu, fv, cu, cv = self.P2[0, 0], self.P2[1, 1], self.P2[0, 2], self.P2[1, 2]
        tx = (self.P2[0, 3] - cu * self.P2[2, 3]) / fu
        ty = (self.P2[1, 3] - cv * self.P2[2, 3]) / fv
        return fu, fv, cu, cv, tx, ty, self.P2[2, 3]

    @property
    def image_to_rect_matrix(self) -> np.ndarray:
        """(4, 4) B with ``[x, y, z, 1]_rect = B [u d, v d, d, 1]``: pixel (u, v) of image_2 at
        depth d along camera 2's axis, :meth:`image_to_rect` as a matrix (to compose with
        other transforms)."""
        fu, fv, cu, cv, tx, ty, tz = self._p2_intrinsics()
        return np.array(
            [
                [1 / fu, 0.0, -cu / fu, -tx],
                [0.0, 1 / fv, -cv / fv, -ty],
                [0.0, 0.0, 1.0, -tz],
                [0.0, 0.0, 0.0, 1.0],
            ]
        )

    def image_to_rect(self, uv_img: np.ndarray, depth_m: np.ndarray) -> np.ndarray:
        """Back-project pixels with depth (along camera 2's axis) to rectified camera points."""
        uv = np.asarray(uv_img, dtype=np.float64)
        d = np.asarray(depth_m, dtype=np.float64)
        fu, fv, cu, cv, tx, ty, tz = self._p2_intrinsics()
        z = d - tz
        x = (uv[:, 0] - cu) * d / fu - tx
        y = (uv[:, 1] - cv) * d / fv - ty
        return np.stack([x, y, z], axis=1)


def limit_period(angle: np.ndarray, offset: float = 0.5, period: float = 2 * np.pi) -> np.ndarray:
    """Wrap angles into ``[-offset * period, (1 - offset) * period)``.

    Example:
        >>> float(limit_period(np.array([3 * np.pi / 2]))[0]) == -np.pi / 2
        True
    """
    angle = np.asarray(angle, dtype=np.float64)
    return angle - np.floor(angle / period + offset) * period


def boxes_cam_to_lidar(boxes_cam: np.ndarray, calib: Calibration) -> np.ndarray:
    """Camera boxes -> LiDAR boxes, in the field's convention (OpenPCDet
    ``boxes3d_kitti_camera_to_lidar``, mmdetection3d ``CameraInstance3DBoxes.convert_to``).

    The label's bottom centre is transformed into the LiDAR frame, then the centre is placed
    ``h / 2`` above it along LiDAR +z. The camera and LiDAR axes are not exactly parallel, so
    this differs by up to about 1 cm in x / y from shifting along the camera's -y first; point
    counts, ground-truth databases and checkpoints of those frameworks assume this rule.

    Args:
        boxes_cam: (M, 7) ``[x, y, z, l, h, w, ry]``, (x, y, z) the bottom centre in the
            rectified camera frame, metres; ry = KITTI rotation_y (radians).
        calib: the frame's calibration.

    Returns:
        (M, 7) float64 ``[x, y, z, dx, dy, dz, heading]`` LiDAR frame, (x, y, z) the box centre,
        dx = l, dy = w, dz = h, heading = -(ry + pi/2) wrapped to [-pi, pi).

    Example:
        >>> calib = Calibration(np.eye(3, 4), np.eye(3), np.array([[0, -1, 0, 0], [0, 0, -1, 0],
        ...     [1, 0, 0, 0]], dtype=float))
        >>> boxes_cam_to_lidar(np.array([[1.0, 1.5, 10, 4, 1.5, 2, 0]]), calib).round(4).tolist()
        [[10.0, -1.0, -0.75, 4.0, 2.0, 1.5, -1.5708]]
    """
    b = np.asarray(boxes_cam, dtype=np.float64).reshape(-1, 7)
    l, h, w, ry = b[:, 3], b[:, 4], b[:, 5], b[:, 6]
    xyz = calib.rect_to_lidar(b[:, :3])  # bottom centre, LiDAR frame
    xyz[:, 2] += h / 2
    heading = limit_period(-(ry + np.pi / 2))
    return np.concatenate([xyz, np.stack([l, w, h, heading], axis=1)], axis=1)


def boxes_lidar_to_cam(boxes_lidar: np.ndarray, calib: Calibration) -> np.ndarray:
    """LiDAR boxes -> camera boxes; exact inverse of :func:`boxes_cam_to_lidar` (the bottom
    centre ``dz / 2`` below the centre along LiDAR z, transformed into the rectified frame).

    Returns:
        (M, 7) float64 ``[x, y, z, l, h, w, ry]`` (bottom centre, rectified camera frame),
        ry wrapped to [-pi, pi).
    """
    b = np.asarray(boxes_lidar, dtype=np.float64).reshape(-1, 7)
    dx, dy, dz, heading = b[:, 3], b[:, 4], b[:, 5], b[:, 6]
    bottom_lidar = b[:, :3].copy()
    bottom_lidar[:, 2] -= dz / 2
    bottom_rect = calib.lidar_to_rect(bottom_lidar)
    ry = limit_period(-heading - np.pi / 2)
    return np.concatenate([bottom_rect, np.stack([dx, dz, dy, ry], axis=1)], axis=1)


def alpha_from_rotation_y(rotation_y: np.ndarray, location_rect: np.ndarray) -> np.ndarray:
    """KITTI observation angle: ``alpha = ry - atan2(x, z)`` of the object's location, wrapped
    to [-pi, pi). ``location_rect``: (M, 3) rectified camera frame."""
    loc = np.asarray(location_rect, dtype=np.float64).reshape(-1, 3)
    return limit_period(np.asarray(rotation_y, dtype=np.float64) - np.arctan2(loc[:, 0], loc[:, 2]))


def rotation_y_from_alpha(alpha: np.ndarray, location_rect: np.ndarray) -> np.ndarray:
    """Inverse of :func:`alpha_from_rotation_y`."""
    loc = np.asarray(location_rect, dtype=np.float64).reshape(-1, 3)
    return limit_period(np.asarray(alpha, dtype=np.float64) + np.arctan2(loc[:, 0], loc[:, 2]))
