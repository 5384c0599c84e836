"""Occlusion-aware object paste ("ground-truth sampling" that a scanner could have produced).

SECOND-style sampling (Yan et al. 2018; OpenPCDet's defaults: fill each class up to 15
objects, at least 5 points, KITTI difficulty known) draws objects from the ground-truth
database, rejects placements whose BEV box collides with an existing or already pasted box, and
pastes. Then, unlike SECOND, visibility is resolved in the range image (`ScannerModel` rays):

1. placement: the object is rotated about the sensor's z axis by a whole number of columns
   (an azimuth shift: the sensor sees the very same surface, on the same beams and firings, so
   this is exact and is always drawn), and with probability ``range_change_prob`` also moved
   radially (range x s): the only approximate step, resampled below;
2. the scene points inside the pasted boxes go (the space is now solid);
3. resampling: each object point is a footprint on the sphere (its beam's share of elevation
   and one column of azimuth at its source range); at the new range r' the footprint scales by
   r_source / r' and the object's new points are the rays (beam cone k, column centre c) the
   footprints cover, at the footprint's distance. Farther objects cover fewer rays, so they keep
   fewer points (about (r / r')^2), exactly as a real scan; closer ones cover more rays but gain
   no new detail. Every output point lies on a beam cone at a column centre;
4. per ray the nearest surface wins: scene points behind a pasted point in the same cell are
   removed, pasted points behind a scene surface are removed, pasted objects occlude each other;
   a pasted return too weak to detect at its new range (`intensity.DETECTION_FLOOR`) is lost but
   still blocks the ray;
5. objects left with fewer than ``min_visible_points`` points, or that would hide points of a
   labelled object (``protect_labels``), are withdrawn and the rest is resolved again.

``physical=False`` is the naive paste the field uses: rigid move, points inside the boxes
removed, object points appended, nothing occluded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numba
import numpy as np

from perception3d.data.gt_database import GtDatabase
from perception3d.data.sample import LidarSample
from perception3d.geometry.boxes import points_in_boxes
from perception3d.lidar.intensity import DETECTION_FLOOR, apparent_reflectivity, return_power
from perception3d.lidar.placement import (
    points_in_pasted_boxes,
    propose_placements,
    select_placements,
    transform_object_points,
)
from perception3d.lidar.sample_ops import replace_points
from perception3d.lidar.scanner import ScannerModel, _row_of

__all__ = ["PasteConfig", "PasteObjects", "paste_objects"]

_MAX_RESOLVE_PASSES = 6


@dataclass(frozen=True)
class PasteConfig:
    """Object paste settings (``augmentation.physical.paste`` in the training YAML).

    Attributes:
        database: folder written by ``perception3d create-db`` (None: paste disabled).
        sample_counts: per class, fill the frame up to this many objects (OpenPCDet KITTI
            PointPillars/SECOND: 15 each).
        min_points: per class, database objects with fewer points are never drawn (OpenPCDet: 5).
        difficulties: KITTI difficulty levels allowed (0 easy, 1 moderate, 2 hard).
        max_occluded: highest KITTI occlusion level drawn (an occluded object pasted elsewhere
            would look cut by an occluder that is not there).
        physical: resolve visibility and resample on the beams; False = naive paste.
        placement: "original" (SECOND: where it was in its own frame), "rotate" (azimuth shift
            only), "rotate_and_range" (azimuth shift, sometimes a range change).
        range_change_prob: probability of a range change (placement "rotate_and_range").
        range_scale: (min, max) factor on the object's horizontal range, log-uniform.
        max_range_m: no placement farther than this (horizontal, metres).
        max_attempts: placements tried per drawn object before giving it up.
        min_visible_points: pasted objects with fewer visible points are withdrawn.
        protect_labels: withdraw pasted objects that would hide points of labelled objects.
        azimuth_limits_deg: (min, max) azimuth range for placements (e.g. the camera's field of
            view); always limited to the azimuths the sweep covers.
    """

    database: Path | None = None
    sample_counts: dict[str, int] = field(
        default_factory=lambda: {"Car": 15, "Pedestrian": 15, "Cyclist": 15}
    )
    min_points: dict[str, int] = field(
        default_factory=lambda: {"Car": 5, "Pedestrian": 5, "Cyclist": 5}
    )
    difficulties: tuple[int, ...] = (0, 1, 2)
    max_occluded: int = 1
    physical: bool = True
    placement: Literal["original", "rotate", "rotate_and_range"] = "rotate_and_range"
    range_change_prob: float = 0.3
    range_scale: tuple[float, float] = (0.7, 1.4)
    max_range_m: float = 70.0
    max_attempts: int = 4
    min_visible_points: int = 5
    protect_labels: bool = True
    azimuth_limits_deg: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.range_change_prob <= 1.0:
            raise ValueError(f"range_change_prob must be in [0, 1], got {self.range_change_prob}")
        lo, hi = self.range_scale
        if not 0.0 < lo <= hi:
            raise ValueError(f"range_scale must be 0 < min <= max, got {self.range_scale}")
        if self.max_attempts < 1 or self.min_visible_points < 0 or self.max_range_m <= 0:
            raise ValueError("max_attempts >= 1, min_visible_points >= 0, max_range_m > 0")
        if any(v < 0 for v in self.sample_counts.values()):
            raise ValueError(f"sample_counts must be >= 0, got {self.sample_counts}")
        if self.placement not in ("original", "rotate", "rotate_and_range"):
            raise ValueError(f"placement must be original|rotate|rotate_and_range, "
                             f"got {self.placement!r}")  # fmt: skip


@numba.njit(cache=True)
def _splat_kernel(x, y, z, r_src, d_src, row_src, obj, alive, tan_t, heads, mid_t, mid_h,
                  width, best_range, best_src, best_d):  # fmt: skip
    """Footprint of every moved object point onto the rays; per cell the nearest wins.

    x, y, z: (P,) moved points; r_src, d_src: (P,) range and horizontal distance where the
    point was scanned; row_src: (P,) its beam there; obj: (P,) object id; alive: (O,) bool.
    best_*: (H * W,) z-buffer (range, point index, horizontal distance), updated in place.
    """
    num_beams = tan_t.shape[0]
    for i in range(x.shape[0]):
        if not alive[obj[i]]:
            continue
        d = np.sqrt(x[i] * x[i] + y[i] * y[i])
        if d < 1e-6:
            continue
        scale = r_src[i] / np.sqrt(d * d + z[i] * z[i])  # angular size now / at the source
        k0, d0 = row_src[i], d_src[i]
        here = np.arctan(tan_t[k0] + heads[k0] / d0)
        up = np.arctan(tan_t[k0 - 1] + heads[k0 - 1] / d0) - here if k0 > 0 else -1.0
        down = here - np.arctan(tan_t[k0 + 1] + heads[k0 + 1] / d0) if k0 < num_beams - 1 else -1.0
        if up < 0.0:
            up = down
        if down < 0.0:
            down = up
        if up < 0.0:  # a single beam
            up, down = np.pi, np.pi
        elev = np.arctan2(z[i], d)
        elev_hi, elev_lo = elev + 0.5 * scale * up, elev - 0.5 * scale * down
        gamma = 0.5 * (1.0 - np.arctan2(y[i], x[i]) / np.pi) * width  # continuous column
        col_lo = int(np.floor(gamma - 0.5 * scale - 0.5)) + 1
        col_hi = int(np.floor(gamma + 0.5 * scale - 0.5))
        if col_hi < col_lo:
            continue
        # the covered beams are a run around the beam nearest to the point: walk up, then down
        nearest = _row_of(x[i], y[i], z[i], mid_t, mid_h)
        for direction in (-1, 1):
            k = nearest if direction == -1 else nearest + 1
            while 0 <= k < num_beams:
                beam_elev = np.arctan(tan_t[k] + heads[k] / d)
                if beam_elev > elev_hi or beam_elev <= elev_lo:
                    break
                z_ray = d * tan_t[k] + heads[k]
                range_ray = np.sqrt(d * d + z_ray * z_ray)
                for c in range(col_lo, col_hi + 1):
                    cell = k * width + c % width
                    if range_ray < best_range[cell] or (
                        range_ray == best_range[cell] and i < best_src[cell]
                    ):
                        best_range[cell], best_src[cell], best_d[cell] = range_ray, i, d
                k += direction


@numba.njit(cache=True)
def _cell_min_kernel(cell, range_m, keep, out):
    """out[cell] = min range of the kept points in each cell (out pre-filled with inf)."""
    for i in range(cell.shape[0]):
        if keep[i] and range_m[i] < out[cell[i]]:
            out[cell[i]] = range_m[i]


def paste_objects(
    sample: LidarSample,
    database: GtDatabase,
    scanner: ScannerModel,
    config: PasteConfig,
    rng: np.random.Generator,
    pools: dict[str, np.ndarray] | None = None,
) -> LidarSample:
    """Paste database objects into ``sample`` (see the module docstring for the physics).

    Args:
        sample: the scene; its points are (N, C) LiDAR frame, C >= 4 (pasted points get 0 in
            the columns beyond intensity).
        database: the ground-truth database.
        scanner: the ray pattern of the sensor that scanned ``sample``.
        config: paste settings.
        rng: the only source of randomness.
        pools: per class, the database indices allowed (default: from ``config``'s filters).

    Returns:
        A new sample with the pasted boxes appended to ``boxes_lidar``/``names`` and extras
        ``pasted_mask`` (N',) bool (per point) and ``pasted_database_index`` (tuple of K
        ints). The input itself when nothing is to be drawn (every class already full).
    """
    if pools is None:
        pools = _class_pools(database, config)
    chosen = []
    for name, target in config.sample_counts.items():
        pool = pools.get(name, np.zeros(0, np.int64))
        need = min(target - int(np.sum(sample.names == name)), len(pool))
        if need > 0:
            chosen.append(rng.choice(pool, size=need, replace=False))
    if not chosen:
        return sample
    chosen = np.concatenate(chosen)
    points, boxes = sample.points, sample.boxes_lidar
    rows_s, cols_s, range_s = scanner.cells(points)
    slot, phi, scale, new, valid = propose_placements(
        database, chosen, boxes, scanner, scanner.scanned_columns(cols_s), config, rng
    )
    accepted = select_placements(slot, new, valid, len(chosen))
    db_index, new_boxes = chosen[slot[accepted]], new[accepted]
    moved = [
        transform_object_points(
            database.object_points(k), database.boxes_lidar[k], phi[p], scale[p]
        )
        for k, p in zip(db_index, accepted)
    ]
    in_box = points_in_pasted_boxes(points, cols_s, new_boxes, scanner)  # boxes never overlap
    if not config.physical or len(accepted) == 0:
        added = np.concatenate(moved) if moved else np.zeros((0, 4))
        return _assemble(sample, in_box < 0, added.astype(points.dtype), database, db_index,
                         new_boxes)  # fmt: skip
    return _resolve(sample, database, scanner, db_index, new_boxes, moved, in_box, config,
                    (rows_s, cols_s, range_s))  # fmt: skip


def _resolve(sample, database, scanner, db_index, new_boxes, moved, in_box, config, cells):
    """Steps 3-5 of the module docstring; returns the assembled sample."""
    rows_s, cols_s, range_s = cells
    width, num_cells = scanner.width, scanner.num_beams * scanner.width
    cell_s = rows_s * width + cols_s
    num_obj = len(db_index)
    src = [database.object_points(k) for k in db_index]
    all_src = np.concatenate(src) if src else np.zeros((0, 4), np.float32)
    all_moved = np.concatenate(moved) if moved else np.zeros((0, 4))
    obj = np.repeat(np.arange(num_obj), [len(s) for s in src])
    r_src = np.linalg.norm(all_src[:, :3].astype(np.float64), axis=1)
    d_src = np.hypot(all_src[:, 0].astype(np.float64), all_src[:, 1].astype(np.float64))
    row_src = scanner.rows(all_src)
    xyz = [np.ascontiguousarray(all_moved[:, k]) for k in range(3)]
    alive = np.ones(num_obj, bool)
    for _ in range(_MAX_RESOLVE_PASSES):
        scene_keep = ~((in_box >= 0) & alive[np.maximum(in_box, 0)])
        scene_min = np.full(num_cells, np.inf)
        _cell_min_kernel(cell_s, range_s, scene_keep, scene_min)
        best_range, best_src = np.full(num_cells, np.inf), np.full(num_cells, -1, np.int64)
        best_d = np.zeros(num_cells)
        _splat_kernel(*xyz, r_src, d_src, row_src, obj, alive, scanner.tan_elevation,
                      scanner.head_height_m, *scanner.midlines, width, best_range,
                      best_src, best_d)  # fmt: skip
        cells = np.flatnonzero(best_src >= 0)
        cells = cells[best_range[cells] < scene_min[cells]]  # the ray stops at the object
        occupied = np.zeros(num_cells, bool)
        occupied[cells] = True
        hidden = scene_keep & occupied[cell_s]
        winner = best_src[cells]
        refl = apparent_reflectivity(all_src[winner, 3], r_src[winner])
        detected = return_power(refl, best_range[cells]) >= DETECTION_FLOOR
        counts = np.bincount(obj[winner[detected]], minlength=num_obj)
        drop = alive & (counts < config.min_visible_points)
        if config.protect_labels and hidden.any() and len(sample.boxes_lidar):
            hidden_idx = np.flatnonzero(hidden)
            labelled = points_in_boxes(sample.points[hidden_idx], sample.boxes_lidar) >= 0
            culprit_cells = cell_s[hidden_idx[labelled]]
            drop[obj[best_src[culprit_cells]]] = True
        if not drop.any():
            break
        alive &= ~drop
    emitted = cells[detected]
    rows, cols = emitted // width, emitted % width
    order = np.lexsort((emitted, obj[best_src[emitted]]))  # by object, then row-major
    rows, cols, emitted = rows[order], cols[order], emitted[order]
    xyz_new = scanner.ray_points(rows, cols, best_d[emitted])
    added = np.concatenate([xyz_new, all_src[best_src[emitted], 3:4]], axis=1)
    keep = scene_keep & ~hidden
    return _assemble(sample, keep, added.astype(sample.points.dtype), database, db_index[alive],
                     new_boxes[alive])  # fmt: skip


def _assemble(sample, keep, added, database, db_index, new_boxes):
    """The output sample: kept scene points, then the pasted points; pasted boxes appended."""
    out = replace_points(
        sample,
        keep,
        added,
        {"pasted_mask": np.ones(len(added), bool)},
        boxes_lidar=np.concatenate([sample.boxes_lidar, new_boxes]),
        names=np.concatenate([sample.names.astype(object), database.names[db_index]]),
    )
    extras = dict(out.extras)  # a tuple, so it is never mistaken for per-point data
    extras["pasted_database_index"] = tuple(int(k) for k in db_index)
    return out.with_(extras=extras)


def _class_pools(database: GtDatabase, config: PasteConfig) -> dict[str, np.ndarray]:
    return {
        name: database.select(
            name, config.min_points.get(name, 0), config.difficulties, config.max_occluded
        )
        for name in config.sample_counts
    }


@dataclass(frozen=True, eq=False)
class PasteObjects:
    """The paste as a pipeline transform: ``PasteObjects(db, scanner, config)(sample, rng)``."""

    database: GtDatabase
    scanner: ScannerModel
    config: PasteConfig

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pools", _class_pools(self.database, self.config))

    def __call__(self, sample: LidarSample, rng: np.random.Generator) -> LidarSample:
        return paste_objects(sample, self.database, self.scanner, self.config, rng, self._pools)
