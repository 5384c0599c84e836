"""Random labelled-class objects: size, shape and materials of one car, van, truck, pedestrian
or cyclist, in the object frame (x forward, y left, z up, origin at the bottom centre).

Sizes (metres, l x w x h): the issue's KITTI class statistics (Car about 3.9 x 1.6 x 1.5,
Pedestrian 0.8 x 0.7 x 1.8, Cyclist 1.8 x 0.6 x 1.7) set the means; body-type spreads are
typical European model ranges. Pedestrian and cyclist label boxes are the mesh's tight box plus
a padding (``LabelConfig``), as KITTI's annotators drew them looser than the body.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception3d.sim import materials as mat
from perception3d.sim.config import LabelConfig
from perception3d.sim.people import cyclist_mesh, pedestrian_mesh
from perception3d.sim.semantics import SEMANTIC_ID
from perception3d.sim.vehicles import vehicle_mesh
from perception3d.sim.world import Surface

__all__ = ["KIND_LABEL", "ObjectModel", "sample_object"]

KIND_LABEL = {
    "sedan": "Car",
    "hatchback": "Car",
    "suv": "Car",
    "van": "Van",
    "truck": "Truck",
    "pedestrian": "Pedestrian",
    "cyclist": "Cyclist",
}
_SEMANTIC = {
    "Car": "car",
    "Van": "van",
    "Truck": "truck",
    "Pedestrian": "pedestrian",
    "Cyclist": "cyclist",
}

# (mean, std) of length, width, height per vehicle body, metres.
_VEHICLE_SIZES = {
    "sedan": ((4.10, 0.20), (1.68, 0.05), (1.44, 0.05)),
    "hatchback": ((3.65, 0.22), (1.60, 0.05), (1.48, 0.05)),
    "suv": ((4.30, 0.22), (1.76, 0.05), (1.68, 0.06)),
    "van": ((4.90, 0.30), (1.90, 0.06), (2.10, 0.12)),
}


@dataclass(frozen=True)
class ObjectModel:
    """An object before placement.

    Attributes:
        kind: body type; label: its KITTI type.
        size: (l, w, h) of the label box, metres (the mesh is centred in it).
        surface: mesh (object frame) with materials and semantics.
    """

    kind: str
    label: str
    size: tuple[float, float, float]
    surface: Surface


def _normal(rng, mean_std, lo_hi) -> float:
    return float(np.clip(rng.normal(*mean_std), *lo_hi))


def sample_object(
    kind: str, rng: np.random.Generator, labels: LabelConfig, lights_on: bool = False
) -> ObjectModel:
    """A random object of body type ``kind`` (a key of :data:`KIND_LABEL`).

    Raises:
        ValueError: unknown kind.
    """
    if kind not in KIND_LABEL:
        raise ValueError(f"kind must be one of {tuple(KIND_LABEL)}, got {kind!r}")
    label = KIND_LABEL[kind]
    pad = (0.0, 0.0)
    if kind in _VEHICLE_SIZES:
        (lm, wm, hm) = _VEHICLE_SIZES[kind]
        size = (
            _normal(rng, lm, (2.8, 6.0)),
            _normal(rng, wm, (1.4, 2.1)),
            _normal(rng, hm, (1.2, 2.6)),
        )
        mesh = vehicle_mesh(kind, *size)
        materials = mat.vehicle_materials(rng, lights_on)
    elif kind == "truck":
        size = (
            float(rng.uniform(6.5, 11.0)),
            _normal(rng, (2.5, 0.05), (2.3, 2.6)),
            float(rng.uniform(2.8, 3.6)),
        )
        mesh = vehicle_mesh(kind, *size)
        materials = mat.vehicle_materials(rng, lights_on)
    elif kind == "pedestrian":
        height = _normal(rng, (1.74, 0.09), (1.45, 2.0))
        walking = rng.uniform() < 0.7
        mesh = pedestrian_mesh(
            height,
            walk_phase=float(rng.uniform()),
            stride=0.3 if walking else 0.0,
            shoulder_width=height * float(rng.uniform(0.22, 0.27)),
        )
        materials = mat.pedestrian_materials(rng)
        pad = labels.pedestrian_padding_m
    else:
        mesh = cyclist_mesh(
            _normal(rng, (1.75, 0.08), (1.5, 2.0)),
            float(rng.uniform()),
            float(rng.uniform(0.32, 0.36)),
            float(rng.uniform(0.98, 1.1)),
        )
        materials = mat.pedestrian_materials(rng)
        pad = labels.cyclist_padding_m
    if kind in ("pedestrian", "cyclist"):
        lo, hi = mesh.bounds
        size = (float(hi[0] - lo[0] + pad[0]), float(hi[1] - lo[1] + pad[1]), float(hi[2]))
    semantic = SEMANTIC_ID[_SEMANTIC[label]]
    surface = Surface(
        mesh, {p: materials[p] for p in mesh.part_names}, {p: semantic for p in mesh.part_names}
    )
    return ObjectModel(kind, label, tuple(float(s) for s in size), surface)
