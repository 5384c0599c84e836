"""Sampling the static part of a driving scene in the road frame: lanes, paint, sidewalks,
the cross street, street lights, signs and traffic lights, each side's roadside content
(``roadside.py``: buildings, fences, hedges, walls, furniture, trees, driveways) and the ground
beyond the sidewalks (``terrain.py``); see ``world.py`` for the frames.

Right-hand traffic as in Karlsruhe, where KITTI was recorded: the ego car drives along +x in
one of the lanes right of the centre line; oncoming lanes lie to its left (+y).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception3d.sim import materials as mat
from perception3d.sim.config import ClutterConfig, SceneConfig
from perception3d.sim.foliage import random_tree
from perception3d.sim.furniture import traffic_light
from perception3d.sim.kerb import clear_of_trunks
from perception3d.sim.meshes import box, merge, rotation_z
from perception3d.sim.roadside import SideFrame, sample_roadside, surface
from perception3d.sim.scenery import ground_quad, sign_pole, street_light
from perception3d.sim.terrain import TERRAIN_REACH_M
from perception3d.sim.world import RoadLayout, RoadPaint, Surface

__all__ = ["EGO_BOX_ROAD", "KERB_STRIP_M", "StaticWorld", "sample_static_world"]

# The ego car (KITTI's VW Passat wagon, about 4.8 x 1.8 x 1.5 m) around the LiDAR, road frame.
EGO_BOX_ROAD = np.array([-0.5, 0.0, 0.75, 4.8, 1.9, 1.5, 0.0])
_FAR = 1500.0  # m: ground and road pieces reach this far, beyond any sensor
_DETAIL = (-120.0, 250.0)  # m along the road: buildings, poles and trees are placed here

_TERRAIN_X = (-160.0, 300.0)  # m along the road covered by the height fields
_LIGHT_FOOTPRINT_M = 0.4  # obstacle footprints (square) of a street light's and a sign's pole
_SIGN_FOOTPRINT_M = 0.3
# m: the kerb strip of a side whose frontage stands at the parked cars
# (``SceneConfig.kerbside_frontage_probability``); placement keeps the cars' outer side
# 0.05-0.45 m inside the road edge, so the frontage stands 0.35-0.95 m behind them.
KERB_STRIP_M = (0.3, 0.5)


@dataclass(frozen=True)
class StaticWorld:
    """The sampled static scene (road frame)."""

    layout: RoadLayout
    surfaces: tuple[Surface, ...]
    paint: RoadPaint
    lamps: np.ndarray  # (K, 3) street-light lamp positions


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


def _spaced(rng, spacing: tuple[float, float], keep_out) -> list[float]:
    xs, x = [], _DETAIL[0] + rng.uniform(0, spacing[1])
    while x < _DETAIL[1]:
        if not any(a <= x <= b for a, b in keep_out):
            xs.append(x)
        x += rng.uniform(*spacing)
    return xs


def _ground(sidewalks, keep_out, terrain, rng) -> list[Surface]:
    """Height fields beyond each sidewalk (in x pieces around a cross street), flat ground
    beyond them."""
    out = []
    for t in terrain:
        for a, b in _segments(*_TERRAIN_X, keep_out[0] if keep_out else None):
            out.append(surface(t.mesh(rng, (a, b)), ground=mat.TERRAIN))
    reach = TERRAIN_REACH_M
    y_right, y_left = sidewalks[0, 1] - reach, sidewalks[1, 1] + reach
    quads = [
        (-_FAR, _FAR, -_FAR, y_right),
        (-_FAR, _FAR, y_left, _FAR),
        (-_FAR, _TERRAIN_X[0], y_right, y_left),
        (_TERRAIN_X[1], _FAR, y_right, y_left),
    ]
    for x0, x1, y0, y1 in quads:
        out.append(surface(ground_quad(x0, x1, y0, y1, -0.03, "ground"), ground=mat.TERRAIN))
    return out


def _far_trees(side: int, y_out: float, terrain, clutter: ClutterConfig, rng) -> list[Surface]:
    """Solid trees 10-60 m beyond a rural side's sidewalk, on its ground."""
    far = rng.uniform([_DETAIL[0], 10], [_DETAIL[1], 60], size=(int(rng.integers(5, 25)), 2))
    trees = []
    for x, dist in far:
        y = y_out + side * dist
        z = float(terrain.height(np.array([x]), np.array([y]))[0]) - 0.05
        trees.append(random_tree(rng, clutter.foliage_cover, False, (x, y, z)))
    return [surface(merge(trees), trunk=mat.BARK, foliage=mat.FOLIAGE)] if trees else []


