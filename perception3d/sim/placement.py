"""Placing objects in a road layout: on the ground, along lanes or crossing, without
collisions, with parked rows, pedestrian groups and crowds as occlusion-rich hard cases.

Per frame, the number of objects of each class is Poisson with the configured means, separately
for the camera's field of view (where the in-view range follows the configured histogram), the
rest of the 360-degree sweep, and far traffic in view beyond the histogram (``far_range_m``,
beyond the labels' ``max_distance_m``: KITTI's DontCare rows). Every object goes to a *slot*
suited to its class (a driving lane, a parking lane, the cross street, a sidewalk, across the
road, the road edge for bikes); a candidate whose BEV box (grown by ``min_gap_m``) overlaps
anything placed before, a pole, a tree or the ego car is redrawn, up to 30 times. All in the
road frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from perception3d.geometry.iou import bev_iou_lidar
from perception3d.sim.config import OBJECT_CLASSES, LabelConfig, ObjectsConfig
from perception3d.sim.lots import place_lot_cars
from perception3d.sim.objects import ObjectModel, sample_class_object
from perception3d.sim.placement_together import place_bays, place_crowd
from perception3d.sim.world import RoadLayout

__all__ = ["PlacedObject", "place_objects"]

_TRIES = 30
_OUT_OF_VIEW_RANGE_M = (4.0, 70.0)
_KERB_GAP_M = (0.05, 0.45)  # a vehicle's outer side inside the road edge beside a kerb strip
_KERB_IN_LANE = 0.3  # share of the people beside a kerb strip who walk in its parking lane
_KERB_CLEAR_M = 0.45  # a person beside a kerb strip stands at least this inside the road edge


def _outwards(side: int) -> float:
    """The sign of road-frame y pointing away from the road on ``side`` (0 right, 1 left)."""
    return -1.0 if side == 0 else 1.0


@dataclass(frozen=True)
class PlacedObject:
    """An object and its label box in the road frame ([x, y, z, l, w, h, heading], centre)."""

    model: ObjectModel
    box_road: np.ndarray


class _Placer:
    def __init__(
        self,
        cfg: ObjectsConfig,
        labels: LabelConfig,
        layout: RoadLayout,
        in_view: Callable[[np.ndarray], bool],
        rng: np.random.Generator,
        night: bool,
    ):
        self.cfg, self.labels, self.layout, self.in_view = cfg, labels, layout, in_view
        self.rng, self.night = rng, night
        self.occupied = np.asarray(layout.obstacles, np.float64).reshape(-1, 7)
        self.placed: list[PlacedObject] = []
        self.far = False  # the far pass: in view, beyond the histogram (KITTI's DontCare)

    # -- sampling helpers --------------------------------------------------------------------
    def model(self, label: str, lights: bool) -> ObjectModel:
        return sample_class_object(label, self.rng, self.cfg, self.labels, lights)

    def range_m(self, in_view: bool) -> float:
        if self.far:
            return float(self.rng.uniform(*self.cfg.far_range_m))
        if not in_view:
            return float(self.rng.uniform(*_OUT_OF_VIEW_RANGE_M))
        w = np.asarray(self.cfg.distance_weights, np.float64)
        k = self.rng.choice(len(w), p=w / w.sum())
        return float(self.rng.uniform(self.cfg.distance_bins_m[k], self.cfg.distance_bins_m[k + 1]))

    def ground_z(self, y: float, x: float) -> float:
        lay = self.layout
        on_walk = any(min(a, b) <= y <= max(a, b) for a, b in lay.sidewalks)
        if lay.intersection is not None and abs(x - lay.intersection[0]) < lay.intersection[1] / 2:
            on_walk = False
        return lay.curb_height if on_walk else 0.0

    def slot(self, label: str, r: float, forward: bool) -> tuple[float, float, float] | None:
        """(x, y, heading) for an object of `label` at range about r, or None."""
        rng, lay = self.rng, self.layout
        choice = rng.uniform()
        if label in ("Car", "Van", "Truck", "Tram", "Misc"):
            if label != "Misc" and lay.intersection is not None and choice < 0.12:
                xc, wc = lay.intersection
                x = xc + rng.choice([-1, 1]) * wc / 4
                y2 = r * r - x * x
                if y2 <= 0:
                    return None
                return (
                    x,
                    float(np.sqrt(y2) * rng.choice([-1, 1])),
                    float(rng.choice([0.5, -0.5]) * np.pi),
                )
            parked = 0.55 if label != "Misc" else 0.9
            if label == "Tram":
                parked = 0.0
            rows = lay.parking if (len(lay.parking) and choice < parked) else lay.lanes
            k = rng.integers(len(rows))
            y, heading = rows[k]
            if rows is lay.parking:
                heading -= self.bay_rad(k)
                if rng.uniform() < 0.2:
                    heading += np.pi
            y += rng.normal(0, 0.15)
            heading += rng.normal(0, 0.03)
        elif label == "Person_sitting":  # on a bench by the frontage, facing the road
            side = int(rng.integers(2))
            if lay.kerbside[side]:  # a kerb strip: no bench
                return None
            y = lay.sidewalks[side, 1] + (0.7 if side == 0 else -0.7)
            heading = (np.pi / 2 if side == 0 else -np.pi / 2) + rng.normal(0, 0.1)
        elif label == "Pedestrian" or choice < 0.15:
            crossing = choice < self.cfg.crossing_probability
            if crossing and len(lay.crosswalks) and rng.uniform() < 0.6:  # on a zebra
                x0, x1 = lay.crosswalks[rng.integers(len(lay.crosswalks)), :2]
                y = rng.uniform(*lay.road_y)
                heading = rng.choice([0.5, -0.5]) * np.pi + rng.normal(0, 0.15)
                return float(rng.uniform(x0 + 0.4, x1 - 0.4)), float(y), float(heading)
            if crossing or (label == "Cyclist" and choice < 0.05):
                y = rng.uniform(*lay.road_y)
                heading = rng.choice([0.5, -0.5]) * np.pi + rng.normal(0, 0.2)
            else:
                side = int(rng.integers(2))
                if lay.kerbside[side]:  # a kerb strip: people walk in the road beside it
                    y = self.kerbside_walk_y(side)
                else:
                    lo, hi = sorted(lay.sidewalks[side])
                    y = rng.uniform(lo + 0.4, max(hi - 0.4, lo + 0.5))
                heading = (
                    rng.choice([0.0, np.pi]) + rng.normal(0, 0.3)
                    if rng.uniform() < 0.7
                    else rng.uniform(-np.pi, np.pi)
                )
        else:  # cyclists on the road edge of either direction
            side = rng.integers(2)
            lanes = lay.lanes[lay.lanes[:, 1] == (0.0 if side == 0 else np.pi)]
            if len(lanes) == 0:
                return None
            edge = lanes[:, 0].min() - 1.0 if side == 0 else lanes[:, 0].max() + 1.0
            y, heading = (
                edge + rng.normal(0, 0.2),
                (0.0 if side == 0 else np.pi) + rng.normal(0, 0.05),
            )
        if r <= abs(y) + 0.5:
            return None
        x = float(np.sqrt(r * r - y * y)) * (1.0 if forward else float(rng.choice([-1, 1])))
        return x, float(y), float(heading)

    def fits(self, box: np.ndarray) -> bool:
        grown = box.copy()
        grown[3:5] += self.cfg.min_gap_m
        occ = self.occupied
        # Only boxes whose circumcircles meet can overlap: test those exactly.
        reach = (np.hypot(grown[3], grown[4]) + np.hypot(occ[:, 3], occ[:, 4])) / 2
        near = np.hypot(occ[:, 0] - box[0], occ[:, 1] - box[1]) < reach
        return not near.any() or not (bev_iou_lidar(grown[None], occ[near]) > 0).any()

    def add(
        self, model: ObjectModel, x: float, y: float, heading: float, z: float | None = None
    ) -> PlacedObject | None:
        l, w, h = model.size
        if model.label in ("Car", "Van", "Truck", "Misc"):
            y = self.kerb_y(y, l, w, heading)
        z = self.ground_z(y, x) if z is None else z
        box = np.array([x, y, z + h / 2, l, w, h, heading])
        boxes = [box]
        if model.props_box is not None:  # e.g. the bench of a sitting person
            px, py, pl, pw = model.props_box
            c, s = np.cos(heading), np.sin(heading)
            centre = (x + c * px - s * py, y + s * px + c * py)
            boxes.append(np.array([*centre, z + 0.5, pl, pw, 1.0, heading]))
        if not all(self.fits(b) for b in boxes):
            return None
        self.occupied = np.vstack([self.occupied, *boxes])
        obj = PlacedObject(model, box)
        self.placed.append(obj)
        return obj

    def kerbside_walk_y(self, side: int) -> float:
        """Where a person walks beside a kerb strip (road frame y, m): with no sidewalk, in
        the parking lane between or behind the parked cars (probability
        ``_KERB_IN_LANE``), else along the road side of the parked cars, 0-0.8 m clear of a
        parked car's inner side (``fits`` keeps everyone off the cars)."""
        y_in, s = float(self.layout.sidewalks[side, 0]), _outwards(side)
        if self.rng.uniform() < _KERB_IN_LANE:
            return y_in - s * float(self.rng.uniform(_KERB_CLEAR_M, 1.9))
        return y_in - s * float(self.rng.uniform(2.6, 3.4))

    def off_the_kerb_strip(self, y: float) -> float:
        """``y`` (road frame, m) kept at least ``_KERB_CLEAR_M`` inside the road edge of a
        kerbside side, so a person never stands on the strip or in the frontage behind it."""
        for side, y_in in enumerate(self.layout.sidewalks[:, 0]):
            s = _outwards(side)
            if self.layout.kerbside[side] and s * (y - y_in) > -_KERB_CLEAR_M:
                return float(y_in - s * _KERB_CLEAR_M)
        return y

    def kerb_y(self, y: float, length: float, width: float, heading: float) -> float:
        """``y`` moved so that a vehicle parked beside a kerb strip keeps its outer side
        ``_KERB_GAP_M`` inside the road edge (the frontage stands behind the strip)."""
        half = (width * abs(np.cos(heading)) + length * abs(np.sin(heading))) / 2
        for side, y_in in enumerate(self.layout.sidewalks[:, 0]):
            s = _outwards(side)
            if not self.layout.kerbside[side] or not 0 < s * (y_in - y) < 2.5:
                continue
            gap = float(np.clip(s * (y_in - y) - half, *_KERB_GAP_M))
            return float(y_in - s * (gap + half))
        return y

    # -- strategies ------------------------------------------------------------------------
    def place_one(self, label: str, in_view: bool) -> bool:
        model = self.model(label, self.night)
        for _ in range(_TRIES):
            pose = self.slot(label, self.range_m(in_view), forward=in_view)
            if pose is None or self.in_view(np.array(pose[:2])) != in_view:
                continue
            if self.add(model, *pose) is not None:
                return True
        return False

    def bay_rad(self, k: int) -> float:
        """The angle of parking lane ``k``'s bays to the lane (0: cars nose to tail)."""
        bays = self.layout.parking_bay_rad
        return float(bays[k]) if k < len(bays) else 0.0

    def parked_row(self, budget: dict[str, int], in_view: bool) -> None:
        lay, rng = self.layout, self.rng
        k = rng.integers(len(lay.parking))
        y, heading = lay.parking[k]
        r = self.range_m(in_view)
        if r <= abs(y) + 0.5:
            return
        x = float(np.sqrt(r * r - y * y)) * (1.0 if in_view else float(rng.choice([-1, 1])))
        bay = self.bay_rad(k)
        if bay > 0:
            place_bays(self, budget, in_view, x, y, heading - bay, bay)
            return
        misses = 0
        for _ in range(int(rng.integers(3, 11))):
            label = self.parked_label(budget)
            if budget[label] <= 0 or self.in_view(np.array([x, y])) != in_view:
                return
            model = self.model(label, False)
            obj = self.add(
                model, x + model.size[0] / 2, y + rng.normal(0, 0.1), heading + rng.normal(0, 0.02)
            )
            if obj is None:  # a pole, a tree or another car: skip a space, give up after two
                misses += 1
                if misses > 2:
                    return
            else:
                budget[label] -= 1
            # Gaps between parked cars: mostly tight, sometimes a free space.
            gap = rng.uniform(0.4, 1.5) if rng.uniform() < 0.75 else rng.uniform(1.5, 6.0)
            x += model.size[0] + gap

    def parked_label(self, budget: dict[str, int]) -> str:
        """The class of the next parked vehicle: mostly a car, sometimes a van or a trailer."""
        u = self.rng.uniform()
        label = "Van" if u < 0.12 else ("Misc" if u < 0.15 else "Car")
        return label if budget.get(label, 0) > 0 else "Car"

    def range_weight(self, r: float, in_view: bool) -> float:
        """Relative density of the pass's range distribution at ``r`` (1 at its mode)."""
        if not in_view:
            lo, hi = _OUT_OF_VIEW_RANGE_M
            return float(lo <= r <= hi)
        bins, w = np.asarray(self.cfg.distance_bins_m), np.asarray(self.cfg.distance_weights)
        k = np.searchsorted(bins, r) - 1
        if not 0 <= k < len(w):
            return 0.0
        density = w / np.diff(bins)
        return float(density[k] / density.max())

    def driveways(self, budget: dict[str, int], in_view: bool) -> None:
        """Cars (or vans) standing in driveway openings, nose in or out; a driveway is used
        with ``driveway_probability`` times the pass's range density at its distance."""
        for x, y, heading, z in self.layout.driveways:
            p = self.cfg.driveway_probability * self.range_weight(float(np.hypot(x, y)), in_view)
            if self.rng.uniform() >= p:
                continue
            label = "Van" if budget.get("Van", 0) > 0 and self.rng.uniform() < 0.1 else "Car"
            if budget[label] <= 0 or self.in_view(np.array([x, y])) != in_view:
                continue
            heading += np.pi * (self.rng.uniform() < 0.5) + self.rng.normal(0, 0.05)
            if self.add(self.model(label, False), x, y, heading, z) is not None:
                budget[label] -= 1

    def group(self, size: int, in_view: bool) -> int:
        """A group of pedestrians around one anchor; returns how many were placed."""
        if not self.place_one("Pedestrian", in_view):
            return 0
        anchor = self.placed[-1].box_road
        count = 1
        for _ in range(size - 1):
            model = self.model("Pedestrian", False)
            for _ in range(10):
                x, y = anchor[:2] + self.rng.uniform(-1.6, 1.6, 2)
                y = self.off_the_kerb_strip(float(y))
                if self.in_view(np.array([x, y])) == in_view and self.add(
                    model, x, y, anchor[6] + self.rng.normal(0, 0.4)
                ):
                    count += 1
                    break
        return count


