"""Voxels and pillars: group LiDAR points into a regular grid, in numpy (no CUDA op).

A pillar is a voxel spanning the whole height of the point range (PointPillars, Lang et al.,
CVPR 2019); a voxel grid with several z cells feeds SECOND's sparse 3D encoder (Yan et al.,
Sensors 2018). One function serves both: the grid's z size decides.

Grid indices are stored with the axis order of a dense ``(D, H, W)`` tensor: dims are
``[z, y, x]``, the order spconv and the BEV scatter use.

Two rules, chosen by the grid (:class:`VoxelGridConfig`):

- ``range_filter`` decides which points enter: ``half_open`` (``min <= p < max`` on every axis,
  ours), ``inclusive_xy`` (``min <= p <= max`` on x and y only: OpenPCDet's
  ``mask_points_by_range``), ``strict`` (``min < p < max`` on every axis: mmdetection3d's
  ``PointsRangeFilter``).
- ``rule`` decides how points become voxels. ``sorted`` (ours): cell index in float64,
  voxels sorted by linear index, the fullest kept beyond ``max_voxels``. ``first_come`` (the
  hard voxelisation of spconv's ``PointToVoxel`` used by OpenPCDet and of mmcv's
  ``Voxelization`` used by mmdetection3d): cell index ``floor((p - min) / size)`` in float32,
  points whose cell is outside the grid dropped, voxels numbered by their first point, the
  first ``max_voxels`` kept.

Both keep each voxel's first ``max_points_per_voxel`` points in input order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

RangeFilter = Literal["half_open", "inclusive_xy", "strict"]
VoxelRule = Literal["sorted", "first_come"]


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
        max_voxels_infer: voxels kept per frame at inference (the fullest ones beyond it, or
            the first ones under the ``first_come`` rule).
        range_filter: which points are in range (see the module docstring).
        rule: how points are assigned to voxels (see the module docstring).
    """

    point_range_m: tuple[float, float, float, float, float, float]
    voxel_size_m: tuple[float, float, float]
    max_points_per_voxel: int
    max_voxels_train: int
    max_voxels_infer: int
    range_filter: RangeFilter = "half_open"
    rule: VoxelRule = "sorted"

    def __post_init__(self) -> None:
        if self.range_filter not in ("half_open", "inclusive_xy", "strict"):
            raise ValueError(
                f"range_filter must be half_open, inclusive_xy or strict, got {self.range_filter!r}"
            )
        if self.rule not in ("sorted", "first_come"):
            raise ValueError(f"rule must be sorted or first_come, got {self.rule!r}")
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


def points_in_range(points: np.ndarray, grid: VoxelGridConfig) -> np.ndarray:
    """(N,) bool mask of the points that ``grid.range_filter`` lets in.

    The framework filters compare in float32, as their configs' ranges are float32 arrays.

    Example:
        >>> g = VoxelGridConfig((0, 0, 0, 2, 2, 1), (1, 1, 1), 2, 10, 10, "inclusive_xy")
        >>> points_in_range(np.array([[2.0, 0, 5], [2.0, 0, 0]], "f4"), g).tolist()
        [True, True]
    """
    if grid.range_filter == "half_open":
        return crop_to_range(points, grid.point_range_m)
    r = np.asarray(grid.point_range_m, dtype=np.float32)
    xyz = np.asarray(points)[:, :3].astype(np.float32, copy=False)
    if grid.range_filter == "inclusive_xy":
        return ((xyz[:, :2] >= r[:2]) & (xyz[:, :2] <= r[3:5])).all(axis=1)
    elif grid.range_filter == "strict":
        return ((xyz > r[:3]) & (xyz < r[3:])).all(axis=1)
    else:
        raise ValueError(f"unknown range_filter {grid.range_filter!r}")


def _empty(grid: VoxelGridConfig, channels: int) -> Voxels:
    points = np.zeros((0, grid.max_points_per_voxel, channels), dtype=np.float32)
    return Voxels(points, np.zeros((0, 3), np.int32), np.zeros(0, np.int32))


def _cells(pts: np.ndarray, grid: VoxelGridConfig) -> tuple[np.ndarray, np.ndarray]:
    """Cell index ``[x, y, z]`` (N, 3) int64 of each point and the (N,) mask of those inside
    the grid, by the grid's rule."""
    n = np.array(grid.grid_size_xyz)
    if grid.rule == "first_come":
        lo = np.asarray(grid.point_range_m[:3], dtype=np.float32)
        size = np.asarray(grid.voxel_size_m, dtype=np.float32)
        ijk = np.floor((pts[:, :3] - lo) / size).astype(np.int64)  # float32 throughout
        return ijk, ((ijk >= 0) & (ijk < n)).all(axis=1)
    lo = np.array(grid.point_range_m[:3], dtype=np.float64)
    size = np.array(grid.voxel_size_m, dtype=np.float64)
    ijk = np.floor((pts[:, :3] - lo) / size).astype(np.int64)
    ijk = np.clip(ijk, 0, n - 1)  # float rounding at the edges of the (already cropped) range
    return ijk, np.ones(len(pts), dtype=bool)


