"""LiDAR points in spherical form and range images (beam tables: `geometry/beams.py`).

Frame: LiDAR (KITTI Velodyne), x forward, y left, z up, metres. Spherical form of a point:
range_m = |xyz|, azimuth_rad = atan2(y, x) in (-pi, pi], elevation_rad = atan2(z, hypot(x, y))
(= asin(z / r), computed the precise way); a point at the origin has azimuth 0, elevation 0.
Range images: row = beam (row 0 = highest elevation), column = azimuth step with the
RangeNet++ convention col = floor(0.5 * (1 - azimuth / pi) * W), so straight ahead is the centre
column and +y (left) is left of centre. Every projected point keeps its pixel and every pixel its
point index, so a range image maps back to its points losslessly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

__all__ = ["RangeImage", "from_spherical", "to_spherical"]


def _check_points(points: ArrayLike, name: str = "points") -> np.ndarray:
    arr = np.asarray(points)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name} must be (N, 4), got {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr


def _float_dtype(dtype: DTypeLike) -> np.dtype:
    out = np.dtype(dtype)
    if out.kind != "f":
        raise TypeError(f"dtype must be a floating type, got {out}")
    return out


def _spherical_columns(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contiguous float64 (range_m, azimuth_rad, elevation_rad) with our conventions."""
    x, y, z = (points[:, k].astype(np.float64) for k in range(3))
    horiz_sq = x * x + y * y  # exact for float32 input
    range_m = np.sqrt(horiz_sq + z * z)
    azimuth = np.arctan2(y, x)
    elevation = np.arctan2(z, np.sqrt(horiz_sq))
    azimuth[azimuth <= -np.pi] = np.pi  # (-pi, pi]: y = -0.0 or tiny negative, behind
    if (origin := range_m == 0).any():  # azimuth 0, elevation 0 whatever the signs of zeros
        azimuth[origin], elevation[origin] = 0.0, 0.0
    return range_m, azimuth, elevation


def _stack(range_m, azimuth, elevation, intensity, dtype: np.dtype) -> np.ndarray:
    """(N, 4) `dtype` [range_m, azimuth_rad, elevation_rad, intensity], azimuth in (-pi, pi]."""
    out = np.empty((len(range_m), 4), dtype)
    out[:, 0], out[:, 1], out[:, 2], out[:, 3] = range_m, azimuth, elevation, intensity
    out[out[:, 1] <= -dtype.type(np.pi), 1] = dtype.type(np.pi)  # rounding can reach -pi
    return out


def to_spherical(points: ArrayLike, dtype: DTypeLike = np.float32) -> np.ndarray:
    """Cartesian LiDAR points to spherical form, computed in float64 then cast to `dtype`.

    Args:
        points: (N, 4) [x, y, z, intensity], LiDAR frame, metres, intensity in [0, 1].
        dtype: floating output dtype. Round trip through `from_spherical` on KITTI 004139:
            float32 within 2 ulps of the range (float32 angles); float64 bitwise, except exact
            zero coordinates that come back as ~1e-15 m.

    Returns:
        (N, 4) `dtype` [range_m, azimuth_rad in (-pi, pi], elevation_rad, intensity].

    Raises:
        ValueError: points is not (N, 4). TypeError: non-numeric points or non-float dtype.

    Example:
        >>> to_spherical(np.array([[1, 0, 1, 0.5], [-2, 0, 0, 1]], np.float32))
        array([[1.4142135, 0.       , 0.7853982, 0.5      ],
               [2.       , 3.1415927, 0.       , 1.       ]], dtype=float32)
    """
    pts = _check_points(points)
    return _stack(*_spherical_columns(pts), pts[:, 3], _float_dtype(dtype))


def from_spherical(spherical: ArrayLike, dtype: DTypeLike = np.float32) -> np.ndarray:
    """Spherical form back to Cartesian LiDAR points, computed in float64 then cast to `dtype`.

    Args:
        spherical: (N, 4) [range_m, azimuth_rad, elevation_rad, intensity].
        dtype: floating output dtype.

    Returns:
        (N, 4) `dtype` [x, y, z, intensity], LiDAR frame, metres.

    Raises:
        ValueError: spherical is not (N, 4). TypeError: non-numeric input or non-float dtype.

    Example:
        >>> from_spherical(np.array([[2.0, np.pi / 2, 0.0, 0.25]])).round(6)
        array([[0.  , 2.  , 0.  , 0.25]], dtype=float32)
    """
    sph = _check_points(spherical, "spherical").astype(np.float64)
    r, az, el = sph[:, 0], sph[:, 1], sph[:, 2]
    horiz = r * np.cos(el)
    out = np.stack([horiz * np.cos(az), horiz * np.sin(az), r * np.sin(el), sph[:, 3]], axis=1)
    return out.astype(_float_dtype(dtype))


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _check_finite(points: np.ndarray) -> None:
    if not np.isfinite(points).all():
        raise ValueError(f"points must be finite, got {int((~np.isfinite(points)).sum())} NaN/inf")


