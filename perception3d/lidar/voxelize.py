"""Voxels and pillars: group LiDAR points into a regular grid, in numpy (no CUDA op).

A pillar is a voxel spanning the whole height of the point range (PointPillars, Lang et al.,
CVPR 2019); a voxel grid with several z cells feeds SECOND's sparse 3D encoder (Yan et al.,
Sensors 2018). One function serves both: the grid's z size decides.

Grid indices are stored with the axis order of a dense ``(D, H, W)`` tensor: dims are
``[z, y, x]``, the order spconv and the BEV scatter use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class VoxelGridConfig:
    """Point range and voxel size of a detector's input grid.

    Attributes:
        point_range_m: ``(x_min, y_min, z_min, x_max, y_max, z_max)``, LiDAR frame, metres;
            points outside are dropped (the max bound is exclusive).
        voxel_size_m: ``(size_x, size_y, size_z)``, metres; a pillar has ``size_z`` equal to
            the z extent of the range.
        max_points_per_voxel: points kept per voxel (the first ones in input order).
        max_voxels_train: voxels kept per frame in training (a random subset beyond it).
        max_voxels_infer: voxels kept per frame at inference (the fullest ones beyond it).
    """

    point_range_m: tuple[float, float, float, float, float, float]
    voxel_size_m: tuple[float, float, float]
    max_points_per_voxel: int
    max_voxels_train: int
    max_voxels_infer: int

    def __post_init__(self) -> None:
        lo, hi = np.array(self.point_range_m[:3]), np.array(self.point_range_m[3:])
        if not (hi > lo).all():
            raise ValueError(
                f"point_range_m must have max > min per axis, got {self.point_range_m}"
            )
        if min(self.voxel_size_m) <= 0:
            raise ValueError(f"voxel_size_m must be positive, got {self.voxel_size_m}")
        steps = (hi - lo) / np.array(self.voxel_size_m)
        if np.abs(steps - np.round(steps)).max() > 1e-4:
            raise ValueError(
                f"point_range_m extent {tuple((hi - lo).tolist())} must be a whole number of "
                f"voxel_size_m {self.voxel_size_m}"
            )
        if min(self.max_points_per_voxel, self.max_voxels_train, self.max_voxels_infer) < 1:
            raise ValueError(
                "max_points_per_voxel, max_voxels_train and max_voxels_infer must be >= 1"
            )

    @property
    def grid_size_xyz(self) -> tuple[int, int, int]:
        """Number of voxels along x, y, z.

        Example:
            >>> VoxelGridConfig((0, -8, -3, 16, 8, 1), (0.5, 0.5, 4), 8, 100, 100).grid_size_xyz
            (32, 32, 1)
        """
        lo, hi = np.array(self.point_range_m[:3]), np.array(self.point_range_m[3:])
        n = np.round((hi - lo) / np.array(self.voxel_size_m)).astype(int)
        return int(n[0]), int(n[1]), int(n[2])

    @property
    def is_pillar_grid(self) -> bool:
        """True when the grid has a single z cell (pillars)."""
        return self.grid_size_xyz[2] == 1


@dataclass(frozen=True)
class Voxels:
    """Points grouped by voxel.

    Attributes:
        points: (V, P, C) float32, the points of each voxel (``[x, y, z, intensity, ...]``,
            LiDAR frame), zero padded after ``num_points``.
        coords_zyx: (V, 3) int32 voxel index, dims are ``[z, y, x]``; sorted by linear index.
        num_points: (V,) int32 points per voxel, in ``1..P``.
    """

    points: np.ndarray
    coords_zyx: np.ndarray
    num_points: np.ndarray


def crop_to_range(points: np.ndarray, point_range_m) -> np.ndarray:
    """(N,) bool mask of points inside ``point_range_m`` (min inclusive, max exclusive)."""
    r = np.asarray(point_range_m, dtype=np.float64)
    xyz = points[:, :3]
    return ((xyz >= r[:3]) & (xyz < r[3:])).all(axis=1)


def voxelize(
    points: np.ndarray,
    grid: VoxelGridConfig,
    max_voxels: int,
    rng: np.random.Generator | None = None,
) -> Voxels:
    """Group ``points`` into the voxels of ``grid``.

    Args:
        points: (N, C>=3) float32 ``[x, y, z, ...]``, LiDAR frame, metres.
        grid: the voxel grid.
        max_voxels: at most this many voxels are returned.
        rng: when given and there are more voxels than ``max_voxels``, a random subset is kept
            (training); without it the voxels with the most points are kept (deterministic).

    Returns:
        :class:`Voxels`; points of a voxel keep their input order, the first
        ``grid.max_points_per_voxel`` are kept.

    Example:
        >>> g = VoxelGridConfig((0, 0, 0, 2, 2, 1), (1, 1, 1), 2, 10, 10)
        >>> pts = np.array([[0.5, 0.5, 0.5, 1], [1.5, 0.5, 0.5, 2], [0.2, 0.1, 0.1, 3]], "f4")
        >>> v = voxelize(pts, g, 10)
        >>> v.coords_zyx.tolist(), v.num_points.tolist(), v.points[0, :, 3].tolist()
        ([[0, 0, 0], [0, 0, 1]], [2, 1], [1.0, 3.0])
    """
    pts = np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points must be (N, C>=3), got {pts.shape}")
    pts = pts[crop_to_range(pts, grid.point_range_m)].astype(np.float32, copy=False)
    if len(pts) == 0:  # no point in range: no voxel
        empty = np.zeros((0, grid.max_points_per_voxel, pts.shape[1]), dtype=np.float32)
        return Voxels(empty, np.zeros((0, 3), np.int32), np.zeros(0, np.int32))
    nx, ny, nz = grid.grid_size_xyz
    lo = np.array(grid.point_range_m[:3], dtype=np.float64)
    size = np.array(grid.voxel_size_m, dtype=np.float64)
    ijk = np.floor((pts[:, :3] - lo) / size).astype(np.int64)  # (N, 3) [x, y, z] indices
    ijk = np.minimum(ijk, np.array([nx - 1, ny - 1, nz - 1]))  # float rounding at the max edge
    linear = (ijk[:, 2] * ny + ijk[:, 1]) * nx + ijk[:, 0]
    order = np.argsort(linear, kind="stable")  # by voxel, input order kept inside a voxel
    linear_sorted = linear[order]
    starts = np.flatnonzero(np.r_[True, linear_sorted[1:] != linear_sorted[:-1]])  # (V,)
    counts = np.diff(np.r_[starts, len(linear_sorted)])
    voxel_of_point = np.repeat(np.arange(len(starts)), counts)
    rank = np.arange(len(linear_sorted)) - starts[voxel_of_point]

    keep_voxels = np.arange(len(starts))
    if len(starts) > max_voxels:
        if rng is not None:
            keep_voxels = np.sort(rng.choice(len(starts), size=max_voxels, replace=False))
        else:
            keep_voxels = np.sort(np.argsort(-counts, kind="stable")[:max_voxels])
    new_id = np.full(len(starts), -1, dtype=np.int64)
    new_id[keep_voxels] = np.arange(len(keep_voxels))

    p_max = grid.max_points_per_voxel
    sel = (rank < p_max) & (new_id[voxel_of_point] >= 0)
    out = np.zeros((len(keep_voxels), p_max, pts.shape[1]), dtype=np.float32)
    out[new_id[voxel_of_point[sel]], rank[sel]] = pts[order[sel]]
    first = ijk[order[starts[keep_voxels]]]  # (V, 3) [x, y, z]
    return Voxels(
        points=out,
        coords_zyx=np.ascontiguousarray(first[:, ::-1], dtype=np.int32),
        num_points=np.minimum(counts[keep_voxels], p_max).astype(np.int32),
    )