def voxelize(
    points: np.ndarray,
    grid: VoxelGridConfig,
    max_voxels: int,
    rng: np.random.Generator | None = None,
) -> Voxels:
    """Group ``points`` into the voxels of ``grid`` (range filter and rule of the grid).

    Args:
        points: (N, C>=3) float32 ``[x, y, z, ...]``, LiDAR frame, metres.
        grid: the voxel grid.
        max_voxels: at most this many voxels are returned.
        rng: when given and there are more voxels than ``max_voxels``, a random subset is kept
            (training); without it the voxels with the most points (``sorted`` rule) or the
            first ones (``first_come``) are kept (deterministic).

    Returns:
        :class:`Voxels`; points of a voxel keep their input order, the first
        ``grid.max_points_per_voxel`` are kept. Voxels are sorted by linear index (``sorted``)
        or by their first point (``first_come``).

    Example:
        >>> g = VoxelGridConfig((0, 0, 0, 2, 2, 1), (1, 1, 1), 2, 10, 10)
        >>> pts = np.array([[1.5, 0.5, 0.5, 1], [0.5, 0.5, 0.5, 2], [0.2, 0.1, 0.1, 3]], "f4")
        >>> v = voxelize(pts, g, 10)
        >>> v.coords_zyx.tolist(), v.num_points.tolist(), v.points[0, :, 3].tolist()
        ([[0, 0, 0], [0, 0, 1]], [2, 1], [2.0, 3.0])
        >>> from dataclasses import replace
        >>> voxelize(pts, replace(g, rule="first_come"), 10).coords_zyx.tolist()
        [[0, 0, 1], [0, 0, 0]]
    """
    pts = np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points must be (N, C>=3), got {pts.shape}")
    pts = pts[points_in_range(pts, grid)].astype(np.float32, copy=False)
    ijk, inside = _cells(pts, grid)
    pts, ijk = pts[inside], ijk[inside]
    if len(pts) == 0:  # no point in range: no voxel
        return _empty(grid, pts.shape[1])
    nx, ny, _ = grid.grid_size_xyz
    linear = (ijk[:, 2] * ny + ijk[:, 1]) * nx + ijk[:, 0]
    if grid.rule == "first_come":
        # number the voxels by their first point: rank of each cell's first occurrence
        cells, first, inverse = np.unique(linear, return_index=True, return_inverse=True)
        rank = np.empty(len(cells), dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(cells))
        linear = rank[inverse]
    order = np.argsort(linear, kind="stable")  # by voxel, input order kept inside a voxel
    linear_sorted = linear[order]
    starts = np.flatnonzero(np.r_[True, linear_sorted[1:] != linear_sorted[:-1]])  # (V,)
    counts = np.diff(np.r_[starts, len(linear_sorted)])
    voxel_of_point = np.repeat(np.arange(len(starts)), counts)
    rank_in_voxel = np.arange(len(linear_sorted)) - starts[voxel_of_point]

    keep_voxels = np.arange(len(starts))
    if len(starts) > max_voxels:
        if rng is not None:
            keep_voxels = np.sort(rng.choice(len(starts), size=max_voxels, replace=False))
        elif grid.rule == "first_come":
            keep_voxels = keep_voxels[:max_voxels]
        else:
            keep_voxels = np.sort(np.argsort(-counts, kind="stable")[:max_voxels])
    new_id = np.full(len(starts), -1, dtype=np.int64)
    new_id[keep_voxels] = np.arange(len(keep_voxels))

    p_max = grid.max_points_per_voxel
    sel = (rank_in_voxel < p_max) & (new_id[voxel_of_point] >= 0)
    out = np.zeros((len(keep_voxels), p_max, pts.shape[1]), dtype=np.float32)
    out[new_id[voxel_of_point[sel]], rank_in_voxel[sel]] = pts[order[sel]]
    first_point = ijk[order[starts[keep_voxels]]]  # (V, 3) [x, y, z]
    return Voxels(
        points=out,
        coords_zyx=np.ascontiguousarray(first_point[:, ::-1], dtype=np.int32),
        num_points=np.minimum(counts[keep_voxels], p_max).astype(np.int32),
    )
