"""Random labelled-class objects: size, body type, pose and materials of one car, van, truck,
tram, misc vehicle, pedestrian, sitting person or cyclist, in the object frame (x forward,
y left, z up, origin at the bottom centre).

Sizes: the label box (l, w, h) is drawn per class from ``ObjectsConfig.size_mean_m`` /
``size_std_m`` (defaults: KITTI's label statistics, see ``config.KITTI_SIZE_MEAN_M``), a
normal truncated at ``size_max_sigma``; the body type is then drawn from the configured prior
weighted by how well the type suits that size (a tall car is rather an SUV or an MPV, a short
one a hatchback), and the mesh is built to fill the box. People are posed to fit their box:
a walker's stride shrinks until the body with the annotators' padding
(``LabelConfig.pedestrian_padding_m``) fits the drawn length; a cyclist's bicycle (wheel size,
wheelbase, handlebar) is chosen to fit the drawn length and width.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache, lru_cache

import numpy as np

from perception3d.sim import materials as mat
from perception3d.sim.config import (
    CAR_BODIES,
    OBJECT_CLASSES,
    OTHER_BODIES,
    LabelConfig,
    ObjectsConfig,
)
from perception3d.sim.furniture import FURNITURE_VARIANTS, furniture_mesh
from perception3d.sim.meshes import Mesh, freeze
from perception3d.sim.people import cyclist_mesh, pedestrian_mesh, sitting_mesh
from perception3d.sim.semantics import SEMANTIC_ID
from perception3d.sim.vehicles import VARIANTS, vehicle_mesh
from perception3d.sim.world import Surface

__all__ = [
    "KIND_LABEL",
    "ObjectModel",
    "draw_size",
    "sample_class_object",
    "sample_object",
    "warm_templates",
]

KIND_LABEL = {
    **{b: "Car" for b in CAR_BODIES},
    **{b: label for label, bodies in OTHER_BODIES.items() for b in bodies},
    "pedestrian": "Pedestrian",
    "sitting": "Person_sitting",
    "cyclist": "Cyclist",
}
_SEMANTIC = {
    "Car": "car",
    "Van": "van",
    "Truck": "truck",
    "Pedestrian": "pedestrian",
    "Person_sitting": "pedestrian",
    "Cyclist": "cyclist",
    "Tram": "tram",
    "Misc": "other_vehicle",
}
# The (l, h) label box each body type suits best and how far it strays: a draw's likelihood
# under it weighs the configured prior (metres; our judgement of the types' proportions
# against KITTI's car boxes, which are about 0.3 m shorter than the cars' catalogue lengths).
_AFFINITY = {
    "hatchback": (3.55, 1.50),
    "sedan": (4.15, 1.44),
    "wagon": (4.25, 1.50),
    "suv": (4.15, 1.68),
    "mpv": (4.0, 1.62),
    "pickup": (4.7, 1.72),
    "van": (5.1, 2.25),
    "minibus": (5.1, 2.1),
    "trailer": (3.0, 1.2),
    "caravan": (4.8, 2.4),
}
_AFFINITY_SPREAD = (0.45, 0.09)
# Physical limits of the builders (l, w, h minima), whatever the configured distribution.
_MIN_SIZE = {"Truck": (5.0, 1.8, 2.2), "Tram": (8.0, 2.0, 2.8)}
_STRIDES = (0.0, 0.1, 0.18, 0.26, 0.34)  # leg swing amplitudes, rad (0.34: feet 0.95 m apart)
_PHASES = 8  # quantized gait phases
_WHEELBASES = (0.95, 1.05, 1.15)  # bicycle geometry choices, metres
_BARS = (0.48, 0.56, 0.64)


@dataclass(frozen=True)
class ObjectModel:
    """An object before placement.

    Attributes:
        kind: body type; label: its KITTI type.
        size: (l, w, h) of the label box, metres (the mesh is centred in it).
        surface: mesh (object frame) with materials and semantics.
        props: scenery that comes with the object, never labelled (the bench a person sits
            on), object frame; None if none.
        props_box: (x, y, l, w) footprint of the props in the object frame, or None.
    """

    kind: str
    label: str
    size: tuple[float, float, float]
    surface: Surface
    props: Surface | None = None
    props_box: tuple[float, float, float, float] | None = None


def draw_size(label: str, rng: np.random.Generator, cfg: ObjectsConfig) -> np.ndarray:
    """(3,) label-box (l, w, h) of class ``label``: the configured normal truncated at
    ``size_max_sigma`` (redrawn outside it), raised to the builders' minimum sizes."""
    mean = np.asarray(cfg.size_mean_m[label], np.float64)
    std = np.asarray(cfg.size_std_m[label], np.float64)
    z = rng.normal(size=3)
    for _ in range(20):
        bad = np.abs(z) > cfg.size_max_sigma
        if not bad.any():
            break
        z[bad] = rng.normal(size=int(bad.sum()))
    size = np.maximum(mean + std * np.clip(z, -cfg.size_max_sigma, cfg.size_max_sigma), 0.2)
    return np.maximum(size, _MIN_SIZE.get(label, (0.2, 0.2, 0.2)))