def _poles(
    side, y_in, hc, cfg: SceneConfig, keep_out, cut, edges, rng, obstacles, lamps, reach, trunks_x
):
    """Street lights, sign poles and (at a cross street) a traffic light along one side, at
    most ``reach`` m from the kerb and clear of the trunks of trees at the kerb (``trunks_x``);
    appends their obstacle boxes and lamp positions, returns their meshes."""
    poles = []
    if rng.uniform() < 0.8:
        arm = round(float(rng.uniform(1.0, 2.5)) * 4) / 4  # to 25 cm: shared templates
        height = round(float(rng.uniform(6.5, 9.0)) * 4) / 4
        for x in _spaced(rng, cfg.pole_spacing_m, keep_out):
            x = clear_of_trunks(x, trunks_x, _LIGHT_FOOTPRINT_M / 2, towards=1.0)
            y = y_in + side * min(0.5, reach)
            poles.append(
                street_light(height, arm).transformed(
                    rotation_z(0.0 if side < 0 else np.pi), (x, y, hc)
                )
            )
            lamps.append([x, y - side * arm, hc + height - 0.15])
            obstacles.append([x, y, 1.0, _LIGHT_FOOTPRINT_M, _LIGHT_FOOTPRINT_M, 2.0, 0.0])
    for x in _spaced(rng, (30.0, 90.0), keep_out):
        x = clear_of_trunks(x, trunks_x, _SIGN_FOOTPRINT_M / 2, towards=-1.0)
        y = y_in + side * min(0.4, reach)
        poles.append(
            sign_pole(round(float(rng.uniform(2.2, 3.0)), 1)).transformed(
                rotation_z(0.0 if side < 0 else np.pi), (x, y, hc)
            )
        )
        obstacles.append([x, y, 1.0, _SIGN_FOOTPRINT_M, _SIGN_FOOTPRINT_M, 2.0, 0.0])
    if cut is not None:  # traffic lights at the near corners of the cross street
        # Heads face the traffic of their side; arms reach over the road.
        x = cut[0] - 1.0 if side < 0 else cut[1] + 1.0
        y = y_in + side * min(0.6, reach)
        arm = abs(y_in - (edges[0] + edges[1]) / 2) * rng.uniform(0.3, 0.7)
        light = traffic_light(round(float(arm), 1) if rng.uniform() < 0.6 else 0.0)
        poles.append(light.transformed(rotation_z(np.pi if side < 0 else 0.0), (x, y, hc)))
        obstacles.append([x, y, 1.0, 0.4, 0.4, 2.0, 0.0])
    return poles


def _road_surfaces(edges, sidewalks, hc, cut, sw_mean) -> list[Surface]:
    """The road, the sidewalks (curbs and tops) and the cross street with its corners."""
    surfaces = [surface(ground_quad(-_FAR, _FAR, edges[0], edges[1], 0.0, "road"), road=mat.ROAD)]
    faces = ("curb", "sidewalk", "curb", "curb", "curb", "curb")
    for y_in, y_out in sidewalks:
        for a, b in _segments(-_FAR, _FAR, cut):
            m = box(
                (b - a, abs(y_out - y_in), hc + 0.5),
                ((a + b) / 2, (y_in + y_out) / 2, (hc - 0.5) / 2),
                face_parts=faces,
            )
            surfaces.append(surface(m, sidewalk=mat.SIDEWALK, curb=mat.CURB))
    if cut is not None:
        road_pieces = ((-_FAR, edges[0]), (edges[1], _FAR))  # the cross street, each side
        walk_pieces = ((-_FAR, sidewalks[0, 1]), (sidewalks[1, 1], _FAR))
        for (r0, r1), (y0, y1) in zip(road_pieces, walk_pieces):
            surfaces.append(
                surface(ground_quad(cut[0], cut[1], r0, r1, 0.0, "road"), road=mat.ROAD)
            )
            for a, b in ((cut[0] - sw_mean, cut[0]), (cut[1], cut[1] + sw_mean)):
                size = (b - a, y1 - y0, hc + 0.5)
                m = box(size, ((a + b) / 2, (y0 + y1) / 2, (hc - 0.5) / 2), face_parts=faces)
                surfaces.append(surface(m, sidewalk=mat.SIDEWALK, curb=mat.CURB))
    return surfaces


