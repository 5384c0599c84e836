"""What lines one side of the street: frontage segments (buildings, fences, hedges, walls,
open ground, guard rails), street furniture on the sidewalk, and the driveways where cars
park. Road frame (x along the road, y left, z up); never labelled.

The side is cut into segments along x (``ClutterConfig.segment_length_m``); each gets a
frontage drawn from the configured weights. Fences, hedges and walls stand ``setback_m``
behind the sidewalk and may have an opening: a gate, or a driveway wide enough for a car,
recorded as a parking spot across the road's direction (``Roadside.driveways``). Behind a
fence, hedge or wall of an urban side there is usually a house. Street furniture is Poisson
per 100 m of sidewalk; parked bicycles lean near the frontage (unlabelled: KITTI labels only
ridden bicycles, as Cyclist). Every piece is an obstacle that objects are not placed into.
Trees at the kerb (``ClutterConfig.kerb_tree_probability``) take precedence in the kerb's row:
furniture drawn on a trunk is left out (``kerb.py``).
A parking lot (``ClutterConfig.lot_probability``, urban sides) replaces the frontage over its
stretch with a paved area closed by a frontage on its far side (``lots.py``, which also fills
its bays).

Meshes are batched: all pieces of one kind on one side form one surface, so the ray-casting
scene gets a few large meshes instead of hundreds of small ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from perception3d.sim import materials as mat
from perception3d.sim.clutter_config import (
    FENCES,
    FRONTAGES,
    FURNITURE,
    LOT_FRONTAGES,
    ClutterConfig,
)
from perception3d.sim.config import SceneConfig
from perception3d.sim.fences import fence, free_spans, guard_rail, wall
from perception3d.sim.foliage import hedge, random_bush, random_tree
from perception3d.sim.furniture import FURNITURE_VARIANTS, furniture_mesh
from perception3d.sim.kerb import KERB_TREE_IN_M, TRUNK_FOOTPRINT_M, footprints_overlap
from perception3d.sim.lots import lot_paving, lot_span
from perception3d.sim.meshes import Mesh, merge, rotation_z
from perception3d.sim.scenery import building
from perception3d.sim.semantics import SEMANTIC_ID
from perception3d.sim.terrain import TerrainSide
from perception3d.sim.world import Surface

__all__ = ["Roadside", "SideFrame", "sample_roadside", "surface"]

_PART_SEMANTICS = {
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
    "fence": "fence",
    "post": "fence",
    "free_wall": "wall",
    "furniture": "other_object",
    "frame": "bicycle",
    "tyre": "bicycle",
}
SEMANTICS = {part: SEMANTIC_ID[name] for part, name in _PART_SEMANTICS.items()}
_ROOF = mat.Material((0.12, 0.11, 0.11), 0.25)
_LOT = mat.Material((0.1, 0.1, 0.105), 0.33)  # worn asphalt, no lane paint


def surface(mesh: Mesh, **materials: mat.Material) -> Surface:
    """A static surface: ``materials`` per part, semantics from the part names."""
    return Surface(mesh, materials, {p: SEMANTICS[p] for p in mesh.part_names})


@dataclass(frozen=True)
class SideFrame:
    """Where one side of the street is (road frame).

    Attributes:
        side: +1 left (+y), -1 right.
        y_inner, y_outer: the sidewalk's edge at the road and its outer edge.
        curb_height: the sidewalk's height.
        keep_out: x intervals left empty (a cross street and its corners).
        detail: x range of porous foliage.
        x_range: x range of the roadside content.
        kerbside: the frontage stands right at the sidewalk's outer edge (a kerb strip beside
            parked cars, ``SceneConfig.kerbside_frontage_probability``): no setback, no gaps,
            no open ground or guard rail, 30 % of the buildings a row of garages, no furniture
            or street trees on the strip.
    """

    side: int
    y_inner: float
    y_outer: float
    curb_height: float
    keep_out: tuple[tuple[float, float], ...]
    detail: tuple[float, float]
    x_range: tuple[float, float]
    kerbside: bool = False


@dataclass
class Roadside:
    """Sampled content of one side: surfaces, obstacle boxes [x, y, z, l, w, h, heading],
    driveway spots (x, y, heading, ground z), parking lots (x0, x1, y near, y far, ground z,
    occupancy: the lot's x span, its edges at the sidewalk and away from the road, the
    probability that a bay holds a car), the ground beyond the sidewalk, and where trees stand
    at the kerb (``kerb_trees_x``: their trunks' x, ``KERB_TREE_IN_M`` inside the road edge)."""

    surfaces: list[Surface] = field(default_factory=list)
    obstacles: list[list[float]] = field(default_factory=list)
    driveways: list[tuple[float, float, float, float]] = field(default_factory=list)
    lots: list[tuple[float, float, float, float, float, float]] = field(default_factory=list)
    terrain: TerrainSide | None = None
    kerb_trees_x: list[float] = field(default_factory=list)  # trunks at the kerb (x, m)


def _choice(rng, weights: dict[str, float], names: tuple[str, ...]) -> str:
    w = np.array([weights.get(n, 0.0) for n in names], np.float64)
    return names[rng.choice(len(names), p=w / w.sum())]


def _place(mesh: Mesh, x: float, y: float, z: float, heading: float) -> Mesh:
    return mesh.transformed(rotation_z(heading), (x, y, z))


class _Batch:
    """Meshes grouped by material set; each group becomes one surface."""

    def __init__(self) -> None:
        self.groups: dict[str, tuple[list[Mesh], dict]] = {}

    def add(self, key: str, mesh: Mesh, **materials: mat.Material) -> None:
        self.groups.setdefault(key, ([], materials))[0].append(mesh)

    def surfaces(self) -> list[Surface]:
        return [surface(merge(meshes), **m) for meshes, m in self.groups.values() if meshes]


def _opening(rng, length: float, cfg: ClutterConfig) -> tuple[float, float, bool] | None:
    """(x0, x1, is_driveway) of an opening in a segment of ``length``, or None."""
    if rng.uniform() >= cfg.opening_probability:
        return None
    driveway = rng.uniform() < 0.6
    width = rng.uniform(3.0, 4.5) if driveway else rng.uniform(1.0, 1.6)
    if length < width + 2.5:
        return None
    x0 = rng.uniform(1.0, length - width - 1.0)
    return x0, x0 + width, driveway


def _segment(
    kind: str, x0: float, x1: float, f: SideFrame, cfg: ClutterConfig, sc: SceneConfig, rng,
    out: Roadside, batch: _Batch, terrain: TerrainSide,
) -> None:  # fmt: skip
    """Build one frontage segment from x0 to x1 (road frame)."""
    s, length = f.side, x1 - x0
    # Local frames: x along the segment, -y towards the road. On the left side (+y) that is
    # the road frame itself; on the right side it is turned by pi and runs from x1 to x0.
    heading = 0.0 if s > 0 else np.pi
    start = x0 if s > 0 else x1

    def to_road(a: float) -> float:
        return start + a if s > 0 else start - a

    setback = 0.0 if f.kerbside else rng.uniform(*cfg.setback_m)
    y = f.y_outer + s * setback
    detail = f.detail[0] <= (x0 + x1) / 2 <= f.detail[1]
    opening = _opening(rng, length, cfg) if kind in ("fence", "hedge", "wall") else None
    holes = [] if opening is None else [opening[:2]]
    local = [(a, b) if s > 0 else (length - b, length - a) for a, b in holes]
    base = f.curb_height - 0.02
    if kind == "building":
        depth, height = rng.uniform(8, 18), rng.uniform(*sc.building_height_m)
        if f.kerbside and rng.uniform() < 0.3:  # a row of garages at the kerb
            depth, height = rng.uniform(5.0, 7.0), rng.uniform(2.3, 3.0)
        yc = y + s * depth / 2
        ground = terrain.height(np.array([x0, x1]), np.array([yc + s * depth / 2] * 2)).min()
        bottom = min(ground, base) - 0.3
        m = building(length, depth, height + base - bottom, bottom).transformed(
            np.eye(3), ((x0 + x1) / 2, yc, 0.0)
        )
        out.surfaces.append(surface(m, wall=mat.building_material(rng), roof=_ROOF))
        out.obstacles.append([(x0 + x1) / 2, yc, base + 1.0, length, depth, 2.0, 0.0])
        return
    if kind == "guard_rail":
        y_rail = f.y_inner + s * 0.6
        m = guard_rail(length).transformed(rotation_z(heading), (start, y_rail, f.curb_height))
        batch.add("guard_rail", m, fence=mat.GALVANISED, post=mat.GALVANISED)
        out.obstacles.append([(x0 + x1) / 2, y_rail, 1.0, length, 0.5, 2.0, 0.0])
        return
    if kind == "open":
        for _ in range(rng.poisson(length / 12.0)):
            bx, by = rng.uniform(x0, x1), y + s * rng.uniform(0.8, 4.0)
            b = random_bush(rng, cfg.foliage_cover, detail, (bx, by, base))
            batch.add("bush", b, foliage=mat.FOLIAGE)
        return
    thickness = 0.0
    if kind == "fence":
        fk = _choice(rng, cfg.fence_weights, FENCES)
        m = fence(fk, length, float(rng.uniform(*cfg.fence_height_m)), local)
        material = {"picket": mat.WOOD, "panel": mat.WOOD, "mesh": mat.FENCE_METAL}.get(
            fk, mat.GALVANISED if rng.uniform() < 0.5 else mat.FENCE_METAL
        )
        batch.add(f"fence_{fk}", _place(m, start, y, base, heading), fence=material, post=material)
        thickness = 0.1
    elif kind == "hedge":
        depth = rng.uniform(0.6, 1.4)
        height = rng.uniform(*cfg.hedge_height_m)
        cover = rng.uniform(*cfg.foliage_cover)
        for a, b in free_spans(length, local, min_length=0.3):
            h = hedge(rng, b - a, height, depth, cover, detail)
            h = h.transformed(np.eye(3), ((a + b) / 2, depth / 2, 0.0))
            batch.add("hedge", _place(h, start, y, base, heading), foliage=mat.FOLIAGE)
        thickness = depth
    else:  # wall
        thickness = rng.uniform(0.2, 0.4)
        m = wall(length, float(rng.uniform(*cfg.wall_height_m)), thickness, local)
        colour = mat.WALL_COLOURS[rng.integers(len(mat.WALL_COLOURS))]
        batch.add(f"wall_{colour}", _place(m, start, y, base, heading),
                  free_wall=mat.Material(colour, 0.33 + 0.1 * rng.uniform()))  # fmt: skip
    for a, b in free_spans(length, local, min_length=0.3):  # the frontage blocks objects
        xa, xb = sorted((to_road(a), to_road(b)))
        cy = y + s * thickness / 2
        out.obstacles.append([(xa + xb) / 2, cy, 1.0, xb - xa, thickness + 0.2, 2.0, 0.0])
    # A driveway: a car fits behind the opening where the ground is still flat.
    if opening is not None and opening[2] and (terrain.slope == 0 or terrain.flat_m > setback + 7):
        xc = (opening[0] + opening[1]) / 2 + x0
        out.driveways.append((xc, y + s * 3.2, -s * np.pi / 2, base + 0.02))


_FURNITURE_SPOT = {  # distance from the sidewalk's inner edge, in sidewalk widths
    "bollard": 0.06,
    "sign": 0.05,
    "bin": 0.12,
    "bench": 0.9,
    "bicycle": 0.92,
    "cabinet": 0.92,
    "planter": 0.85,
    "bush": 1.3,  # in the front yard
}
_FURNITURE_MATERIALS = {
    "bench": {"furniture": mat.WOOD, "pole": mat.POLE},
    "cabinet": {"furniture": mat.CABINET},
    "planter": {"furniture": mat.CONCRETE, "foliage": mat.FOLIAGE},
    "bicycle": {"frame": mat.POLE, "tyre": mat.TYRE},
    "bollard": {"pole": mat.POLE, "furniture": mat.CONCRETE, "sign": mat.SIGN},
    "sign": {"pole": mat.POLE, "sign": mat.SIGN},
}


_FURNITURE_X = (-60.0, 120.0)  # m along the road: small things farther are barely seen


def _furniture(f: SideFrame, cfg: ClutterConfig, rng, lot: tuple[float, float] | None) -> list:
    """Street furniture along the sidewalk, as (batch key, mesh, materials, footprint [x, y, dx,
    dy]) not yet added (a kerb tree drawn afterwards may stand on one); front-yard bushes stay
    out of a parking ``lot``."""
    width = abs(f.y_outer - f.y_inner)
    x_range = (max(f.x_range[0], _FURNITURE_X[0]), min(f.x_range[1], _FURNITURE_X[1]))
    span = x_range[1] - x_range[0]
    taken, pieces = np.zeros((0, 4)), []  # [x, y, dx, dy] of the furniture placed so far
    for kind in FURNITURE:
        count = rng.poisson(cfg.furniture_per_100m.get(kind, 0.0) * span / 100.0)
        frac = _FURNITURE_SPOT[kind]
        for x in rng.uniform(*x_range, size=count):
            if any(a - 1 <= x <= b + 1 for a, b in f.keep_out):
                continue
            if kind == "bush" and lot and lot[0] - 1 <= x <= lot[1] + 1:
                continue
            y = f.y_inner + f.side * frac * width
            heading = -f.side * np.pi / 2  # benches and cabinets face the road
            if kind == "bicycle":
                heading = rng.choice([0.0, np.pi]) + rng.normal(0, 0.15)
            elif kind == "sign":  # plates face the traffic of their side
                heading = (0.0 if f.side > 0 else np.pi) + rng.normal(0, 0.1)
            elif kind in ("bin", "bollard"):
                heading += rng.normal(0, 0.3)
            if kind == "bush":
                m = random_bush(rng, cfg.foliage_cover, f.detail[0] <= x <= f.detail[1], (0, 0, 0))
                materials = {"foliage": mat.FOLIAGE}
            else:
                m = furniture_mesh(kind, int(rng.integers(FURNITURE_VARIANTS[kind])))
                materials = _FURNITURE_MATERIALS.get(kind)
                if materials is None:  # bins: one of a few colours
                    colour = int(rng.integers(len(mat.BIN_COLOURS)))
                    bin_material = mat.Material(mat.BIN_COLOURS[colour], 0.3)
                    materials = {"furniture": bin_material, "pole": mat.POLE}
            placed = _place(m, x, y, f.curb_height, heading)
            lo, hi = placed.bounds
            box = np.r_[(lo + hi)[:2] / 2, (hi - lo)[:2] + 0.1]
            if footprints_overlap(box, taken):
                continue  # overlaps furniture placed before
            key = kind if kind != "bin" else f"bin_{materials['furniture'].albedo_rgb}"
            pieces.append((key, placed, materials, box))
            taken = np.vstack([taken, box])
    return pieces


def sample_roadside(
    f: SideFrame, urban: bool, sc: SceneConfig, cfg: ClutterConfig, rng: np.random.Generator
) -> Roadside:
    """Frontage, furniture, driveways and ground of one side of the street."""
    out, batch = Roadside(), _Batch()
    lot = lot_span(f, urban, cfg, rng)
    blocked = list(f.keep_out) + ([lot] if lot else [])  # no frontage or tree stands here
    embank = rng.uniform() < cfg.embankment_probability * (0.4 if urban else 1.0)
    slope = np.tan(np.radians(rng.uniform(*cfg.terrain_slope_deg))) * rng.choice([-1, 1])
    terrain = TerrainSide(
        f.side, f.y_outer, f.curb_height - 0.02, float(rng.uniform(3.0, 14.0)),
        float(slope) if embank else 0.0, float(rng.uniform(*cfg.terrain_bump_m)),
        flat_x=tuple(blocked),
    )  # fmt: skip
    out.terrain = terrain
    if lot:  # the paving, then what closes the lot on its far side
        slab, row = lot_paving(lot, f, cfg, rng)
        out.surfaces.append(surface(slab, road=_LOT))
        out.lots.append(row)
        far = replace(f, y_outer=row[3], kerbside=True)  # no setback
        kind = _choice(rng, cfg.frontage_weights, LOT_FRONTAGES)
        _segment(kind, *lot, far, cfg, sc, rng, out, batch, terrain)
    weights = cfg.frontage_weights if urban else cfg.rural_frontage_weights
    if f.kerbside:
        weights = {k: v for k, v in weights.items() if k not in ("open", "guard_rail")}
        weights = weights if sum(weights.values()) > 0 else {"wall": 1.0}
    x = f.x_range[0] + rng.uniform(0, 5)
    while x < f.x_range[1]:
        length = rng.uniform(*cfg.segment_length_m)
        x1 = min(x + length, f.x_range[1])
        pieces = [(x, x1)]
        for a, b in blocked:
            pieces = [p for lo, hi in pieces for p in ((lo, min(hi, a)), (max(lo, b), hi))]
        kind = _choice(rng, weights, FRONTAGES)
        for a, b in pieces:
            if b - a > 1.5:
                _segment(kind, a, b, f, cfg, sc, rng, out, batch, terrain)
        if urban and kind in ("fence", "hedge", "wall") and rng.uniform() < 0.6:
            house = _behind(f, rng)
            for a, b in pieces:
                if b - a > 6.0:
                    _segment("building", a + 1, b - 1, house, cfg, sc, rng, out, batch, terrain)
        x = x1 if f.kerbside else x1 + (0.0 if rng.uniform() < 0.7 else rng.uniform(1, 6))
    if f.kerbside:  # nothing stands on the kerb strip
        out.surfaces += batch.surfaces()
        return out
    furniture = _furniture(f, cfg, rng, lot)
    trees_x, at_kerb = np.zeros(0), False
    if urban or rng.uniform() < 0.3:
        p_kerb = cfg.kerb_tree_probability if urban else 0.0  # no draw at 0
        at_kerb = p_kerb > 0 and rng.uniform() < p_kerb
        step = rng.uniform(*sc.tree_spacing_m)
        trees_x = np.arange(f.x_range[0] + rng.uniform(0, 20), f.x_range[1], step)
    free = [not any(a - 3 <= tx <= b + 3 for a, b in blocked) for tx in trees_x]
    kerb_y = f.y_inner + f.side * KERB_TREE_IN_M
    if at_kerb:  # an avenue, no gaps: known before the trees are drawn
        out.kerb_trees_x = [float(tx) for tx, ok in zip(trees_x, free) if ok]
    size = TRUNK_FOOTPRINT_M
    trunks = np.array([[x, kerb_y, size, size] for x in out.kerb_trees_x]).reshape(-1, 4)
    for key, placed, materials, box in furniture:
        if footprints_overlap(box, trunks):
            continue  # a tree at the kerb stands here
        batch.add(key, placed, **materials)
        out.obstacles.append([box[0], box[1], f.curb_height + 1.0, box[2], box[3], 2.0, 0.0])
    for tx, ok in zip(trees_x, free):
        skip = not at_kerb and rng.uniform() < 0.5
        if skip or not ok:
            continue
        if at_kerb:
            ty = kerb_y
        elif urban:
            ty = f.y_outer - f.side * 0.8
        else:
            ty = f.y_outer + f.side * rng.uniform(1, 4)
        _tree(tx, ty, terrain, f, cfg, rng, out, batch)
    out.surfaces += batch.surfaces()
    return out


def _behind(f: SideFrame, rng) -> SideFrame:
    """The frame of a house behind a front yard: its sidewalk edge moved back."""
    back = f.side * rng.uniform(4.0, 12.0)
    return SideFrame(
        f.side, f.y_inner, f.y_outer + back, f.curb_height, f.keep_out, f.detail, f.x_range
    )


def _tree(x, y, terrain: TerrainSide, f: SideFrame, cfg: ClutterConfig, rng, out, batch) -> None:
    detail = f.detail[0] <= x <= f.detail[1]
    z = min(float(terrain.height(np.array([x]), np.array([y]))[0]), f.curb_height) - 0.05
    t = random_tree(rng, cfg.foliage_cover, detail, (x, y, z))
    batch.add("tree", t, trunk=mat.BARK, foliage=mat.FOLIAGE)
    out.obstacles.append([x, y, 1.0, TRUNK_FOOTPRINT_M, TRUNK_FOOTPRINT_M, 2.0, 0.0])