def _body_for(label: str, size: np.ndarray, rng, cfg: ObjectsConfig) -> str:
    if label == "Car":
        bodies, prior = CAR_BODIES, cfg.car_body_weights
    else:
        bodies, prior = OTHER_BODIES[label], cfg.other_body_weights
    w = np.array([prior.get(b, 0.0) for b in bodies], np.float64)
    if w.sum() <= 0:
        w = np.ones(len(bodies))
    like = np.array(
        [
            np.exp(-0.5 * np.sum(((size[[0, 2]] - _AFFINITY[b]) / _AFFINITY_SPREAD) ** 2))
            if b in _AFFINITY
            else 1.0
            for b in bodies
        ]
    )
    p = w * np.maximum(like, 1e-12)
    return bodies[rng.choice(len(bodies), p=p / p.sum())]


@cache
def _pedestrian_template(phase: int, stride: int, arms: str, backpack: bool, coat: bool) -> Mesh:
    """A 1.75 m person in a quantized pose, built once per process (about 200 poses)."""
    return freeze(
        pedestrian_mesh(1.75, phase / _PHASES, _STRIDES[stride], None, arms, backpack, coat)
    )


@cache
def _cyclist_template(crank: int, wheel_r: float, wheelbase: int, bar: int, pack: bool) -> Mesh:
    """A 1.75 m rider on one of 18 bicycles, 4 crank phases (144 templates at most)."""
    return freeze(cyclist_mesh(1.75, crank / 4, wheel_r, _WHEELBASES[wheelbase], _BARS[bar], pack))


@lru_cache(maxsize=8)
def _sitting_template(lean: int) -> Mesh:
    return freeze(sitting_mesh(1.75, 0.45, 0.05 + 0.1 * lean))


def _fit(template: Mesh, size: np.ndarray, min_squeeze: float = 0.75):
    """Scale a template to the box height, squeeze x and y (not below ``min_squeeze``) to fit
    the box; returns the mesh and the box, grown where the body still sticks out."""
    ext = np.ptp(template.vertices, axis=0)
    s = np.full(3, size[2] / ext[2])
    for axis in (0, 1):
        s[axis] *= float(np.clip(size[axis] / (ext[axis] * s[axis]), min_squeeze, 1.0))
    mesh = Mesh(template.vertices * s, template.triangles, template.parts, template.part_names)
    return mesh, np.maximum(size, ext * s)


def _pedestrian(size, rng, cfg: ObjectsConfig, labels: LabelConfig):
    walking = rng.uniform() < cfg.pedestrian_walking_probability
    arms = list(cfg.pedestrian_arm_weights)
    p = np.array([cfg.pedestrian_arm_weights[a] for a in arms])
    arm = arms[rng.choice(len(arms), p=p / p.sum())]
    if walking and arm in ("hang", "pockets"):
        arm = "swing"
    pack, coat = rng.uniform() < cfg.backpack_probability, rng.uniform() < cfg.coat_probability
    phase = int(rng.integers(_PHASES)) if walking else 0
    pad_l, pad_w = labels.pedestrian_padding_m
    stride = len(_STRIDES) - 1 if walking else 0
    while True:  # the longest stride whose body, padded, fits the drawn length
        t = _pedestrian_template(phase, stride, arm, pack, coat)
        ext = np.ptp(t.vertices, axis=0) * size[2] / 1.75
        if stride == 0 or ext[0] + pad_l <= size[0]:
            break
        stride -= 1
    mesh, box = _fit(t, size - np.array([pad_l, pad_w, 0.0]))
    return mesh, box + np.array([pad_l, pad_w, 0.0])


def _cyclist(size, rng, cfg: ObjectsConfig, labels: LabelConfig):
    pad_l, pad_w = labels.cyclist_padding_m
    wheel_r = 0.34 if size[0] > 1.7 else 0.30
    # The longest wheelbase and widest bar that fit (the box grows if even the least does not).
    room_l = size[0] - pad_l - 2 * wheel_r - 0.08
    wheelbase = max([0] + [k for k, b in enumerate(_WHEELBASES) if b <= room_l])
    bar = max([0] + [k for k, b in enumerate(_BARS) if b <= size[1] - pad_w - 0.04])
    pack = bool(rng.uniform() < cfg.backpack_probability * 0.75)
    t = _cyclist_template(int(rng.integers(4)), wheel_r, wheelbase, bar, pack)
    mesh, box = _fit(t, size - np.array([pad_l, pad_w, 0.0]), min_squeeze=0.95)
    return mesh, box + np.array([pad_l, pad_w, 0.0])