def place_objects(
    cfg: ObjectsConfig,
    labels: LabelConfig,
    layout: RoadLayout,
    in_view: Callable[[np.ndarray], bool],
    rng: np.random.Generator,
    night: bool = False,
) -> list[PlacedObject]:
    """Sample and place the frame's objects (road frame).

    Args:
        cfg: what to place; labels: box padding of pedestrians and cyclists.
        layout: lanes, sidewalks and obstacles of the frame.
        in_view: ``in_view((x, y))`` is True when a road-frame ground position is in the
            camera's field of view.
        rng: the frame's generator.
        night: moving vehicles get their lights on.

    Returns:
        The placed objects, in placement order.
    """
    placer = _Placer(cfg, labels, layout, in_view, rng, night)
    place_lot_cars(placer)  # no draw without lots: frames without them stay the same
    passes = (
        (True, False, cfg.mean_in_view),
        (False, False, cfg.mean_out_of_view),
        (True, True, cfg.mean_far),
    )
    for in_view_pass, placer.far, means in passes:
        budget = {c: int(rng.poisson(means.get(c, 0.0))) for c in OBJECT_CLASSES}
        if not placer.far:
            placer.driveways(budget, in_view_pass)
            for _ in range(len(layout.parking)):  # a row per parking lane, each by chance
                if rng.uniform() < cfg.parked_row_probability:
                    placer.parked_row(budget, in_view_pass)
            # Drawn only when enabled, so that frames without crowds stay the same.
            if in_view_pass and cfg.crowd_probability > 0:
                if rng.uniform() < cfg.crowd_probability:
                    place_crowd(placer, int(rng.integers(cfg.crowd_size[0], cfg.crowd_size[1] + 1)))
        for label in OBJECT_CLASSES:
            while budget[label] > 0:
                if label == "Pedestrian" and rng.uniform() < cfg.pedestrian_group_probability:
                    size = int(min(budget[label], rng.integers(2, cfg.max_group_size + 1)))
                    placer.group(size, in_view_pass)
                    budget[label] -= size
                    continue
                placer.place_one(label, in_view_pass)
                budget[label] -= 1
    return placer.placed
