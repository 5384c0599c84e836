"""The scanner's ray pattern: which beam (range-image row) and firing (column) a point lies on.

A spinning LiDAR's laser k is a cone from its own head: a point it measures at horizontal distance
d = hypot(x, y) has z = d * tan(theta_k) + h_k (`geometry/beams.py`; on KITTI the heads sit
0.20 m and 0.12 m above the LiDAR origin, so seen from the origin a beam's elevation changes with
range by up to a few beam spacings near the car). A ray is (beam k, column c): the cone of laser
k at the centre azimuth of column c, with the RangeNet++ column convention of
`geometry/spherical.py` (col = floor(0.5 * (1 - azimuth / pi) * W)). The augmentations resolve
visibility and resample pasted objects on these rays, so their output lies on the beams exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import ArrayLike

from perception3d.geometry.beams import HDL64E_ELEVATIONS_DEG, _cone_coords, _fit_cones
from perception3d.geometry.spherical import _positive_int

__all__ = ["KITTI_HDL64E_ELEVATIONS_DEG", "KITTI_HDL64E_HEAD_HEIGHTS_M", "ScannerModel"]

# KITTI's Velodyne HDL-64E, one cone per laser (theta_k, h_k), fitted by least squares on the
# scan-order rings of the full sweep 004139 (tests/data/kitti_samples):
#     table = estimate_beam_table(points); u, v = _cone_coords(points[:, :3])
#     tan_t, h = _fit_cones(table.ring, u, v, np.zeros(64), np.zeros(64), 0.0)
# The same sensor recorded all of KITTI; the camera-FOV crop 000008 refits its 46 beams within
# 0.001 deg and 1 mm (tests/lidar/test_scanner.py checks both).
KITTI_HDL64E_ELEVATIONS_DEG = np.array(
    [1.9381, 1.5754, 1.3063, 0.8733, 0.5802, 0.1818, -0.0872, -0.4507, -0.8021, -1.2002, -1.493,
     -1.8324, -2.2066, -2.5457, -2.8728, -3.2349, -3.5382, -3.9347, -4.2144, -4.5866, -4.9122,
     -5.249, -5.6087, -5.9563, -6.3265, -6.6732, -6.9964, -7.2847, -7.6751, -8.0541, -8.3064,
     -8.7069, -9.0227, -9.57, -10.0588, -10.4664, -10.9516, -11.5942, -12.1098, -12.5562,
     -13.0332, -13.478, -14.0397, -14.5841, -15.1758, -15.6449, -16.1623, -16.5402, -17.1711,
     -17.718, -18.3121, -18.7859, -19.3026, -19.7181, -20.1936, -20.7657, -21.2828, -21.9295,
     -22.4362, -22.8446, -23.2947, -23.9408, -24.5081, -24.9904]
)  # fmt: skip
KITTI_HDL64E_HEAD_HEIGHTS_M = np.array(
    [0.2085, 0.208, 0.2076, 0.2069, 0.2067, 0.2062, 0.2057, 0.2055, 0.2051, 0.2046, 0.2044,
     0.204, 0.2035, 0.2032, 0.2028, 0.2024, 0.202, 0.2016, 0.2014, 0.2009, 0.2006, 0.2002,
     0.1999, 0.1995, 0.1991, 0.1988, 0.1985, 0.1983, 0.1977, 0.1974, 0.1972, 0.1968, 0.1251,
     0.1247, 0.1243, 0.1239, 0.1234, 0.1231, 0.1227, 0.1223, 0.1218, 0.1216, 0.1211, 0.12,
     0.1199, 0.1198, 0.1192, 0.119, 0.1185, 0.1186, 0.1184, 0.1182, 0.1172, 0.117, 0.1157,
     0.1161, 0.1146, 0.1171, 0.1173, 0.1161, 0.1145, 0.1139, 0.1164, 0.1153]
)  # fmt: skip
for _table in (KITTI_HDL64E_ELEVATIONS_DEG, KITTI_HDL64E_HEAD_HEIGHTS_M):
    _table.setflags(write=False)


@numba.njit(cache=True, inline="always")
def _row_of(x, y, z, mid_t, mid_h):
    """Beam of a point: binary search over the midlines between neighbouring cones.

    mid_t, mid_h: (P,) padded to a power of two with -inf; midline j lies between beams j, j+1.
    """
    d = max(np.sqrt(x * x + y * y), 1e-6)
    u, v = z / d, 1.0 / d
    row, step = 0, mid_t.shape[0] // 2
    while step:
        probe = row + step - 1
        if u < mid_t[probe] + mid_h[probe] * v:
            row += step
        step //= 2
    return row


@numba.njit(cache=True)
def _cells_kernel(points, mid_t, mid_h, width, rows, cols, range_m, want_cells):
    """Row (and, if want_cells, column and range) of every point of (N, 3+) ``points``."""
    for i in range(points.shape[0]):
        x, y, z = float(points[i, 0]), float(points[i, 1]), float(points[i, 2])
        rows[i] = _row_of(x, y, z, mid_t, mid_h)
        if want_cells:
            azimuth = np.arctan2(y, x) if (x != 0.0 or y != 0.0 or z != 0.0) else 0.0
            if azimuth <= -np.pi:  # (-pi, pi], as geometry/spherical.py
                azimuth = np.pi
            col = int(np.floor(0.5 * (1.0 - azimuth / np.pi) * width))
            cols[i] = min(max(col, 0), width - 1)
            range_m[i] = np.sqrt(x * x + y * y + z * z)


@dataclass(frozen=True, eq=False)
class ScannerModel:
    """Ray pattern of a spinning LiDAR: one cone per laser and ``width`` firings per turn.

    Attributes:
        tan_elevation: (H,) float64 tan(theta_k), strictly descending (row 0 highest beam).
        head_height_m: (H,) float64 h_k, height of laser k's head above the LiDAR origin; 0 for
            rays from the origin (a synthetic scanner).
        width: W, columns (firings) per turn.

    Example:
        >>> scanner = ScannerModel.from_elevations(np.radians([1.0, 0.0, -1.0]), width=8)
        >>> rows, cols, range_m = scanner.cells(np.array([[10.0, 0, 0.17], [0, 3, 0]]))
        >>> rows.tolist(), cols.tolist()
        ([0, 1], [4, 2])
    """

    tan_elevation: np.ndarray
    head_height_m: np.ndarray
    width: int = 2048

    def __post_init__(self) -> None:
        tan_t = np.asarray(self.tan_elevation, dtype=np.float64)
        heads = np.broadcast_to(np.asarray(self.head_height_m, dtype=np.float64), tan_t.shape)
        if tan_t.ndim != 1 or len(tan_t) == 0 or not np.isfinite(tan_t).all():
            raise ValueError(f"tan_elevation must be (H,) finite, got shape {tan_t.shape}")
        if np.any(np.diff(tan_t) >= 0):
            raise ValueError("tan_elevation must be strictly descending (row 0 highest)")
        if not np.isfinite(heads).all():
            raise ValueError("head_height_m must be finite")
        object.__setattr__(self, "tan_elevation", tan_t.copy())
        object.__setattr__(self, "head_height_m", heads.copy())
        object.__setattr__(self, "width", _positive_int(self.width, "width"))
        size = 1 << max(len(tan_t) - 1, 0).bit_length()
        mid_t, mid_h = np.full(size, -np.inf), np.zeros(size)
        mid_t[: len(tan_t) - 1] = (tan_t[1:] + tan_t[:-1]) / 2
        mid_h[: len(tan_t) - 1] = (heads[1:] + heads[:-1]) / 2
        object.__setattr__(self, "_mid_t", mid_t)
        object.__setattr__(self, "_mid_h", mid_h)

    def __repr__(self) -> str:
        return f"ScannerModel({self.num_beams} beams, width={self.width})"

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_elevations(
        cls, elevations_rad: ArrayLike, width: int = 2048, head_height_m: ArrayLike = 0.0
    ) -> ScannerModel:
        """Beams of given elevations (descending), from heads at ``head_height_m`` (default: the
        origin, as a ray-casting simulator fires them)."""
        elevations = np.asarray(elevations_rad, dtype=np.float64)
        return cls(np.tan(elevations), np.broadcast_to(head_height_m, elevations.shape), width)

    @classmethod
    def kitti_hdl64e(cls, width: int = 2048) -> ScannerModel:
        """KITTI's HDL-64E: the 64 cones fitted on sweep 004139 (see the module constants)."""
        return cls.from_elevations(
            np.radians(KITTI_HDL64E_ELEVATIONS_DEG), width, KITTI_HDL64E_HEAD_HEIGHTS_M
        )

    @classmethod
    def nominal_hdl64e(cls, width: int = 2048) -> ScannerModel:
        """The nominal HDL-64E elevations (+2.0 to -24.9 deg) fired from the origin."""
        return cls.from_elevations(np.radians(HDL64E_ELEVATIONS_DEG), width)

    @classmethod
    def fit(cls, points: ArrayLike, ring: ArrayLike, width: int = 2048) -> ScannerModel:
        """Least-squares cone of each ring (e.g. `estimate_beam_table(points).ring`).

        Args:
            points: (N, 3+) LiDAR-frame points, metres.
            ring: (N,) int beam of each point, 0 = highest; every beam needs points.
        """
        pts = np.asarray(points, dtype=np.float64)
        ring = np.asarray(ring, dtype=np.int64)
        if pts.ndim != 2 or pts.shape[1] < 3 or ring.shape != (len(pts),):
            raise ValueError(
                f"points (N, 3+) and ring (N,) expected, got {pts.shape}, {ring.shape}"
            )
        num_beams = int(ring.max()) + 1 if len(ring) else 0
        if num_beams == 0 or np.any(np.bincount(ring, minlength=num_beams) == 0):
            raise ValueError("every beam 0..max(ring) needs at least one point to fit its cone")
        u, v = _cone_coords(pts[:, :3])
        zeros = np.zeros(num_beams)
        tan_t, heads = _fit_cones(ring, u, v, zeros, zeros, 0.0)
        return cls(tan_t, heads, width)

    # -- geometry ----------------------------------------------------------------------------
    @property
    def num_beams(self) -> int:
        return len(self.tan_elevation)

    @property
    def midlines(self) -> tuple[np.ndarray, np.ndarray]:
        """(tan, head) of the midlines between neighbouring cones, padded to a power of two
        with -inf (the binary search of `rows`)."""
        return self._mid_t, self._mid_h

    @property
    def azimuth_step_rad(self) -> float:
        return 2.0 * np.pi / self.width

    def _run_cells(self, points: ArrayLike, want_cells: bool):
        pts = np.asarray(points)
        if pts.ndim != 2 or pts.shape[1] < 3:
            raise ValueError(f"points must be (N, 3+), got {pts.shape}")
        if not np.issubdtype(pts.dtype, np.floating):
            pts = pts.astype(np.float64)
        n = len(pts)
        rows = np.empty(n, np.int64)
        cols = np.empty(n if want_cells else 0, np.int64)
        range_m = np.empty(n if want_cells else 0, np.float64)
        _cells_kernel(pts, self._mid_t, self._mid_h, self.width, rows, cols, range_m, want_cells)
        return rows, cols, range_m

    def rows(self, points: ArrayLike) -> np.ndarray:
        """(N,) int64 beam of each point: the cone nearest to it in z / d at its distance d."""
        return self._run_cells(points, False)[0]

    def columns(self, azimuth_rad: ArrayLike) -> np.ndarray:
        """(N,) int64 column of each azimuth (radians, in (-pi, pi])."""
        az = np.asarray(azimuth_rad, dtype=np.float64)
        col = np.floor(0.5 * (1.0 - az / np.pi) * self.width).astype(np.int64)
        return np.clip(col, 0, self.width - 1)

    def column_azimuth(self, cols: ArrayLike) -> np.ndarray:
        """Azimuth (radians) of the centre of each column."""
        return np.pi * (1.0 - 2.0 * (np.asarray(cols, dtype=np.float64) + 0.5) / self.width)

    def cells(self, points: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row, column and range (metres from the origin, float64) of each (N, 3+) point."""
        return self._run_cells(points, True)

    def beam_z(self, rows: ArrayLike, horizontal_m: ArrayLike) -> np.ndarray:
        """z of beam ``rows`` at horizontal distance ``horizontal_m``: d tan(theta) + h."""
        rows = np.asarray(rows)
        return np.asarray(horizontal_m) * self.tan_elevation[rows] + self.head_height_m[rows]

    def ray_points(self, rows: ArrayLike, cols: ArrayLike, horizontal_m: ArrayLike) -> np.ndarray:
        """(K, 3) float64 points on rays (row, col) at horizontal distances ``horizontal_m``."""
        d = np.asarray(horizontal_m, dtype=np.float64)
        az = self.column_azimuth(cols)
        return np.stack([d * np.cos(az), d * np.sin(az), self.beam_z(rows, d)], axis=1)

    def scanned_columns(self, cols: ArrayLike) -> np.ndarray:
        """(W,) bool: columns holding at least one of the given point columns (the azimuths the
        sweep covers; a camera-FOV crop covers about a quarter of the turn)."""
        return np.bincount(np.asarray(cols, dtype=np.int64), minlength=self.width) > 0