def _materials(label: str, kind: str, rng, cfg: ObjectsConfig, lights_on: bool) -> dict:
    if label in ("Pedestrian", "Person_sitting", "Cyclist"):
        m = mat.pedestrian_materials(rng)
        if rng.uniform() < cfg.hi_vis_probability:
            m["shirt"] = mat.HI_VIS
        return {**m, "bag": mat.BAG}
    m = mat.vehicle_materials(rng, lights_on and label != "Misc")
    unread = {"lidar_unread": mat.VEHICLE_UNREAD}  # the fitted share of returns reading 0
    extra = {"rim": replace(mat.RIM, **unread), "interior": replace(mat.INTERIOR, **unread)}
    return {**m, **extra, "mirror": m["body"]}


def _build(label: str, kind: str, size: np.ndarray, rng, cfg, labels, lights_on) -> ObjectModel:
    if label == "Pedestrian":
        mesh, size = _pedestrian(size, rng, cfg, labels)
    elif label == "Cyclist":
        mesh, size = _cyclist(size, rng, cfg, labels)
    elif label == "Person_sitting":
        template = _sitting_template(int(rng.integers(3)))
        mesh, size = _fit(template, size)
        props, props_box = _bench_under(mesh, size[2] / np.ptp(template.vertices[:, 2]), rng)
    else:
        mesh = vehicle_mesh(kind, *size, variant=int(rng.integers(VARIANTS)))
    materials = _materials(label, kind, rng, cfg, lights_on)
    semantic = SEMANTIC_ID[_SEMANTIC[label]]
    surface = Surface(
        mesh, {p: materials[p] for p in mesh.part_names}, {p: semantic for p in mesh.part_names}
    )
    if label != "Person_sitting":
        props = props_box = None
    return ObjectModel(kind, label, tuple(float(v) for v in size), surface, props, props_box)


def _bench_under(person: Mesh, scale: float, rng) -> tuple[Surface, tuple]:
    """A bench whose seat is under the sitting ``person`` (scaled by ``scale`` from the 1.75 m
    template, whose seat is 0.45 m high), its backrest just behind their back."""
    bench = furniture_mesh("bench", int(rng.integers(FURNITURE_VARIANTS["bench"])))
    seat_top = 0.475  # the bench template's seat top
    back = person.vertices[np.unique(person.triangles[person.part_mask("shirt")]), 0].min()
    dx = back - (-0.225) - 0.03  # the backrest's back face 3 cm behind the person's back
    v = bench.vertices * np.array([1.0, 1.0, 0.45 * scale / seat_top]) + np.array([dx, 0, 0])
    lo, hi = v.min(axis=0), v.max(axis=0)
    props = Surface(
        bench.with_vertices(v),
        {"furniture": mat.WOOD, "pole": mat.POLE},
        {"furniture": SEMANTIC_ID["other_object"], "pole": SEMANTIC_ID["pole"]},
    )
    return props, (float((lo[0] + hi[0]) / 2), 0.0, float(hi[0] - lo[0]), float(hi[1] - lo[1]))


def sample_class_object(
    label: str,
    rng: np.random.Generator,
    cfg: ObjectsConfig,
    labels: LabelConfig,
    lights_on: bool = False,
) -> ObjectModel:
    """A random object of KITTI type ``label``: size, then body type, then mesh.

    Raises:
        ValueError: unknown label.
    """
    if label not in OBJECT_CLASSES:
        raise ValueError(f"label must be one of {OBJECT_CLASSES}, got {label!r}")
    size = draw_size(label, rng, cfg)
    people = {"Pedestrian": "pedestrian", "Person_sitting": "sitting", "Cyclist": "cyclist"}
    kind = people.get(label) or _body_for(label, size, rng, cfg)
    return _build(label, kind, size, rng, cfg, labels, lights_on)


def sample_object(
    kind: str,
    rng: np.random.Generator,
    labels: LabelConfig,
    lights_on: bool = False,
    cfg: ObjectsConfig | None = None,
) -> ObjectModel:
    """A random object of body type ``kind`` (a key of :data:`KIND_LABEL`), its size drawn
    from its class's distribution (``cfg``, default: the embedded defaults).

    Raises:
        ValueError: unknown kind.
    """
    if kind not in KIND_LABEL:
        raise ValueError(f"kind must be one of {tuple(KIND_LABEL)}, got {kind!r}")
    cfg = ObjectsConfig() if cfg is None else cfg
    label = KIND_LABEL[kind]
    return _build(label, kind, draw_size(label, rng, cfg), rng, cfg, labels, lights_on)


def warm_templates() -> None:
    """Build every pose, rider and sitting template now (see ``warmup.py``)."""
    for backpack in (False, True):
        for coat in (False, True):
            for arms in ("hang", "pockets", "phone", "bag"):
                _pedestrian_template(0, 0, arms, backpack, coat)
            for phase in range(_PHASES):
                for stride in range(1, len(_STRIDES)):
                    for arms in ("swing", "phone", "bag"):
                        _pedestrian_template(phase, stride, arms, backpack, coat)
    for crank in range(4):
        for wheel_r in (0.30, 0.34):
            for wheelbase in range(len(_WHEELBASES)):
                for bar in range(len(_BARS)):
                    for pack in (False, True):
                        _cyclist_template(crank, wheel_r, wheelbase, bar, pack)
    for lean in range(3):
        _sitting_template(lean)