def sample_static_world(
    cfg: SceneConfig, rng: np.random.Generator, clutter: ClutterConfig | None = None
) -> StaticWorld:
    """Sample the road, its sides and the ground (road frame); ``clutter``: the roadside
    content's config (default: the embedded defaults)."""
    clutter = ClutterConfig() if clutter is None else clutter
    lanes, n_right, width = _lanes(cfg, rng)
    edges = [lanes[0, 0] - width / 2, lanes[-1, 0] + width / 2]
    parking, kerbside, p_kerb = [], [False, False], cfg.kerbside_frontage_probability
    bay_angles, p_bay = [], cfg.bay_parking_probability
    for side, heading in ((0, 0.0), (1, np.pi)):
        if rng.uniform() < cfg.parking_lane_probability:
            w = rng.uniform(2.0, 2.5)
            sign = -1 if side == 0 else 1
            kerbside[side] = p_kerb > 0 and rng.uniform() < p_kerb  # no draw at 0
            angle = 0.0
            if p_bay > 0 and not kerbside[side] and rng.uniform() < p_bay:
                angle = float(np.deg2rad(rng.uniform(*cfg.bay_angle_deg)))
                # Deep enough for a 4.4 x 1.9 m car at that angle, plus room to walk round it.
                w = 4.4 * np.sin(angle) + 1.9 * np.cos(angle) + rng.uniform(0.4, 0.9)
            parking.append([edges[side] + sign * w / 2, heading])
            bay_angles.append(angle)
            edges[side] += sign * w
    hc = rng.uniform(*cfg.curb_height_m)
    sw = rng.uniform(*cfg.sidewalk_width_m, size=2)
    for side in np.flatnonzero(kerbside):
        sw[side] = rng.uniform(*KERB_STRIP_M)
    sidewalks = np.array([[edges[0], edges[0] - sw[0]], [edges[1], edges[1] + sw[1]]])
    crossing = None
    if rng.uniform() < cfg.intersection_probability:
        crossing = (float(rng.uniform(15, 60)), float(rng.uniform(7, 12)))
    paint = _paint(lanes, n_right, width, edges, crossing, rng)
    cut = (
        None if crossing is None else (crossing[0] - crossing[1] / 2, crossing[0] + crossing[1] / 2)
    )
    surfaces = _road_surfaces(edges, sidewalks, hc, cut, sw.mean())
    keep_out = [] if cut is None else [(cut[0] - sw.mean() - 2, cut[1] + sw.mean() + 2)]
    obstacles = [list(EGO_BOX_ROAD)]
    lamps, terrain, driveways, lots = [], [], [], []
    for side, (y_in, y_out), kerb in zip((-1, 1), sidewalks, kerbside):
        frame = SideFrame(
            side, y_in, y_out, hc, tuple(keep_out), clutter.detail_range_m, _DETAIL, kerb
        )
        urban = rng.uniform() < cfg.urban_probability
        content = sample_roadside(frame, urban, cfg, clutter, rng)
        surfaces += content.surfaces
        obstacles += content.obstacles
        driveways += content.driveways
        lots += content.lots
        terrain.append(content.terrain)
        if not urban:  # fields and trees far from the road
            surfaces += _far_trees(side, y_out, content.terrain, clutter, rng)
        reach = abs(y_out - y_in) / 2 if kerb else np.inf
        poles = _poles(
            side, y_in, hc, cfg, keep_out, cut, edges, rng, obstacles, lamps, reach,
            content.kerb_trees_x,
        )  # fmt: skip
        if poles:
            surfaces.append(surface(merge(poles), pole=mat.POLE, lamp=mat.LAMP_OFF, sign=mat.SIGN))
    surfaces += _ground(sidewalks, keep_out, terrain, rng)
    layout = RoadLayout(
        lanes=lanes,
        parking=np.array(parking, np.float64).reshape(-1, 2),
        parking_bay_rad=np.array(bay_angles, np.float64),
        road_y=(float(edges[0]), float(edges[1])),
        sidewalks=sidewalks,
        curb_height=float(hc),
        intersection=crossing,
        obstacles=np.array(obstacles, np.float64),
        driveways=np.array(driveways, np.float64).reshape(-1, 4),
        lots=np.array(lots, np.float64).reshape(-1, 6),
        crosswalks=paint.crosswalks,
        kerbside=(bool(kerbside[0]), bool(kerbside[1])),
    )
    return StaticWorld(layout, tuple(surfaces), paint, np.array(lamps, np.float64).reshape(-1, 3))
