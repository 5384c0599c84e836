"""Uneven and sloped ground beside the road: a height field per side of the street.

Road frame (x along the road, y left, z up). Each side's field starts at the outer edge of
the sidewalk and reaches ``TERRAIN_REACH_M`` outwards; across it the ground is flat at the
sidewalk's level for ``flat_m`` (front yards, where fences, hedges and driveways stand), then
may rise or fall as an embankment at a constant slope (capped at ``max_rise_m``), with smooth
bumps everywhere beyond the flat band. Near a cross street the field stays flat and level with the
sidewalk, so the cross road is not buried. Rows along x are 4 m apart within 60 m of the car
and 8 m beyond; across, they thicken near the road.

Example:
    >>> f = TerrainSide(side=1, y0=8.0, base_z=0.12, flat_m=5.0, slope=0.3, bumps_m=0.1)
    >>> mesh = f.mesh(np.random.default_rng(0), (-50.0, 100.0))
    >>> float(f.height(np.array([0.0]), np.array([10.0]))[0])
    0.12
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception3d.sim.meshes import Mesh

__all__ = ["TERRAIN_REACH_M", "TerrainSide"]

_ACROSS_M = np.array([0.0, 1.0, 2.5, 4.5, 7.0, 10.0, 14.0, 19.0, 26.0, 36.0, 50.0, 70.0, 100.0])
TERRAIN_REACH_M = float(_ACROSS_M[-1])  # a field reaches this far beyond the sidewalk
_ALONG_STEP_M = (4.0, 8.0)  # row spacing within 60 m of the car and beyond


@dataclass(frozen=True)
class TerrainSide:
    """The ground on one side of the street.

    Attributes:
        side: +1 left (+y), -1 right.
        y0: the sidewalk's outer edge, road frame.
        base_z: ground height of the flat band (the sidewalk's level, minus 2 cm).
        flat_m: width of the flat band beyond the sidewalk.
        slope: rise per metre beyond the flat band (negative: the ground falls away).
        bumps_m: amplitude of the smooth bumps beyond the flat band.
        max_rise_m: the embankment's height is capped at this (up or down).
        flat_x: (x0, x1) stretches kept flat (a cross street and its corners).
    """

    side: int
    y0: float
    base_z: float
    flat_m: float
    slope: float
    bumps_m: float
    max_rise_m: float = 6.0
    flat_x: tuple[tuple[float, float], ...] = ()

    def _rise(self, x: np.ndarray, d: np.ndarray, phase: np.ndarray | None) -> np.ndarray:
        beyond = np.clip(d - self.flat_m, 0.0, None)
        rise = np.clip(self.slope * beyond, -self.max_rise_m, self.max_rise_m)
        if phase is not None and self.bumps_m > 0:
            a, b, c = phase
            wave = np.sin(x / 9.0 + a) * np.sin(d / 5.0 + b) + 0.5 * np.sin(x / 4.3 + d / 3.1 + c)
            rise = rise + self.bumps_m * wave * np.clip(beyond / 3.0, 0.0, 1.0)
        keep = np.ones_like(x)
        for x0, x1 in self.flat_x:
            dist = np.maximum(x0 - x, x - x1)  # < 0 inside the stretch
            keep = np.minimum(keep, np.clip(dist / 15.0, 0.0, 1.0))
        return rise * keep

    def height(self, x: np.ndarray, y: np.ndarray, phase: np.ndarray | None = None) -> np.ndarray:
        """Ground height at road-frame (x, y) on this side (without the bumps unless
        ``phase`` is the one the mesh was built with)."""
        d = np.clip((np.asarray(y) - self.y0) * self.side, 0.0, None)
        return self.base_z + self._rise(np.asarray(x, np.float64), d, phase)

    def mesh(self, rng: np.random.Generator, x_range: tuple[float, float]) -> Mesh:
        """The height field over ``x_range`` (road frame), part ``ground``."""
        near, far = _ALONG_STEP_M
        xs = np.unique(
            np.clip(np.r_[np.arange(-60.0, 60.0, near), np.arange(-400.0, 400.0, far)], *x_range)
        )
        xs = np.r_[xs[(xs > x_range[0]) & (xs < x_range[1])], x_range]
        xs.sort()
        d = _ACROSS_M
        phase = rng.uniform(0, 2 * np.pi, 3)
        gx, gd = np.meshgrid(xs, d, indexing="ij")  # (X, D)
        z = self.base_z + self._rise(gx, gd, phase)
        verts = np.stack([gx, self.y0 + self.side * gd, z], -1).reshape(-1, 3)
        n_d = len(d)
        idx = np.arange(len(xs) * n_d).reshape(len(xs), n_d)
        a, b = idx[:-1, :-1], idx[1:, :-1]
        c, e = idx[1:, 1:], idx[:-1, 1:]
        tris = np.concatenate([np.stack([a, b, c], -1), np.stack([a, c, e], -1)]).reshape(-1, 3)
        if self.side < 0:
            tris = tris[:, ::-1]  # keep the winding upwards on the right side
        return Mesh(verts, tris, np.zeros(len(tris), np.int64), ("ground",))
