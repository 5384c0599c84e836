"""Sampling the static part of a driving scene in the road frame: lanes, paint, sidewalks,
buildings, poles and vegetation (see ``world.py`` for the frames).

Right-hand traffic as in Karlsruhe, where KITTI was recorded: the ego car drives along +x in
one of the lanes right of the centre line; oncoming lanes lie to its left (+y).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception3d.sim import materials as mat
from perception3d.sim.config import SceneConfig
from perception3d.sim.meshes import Mesh, box, rotation_z
from perception3d.sim.scenery import (
    building,
    bush,
    ground_quad,
    sign_pole,
    street_light,
    tree,
)
from perception3d.sim.semantics import SEMANTIC_ID
from perception3d.sim.world import RoadLayout, RoadPaint, Surface

__all__ = ["EGO_BOX_ROAD", "StaticWorld", "sample_static_world"]

# The ego car (KITTI's VW Passat wagon, about 4.8 x 1.8 x 1.5 m) around the LiDAR, road frame.
EGO_BOX_ROAD = np.array([-0.5, 0.0, 0.75, 4.8, 1.9, 1.5, 0.0])
_FAR = 1500.0  # m: ground and road pieces reach this far, beyond any sensor
_DETAIL = (-120.0, 250.0)  # m along the road: buildings, poles and trees are placed here

_STATIC_SEMANTICS = {
    "road": "road",
    "sidewalk": "sidewalk",
    "curb": "sidewalk",
    "ground": "terrain",
    "wall": "building",
    "roof": "building",
    "pole": "pole",
    "lamp": "pole",
    "sign": "traffic_sign",
    "trunk": "vegetation",
    "foliage": "vegetation",
}
_SEMANTICS = {part: SEMANTIC_ID[name] for part, name in _STATIC_SEMANTICS.items()}
_ROOF = mat.Material((0.12, 0.11, 0.11), 0.25)


@dataclass(frozen=True)
class StaticWorld:
    """The sampled static scene (road frame)."""

    layout: RoadLayout
    surfaces: tuple[Surface, ...]
    paint: RoadPaint
    lamps: np.ndarray  # (K, 3) street-light lamp positions


def _surface(mesh: Mesh, **materials: mat.Material) -> Surface:
    return Surface(mesh, materials, {p: _SEMANTICS[p] for p in mesh.part_names})


def _segments(lo: float, hi: float, gap: tuple[float, float] | None) -> list[tuple[float, float]]:
    """[lo, hi] minus the open interval `gap`."""
    if gap is None or gap[1] <= lo or gap[0] >= hi:
        return [(lo, hi)]
    return [(a, b) for a, b in ((lo, gap[0]), (gap[1], hi)) if b > a]


def _lanes(cfg: SceneConfig, rng: np.random.Generator):
    lo, hi = cfg.lanes_per_direction
    n_right, n_left = rng.integers(lo, hi + 1, size=2)
    width = rng.uniform(*cfg.lane_width_m)
    ego = rng.integers(n_right)
    y0 = -rng.uniform(-cfg.ego_lateral_m, cfg.ego_lateral_m) - ego * width  # lane 0 centre
    ys = y0 + width * np.arange(n_right + n_left)
    heads = np.where(np.arange(n_right + n_left) < n_right, 0.0, np.pi)
    return np.stack([ys, heads], 1), int(n_right), width


def _paint(lanes, n_right: int, width: float, edges, crossing, rng) -> RoadPaint:
    """Lane lines along x (interrupted at the crossing) and crosswalks."""
    lines = []
    gap = (
        None
        if crossing is None
        else (crossing[0] - crossing[1] / 2 - 4, crossing[0] + crossing[1] / 2 + 4)
    )
    bounds = [*(lanes[:, 0] - width / 2), lanes[-1, 0] + width / 2]
    for k, y in enumerate(bounds):
        if k in (0, len(bounds) - 1):
            if rng.uniform() > 0.5:
                continue  # many town streets have no edge line
            dash, offset = 0.0, (0.15 if k == 0 else -0.15)
        elif k == n_right:
            dash, offset = (0.0 if len(lanes) > 2 or rng.uniform() < 0.5 else 3.0), 0.0
        else:
            dash, offset = 3.0, 0.0
        for a, b in _segments(-_FAR, _FAR, gap):
            lines.append([0, y + offset, 0.12, dash, 2 * dash, a, b])
    walks = []
    if crossing is not None:
        x0 = crossing[0] - crossing[1] / 2 - 3.5
        walks.append([x0, x0 + 3.0, edges[0], edges[1], 1])
        lines.append([1, crossing[0], 0.12, 3.0, 6.0, edges[1], _FAR])
        lines.append([1, crossing[0], 0.12, 3.0, 6.0, -_FAR, edges[0]])
    elif rng.uniform() < 0.15:
        x0 = rng.uniform(10, 50)
        walks.append([x0, x0 + 3.0, edges[0], edges[1], 1])
    return RoadPaint(
        np.array(lines, np.float64).reshape(-1, 7), np.array(walks, np.float64).reshape(-1, 5)
    )


def _buildings(side: int, y_outer: float, cfg: SceneConfig, keep_out, rng) -> list[Surface]:
    """A row of buildings along x behind the sidewalk on `side` (+1 left, -1 right)."""
    out, x = [], _DETAIL[0] + rng.uniform(0, 10)
    while x < _DETAIL[1]:
        length = rng.uniform(8, 30)
        if not any(a < x + length and x < b for a, b in keep_out):
            depth, height = rng.uniform(8, 18), rng.uniform(*cfg.building_height_m)
            setback = rng.uniform(0, 3) if rng.uniform() < 0.5 else 0.0
            yc = y_outer + side * (setback + depth / 2)
            m = building(length, depth, height, -0.03).transformed(
                np.eye(3), (x + length / 2, yc, 0)
            )
            out.append(_surface(m, wall=mat.building_material(rng), roof=_ROOF))
        x += length + (0.0 if rng.uniform() < 0.6 else rng.uniform(2, 8))
    return out


def _trees(xs, y: float, rng) -> tuple[list[Surface], list[list[float]]]:
    out, obstacles = [], []
    for x in xs:
        t = tree(rng, rng.uniform(2.0, 3.5), rng.uniform(1.5, 3.2), rng.uniform(0.1, 0.22))
        t = t.transformed(rotation_z(rng.uniform(0, 2 * np.pi)), (x, y, -0.03))
        out.append(_surface(t, trunk=mat.BARK, foliage=mat.FOLIAGE))
        obstacles.append([x, y, 1.0, 0.6, 0.6, 2.0, 0.0])
    return out, obstacles


def _spaced(rng, spacing: tuple[float, float], keep_out) -> list[float]:
    xs, x = [], _DETAIL[0] + rng.uniform(0, spacing[1])
    while x < _DETAIL[1]:
        if not any(a <= x <= b for a, b in keep_out):
            xs.append(x)
        x += rng.uniform(*spacing)
    return xs


def sample_static_world(cfg: SceneConfig, rng: np.random.Generator) -> StaticWorld:
    """Sample lanes, paint, sidewalks, buildings, poles and vegetation (road frame)."""
    lanes, n_right, width = _lanes(cfg, rng)
    edges = [lanes[0, 0] - width / 2, lanes[-1, 0] + width / 2]
    parking = []
    for side, heading in ((0, 0.0), (1, np.pi)):
        if rng.uniform() < cfg.parking_lane_probability:
            w = rng.uniform(2.0, 2.5)
            sign = -1 if side == 0 else 1
            parking.append([edges[side] + sign * w / 2, heading])
            edges[side] += sign * w
    hc = rng.uniform(*cfg.curb_height_m)
    sw = rng.uniform(*cfg.sidewalk_width_m, size=2)
    sidewalks = np.array([[edges[0], edges[0] - sw[0]], [edges[1], edges[1] + sw[1]]])
    crossing = None
    if rng.uniform() < cfg.intersection_probability:
        crossing = (float(rng.uniform(15, 60)), float(rng.uniform(7, 12)))
    paint = _paint(lanes, n_right, width, edges, crossing, rng)
    cut = (
        None if crossing is None else (crossing[0] - crossing[1] / 2, crossing[0] + crossing[1] / 2)
    )
    surfaces = [
        _surface(ground_quad(-_FAR, _FAR, -_FAR, _FAR, -0.03, "ground"), ground=mat.TERRAIN),
        _surface(ground_quad(-_FAR, _FAR, edges[0], edges[1], 0.0, "road"), road=mat.ROAD),
    ]
    faces = ("curb", "sidewalk", "curb", "curb", "curb", "curb")
    for y_in, y_out in sidewalks:
        for a, b in _segments(-_FAR, _FAR, cut):
            m = box(
                (b - a, abs(y_out - y_in), hc + 0.5),
                ((a + b) / 2, (y_in + y_out) / 2, (hc - 0.5) / 2),
                face_parts=faces,
            )
            surfaces.append(_surface(m, sidewalk=mat.SIDEWALK, curb=mat.CURB))
    keep_out = []
    if crossing is not None:
        road_pieces = ((-_FAR, edges[0]), (edges[1], _FAR))  # the cross street, each side
        walk_pieces = ((-_FAR, sidewalks[0, 1]), (sidewalks[1, 1], _FAR))
        for (r0, r1), (y0, y1) in zip(road_pieces, walk_pieces):
            surfaces.append(
                _surface(ground_quad(cut[0], cut[1], r0, r1, 0.0, "road"), road=mat.ROAD)
            )
            for a, b in ((cut[0] - sw.mean(), cut[0]), (cut[1], cut[1] + sw.mean())):
                size = (b - a, y1 - y0, hc + 0.5)
                m = box(size, ((a + b) / 2, (y0 + y1) / 2, (hc - 0.5) / 2), face_parts=faces)
                surfaces.append(_surface(m, sidewalk=mat.SIDEWALK, curb=mat.CURB))
        keep_out.append((cut[0] - sw.mean() - 2, cut[1] + sw.mean() + 2))
    obstacles = [list(EGO_BOX_ROAD)]
    lamps = []
    for side, (y_in, y_out) in zip((-1, 1), sidewalks):
        if rng.uniform() < cfg.urban_probability:
            surfaces += _buildings(side, y_out, cfg, keep_out, rng)
            if rng.uniform() < 0.4:
                trees, obs = _trees(
                    _spaced(rng, cfg.tree_spacing_m, keep_out), y_out - side * 0.8, rng
                )
                surfaces += trees
                obstacles += obs
        else:
            trees, obs = _trees(
                _spaced(rng, cfg.tree_spacing_m, keep_out), y_out + side * rng.uniform(1, 4), rng
            )
            surfaces += trees
            obstacles += obs
            for x in _spaced(rng, (4.0, 12.0), keep_out):
                b = bush(rng, rng.uniform(0.8, 2.5)).transformed(
                    np.eye(3), (x, y_out + side * rng.uniform(0.8, 3), -0.03)
                )
                surfaces.append(_surface(b, foliage=mat.FOLIAGE))
            far = rng.uniform(
                [_DETAIL[0], 10], [_DETAIL[1], 60], size=(int(rng.integers(5, 25)), 2)
            )
            for x, dist in far:
                trees, _ = _trees([x], y_out + side * dist, rng)
                surfaces += trees
        if rng.uniform() < 0.8:
            arm = rng.uniform(1.0, 2.5)
            height = rng.uniform(6.5, 9.0)
            for x in _spaced(rng, cfg.pole_spacing_m, keep_out):
                y = y_in + side * 0.5
                m = street_light(height, arm).transformed(
                    rotation_z(0.0 if side < 0 else np.pi), (x, y, hc)
                )
                surfaces.append(_surface(m, pole=mat.POLE, lamp=mat.LAMP_OFF))
                lamps.append([x, y - side * arm, hc + height - 0.15])
                obstacles.append([x, y, 1.0, 0.4, 0.4, 2.0, 0.0])
        for x in _spaced(rng, (30.0, 90.0), keep_out):
            y = y_in + side * 0.4
            m = sign_pole(rng.uniform(2.2, 3.0)).transformed(
                rotation_z(0.0 if side < 0 else np.pi), (x, y, hc)
            )
            surfaces.append(_surface(m, pole=mat.POLE, sign=mat.SIGN))
            obstacles.append([x, y, 1.0, 0.3, 0.3, 2.0, 0.0])
    layout = RoadLayout(
        lanes=lanes,
        parking=np.array(parking, np.float64).reshape(-1, 2),
        road_y=(float(edges[0]), float(edges[1])),
        sidewalks=sidewalks,
        curb_height=float(hc),
        intersection=crossing,
        obstacles=np.array(obstacles, np.float64),
    )
    return StaticWorld(layout, tuple(surfaces), paint, np.array(lamps, np.float64).reshape(-1, 3))