@dataclass(frozen=True, eq=False)
class RangeImage:
    """A LiDAR sweep as an (H, W) image, rows = beams (row 0 highest), columns = azimuth steps.

    Image fields hold the exact spherical values (float32, as `to_spherical` gives them) of the
    nearest point that fell in the pixel; empty pixels hold 0 (range, angles, intensity) and -1
    (point_index).

    Attributes:
        range_m, intensity, azimuth_rad, elevation_rad: (H, W) float32.
        point_index: (H, W) int64 index of the pixel's point in the input, -1 where empty.
        point_row, point_col: (N,) int64 pixel of every input point (winner or not).
        beam_elevations_rad: (H,) float64 elevation of each row's beam, descending.

    Example:
        >>> pts = np.array([[10, 0, 0, 0.1], [5, 0, 0, 0.9], [0, 3, 0, 0.5]], np.float32)
        >>> image = RangeImage.from_points(pts, np.radians([1.0, 0.0, -1.0]), width=8)
        >>> image.point_index[1]  # beam at 0 deg: +y is left of the centre column
        array([-1, -1,  2, -1,  1, -1, -1, -1])
        >>> image.winner_mask()  # the nearer of the two points on the x axis wins
        array([False,  True,  True])
        >>> winners = pts[image.point_index[image.mask]]  # row-major pixel order
        >>> bool(np.abs(image.to_points() - winners).max() < 1e-6)  # float32 angles: ~r * 4e-8
        True
    """

    range_m: np.ndarray
    intensity: np.ndarray
    azimuth_rad: np.ndarray
    elevation_rad: np.ndarray
    point_index: np.ndarray
    point_row: np.ndarray
    point_col: np.ndarray
    beam_elevations_rad: np.ndarray

    @property
    def height(self) -> int:
        return self.range_m.shape[0]

    @property
    def width(self) -> int:
        return self.range_m.shape[1]

    @property
    def mask(self) -> np.ndarray:
        """(H, W) bool, True where a point landed."""
        return self.point_index >= 0

    @classmethod
    def from_points(
        cls,
        points: ArrayLike,
        beam_elevations_rad: ArrayLike,
        width: int = 2048,
        rows: ArrayLike | None = None,
    ) -> RangeImage:
        """Project points into a range image; the nearest point wins each pixel.

        Args:
            points: (N, 4) [x, y, z, intensity] LiDAR frame, metres, finite.
            beam_elevations_rad: (H,) strictly descending beam elevations (BeamTable's).
            width: W, columns per turn; col = floor(0.5 * (1 - azimuth / pi) * W) in [0, W-1].
            rows: optional (N,) integer beam of each point (BeamTable.ring); by default the beam
                of nearest elevation (ties go to the upper beam). Prefer the ring for real sweeps:
                seen from the origin a beam's elevation varies with range (laser head offsets).

        Returns:
            RangeImage of shape (H, W). Ties in range go to the lower input index.

        Raises:
            ValueError: bad shapes, non-finite points, unsorted beams, rows out of [0, H).
        """
        pts = _check_points(points)
        _check_finite(pts)
        beams = np.asarray(beam_elevations_rad, dtype=np.float64)
        if beams.ndim != 1 or len(beams) == 0 or not np.isfinite(beams).all():
            raise ValueError(f"beam_elevations_rad must be (H,) finite, got shape {beams.shape}")
        if np.any(np.diff(beams) >= 0):
            raise ValueError("beam_elevations_rad must be strictly descending (row 0 highest)")
        width, height, num_points = _positive_int(width, "width"), len(beams), len(pts)
        range_m, azimuth, elevation = _spherical_columns(pts)
        if rows is None:  # count the beam midlines above each point
            row = np.searchsorted(-(beams[1:] + beams[:-1]) / 2, -elevation, side="left")
        else:
            row = np.asarray(rows)
            if row.shape != (num_points,) or not np.issubdtype(row.dtype, np.integer):
                raise ValueError(f"rows must be ({num_points},) int, got {row.shape} {row.dtype}")
            if num_points and (row.min() < 0 or row.max() >= height):
                raise ValueError(f"rows must be in [0, {height}), got [{row.min()}, {row.max()}]")
        row = row.astype(np.int64)
        col = (0.5 * (1.0 - azimuth / np.pi) * width).astype(np.int64)  # floor: never negative
        np.minimum(col, width - 1, out=col)
        pixel = row * width + col  # flat index into (H, W), row-major
        # Deterministic z-buffer: per pixel the minimum range, then the minimum index among the
        # points at that range; scatter-min is order independent (unlike fancy assignment).
        nearest = np.full(height * width, np.inf)
        np.minimum.at(nearest, pixel, range_m)
        candidates = np.flatnonzero(range_m == nearest[pixel])
        winner = np.full(height * width, num_points, np.int64)
        np.minimum.at(winner, pixel[candidates], candidates)
        filled = np.flatnonzero(winner < num_points)
        won = winner[filled]
        values = _stack(range_m[won], azimuth[won], elevation[won], pts[won, 3], np.dtype("f4"))
        channels = np.zeros((4, height * width), np.float32)  # [range, azimuth, elevation, i]
        for k in range(4):
            channels[k, filled] = values[:, k]
        channels = channels.reshape(4, height, width)  # from (4, H*W) to (4, H, W)
        point_index = np.full(height * width, -1, np.int64)
        point_index[filled] = won
        return cls(
            range_m=channels[0],
            intensity=channels[3],
            azimuth_rad=channels[1],
            elevation_rad=channels[2],
            point_index=point_index.reshape(height, width),
            point_row=row,
            point_col=col,
            beam_elevations_rad=beams.copy(),
        )

    def to_points(self) -> np.ndarray:
        """(K, 4) float32 [x, y, z, intensity] of the K winning points, in row-major pixel order
        (the order of `point_index[mask]`), rebuilt from the stored spherical values."""
        m = self.mask
        sph = np.stack(
            [self.range_m[m], self.azimuth_rad[m], self.elevation_rad[m], self.intensity[m]], axis=1
        )
        return from_spherical(sph, np.float32)

    def winner_mask(self) -> np.ndarray:
        """(N,) bool, True for the input points that won their pixel."""
        out = np.zeros(len(self.point_row), dtype=bool)
        out[self.point_index[self.mask]] = True
        return out
