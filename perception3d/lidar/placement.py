"""Where pasted objects go: placement proposals about the sensor, collision-free selection,
the rigid move of an object's points, and which scene points fall inside the pasted boxes.

A placement turns an object about the sensor's z axis by a whole number of range-image columns
(exact: the sensor sees the same surface on the same beams and firings) and, sometimes, moves
it radially by a range factor (approximate, resampled by `paste.py`). See `PasteConfig`.
"""

from __future__ import annotations

import numpy as np

from perception3d.geometry.boxes import points_in_boxes
from perception3d.geometry.iou import bev_iou_lidar

__all__ = [
    "column_span",
    "points_in_pasted_boxes",
    "propose_placements",
    "select_placements",
    "transform_object_points",
]


def propose_placements(database, chosen, boxes, scanner, scanned, config, rng):
    """Placement proposals: (P,) object slot, azimuth shift (rad), range scale, new boxes."""
    attempts = 1 if config.placement == "original" else config.max_attempts
    slot = np.repeat(np.arange(len(chosen)), attempts)
    box0 = database.boxes_lidar[chosen][slot]
    if config.placement == "original":
        phi, scale = np.zeros(len(slot)), np.ones(len(slot))
    else:
        phi = rng.integers(0, scanner.width, len(slot)) * scanner.azimuth_step_rad
        scale = np.ones(len(slot))
        if config.placement == "rotate_and_range":
            change = rng.random(len(slot)) < config.range_change_prob
            lo, hi = np.log(config.range_scale)
            scale = np.where(change, np.exp(rng.uniform(lo, hi, len(slot))), 1.0)
    dist0 = np.hypot(box0[:, 0], box0[:, 1])
    scale = np.minimum(scale, config.max_range_m / np.maximum(dist0, 1e-6))
    azimuth = np.arctan2(box0[:, 1], box0[:, 0]) + phi
    new = box0.copy()
    new[:, 0], new[:, 1] = dist0 * scale * np.cos(azimuth), dist0 * scale * np.sin(azimuth)
    new[:, 6] = (box0[:, 6] + phi + np.pi) % (2 * np.pi) - np.pi
    # Every column the box spans must be scanned (and within the azimuth limits).
    valid = dist0 * scale > 0.5 * np.hypot(new[:, 3], new[:, 4]) + 1.0  # sensor not inside
    allowed = scanned.copy()
    if config.azimuth_limits_deg is not None:
        lo, hi = np.radians(config.azimuth_limits_deg)
        col_az = scanner.column_azimuth(np.arange(scanner.width))
        allowed &= (col_az >= lo) & (col_az <= hi)
    blocked = np.concatenate([[0], np.cumsum(np.tile(~allowed, 2))])  # circular prefix sums
    first, span = column_span(new, scanner)
    valid &= blocked[np.minimum(first + span, 2 * scanner.width)] - blocked[first] == 0
    if len(new):
        valid &= ~(bev_iou_lidar(new, boxes) > 0).any(axis=1) if len(boxes) else True
    return slot, phi, scale, new, valid


def column_span(boxes, scanner):
    """First column (highest azimuth) and number of columns each box's BEV circle spans."""
    dist = np.maximum(np.hypot(boxes[:, 0], boxes[:, 1]), 1e-9)
    half_width = np.arcsin(np.minimum(0.5 * np.hypot(boxes[:, 3], boxes[:, 4]) / dist, 1.0))
    azimuth = np.arctan2(boxes[:, 1], boxes[:, 0])
    highest = np.pi - (np.pi - azimuth - half_width) % (2 * np.pi)  # wrapped into (-pi, pi]
    first = scanner.columns(highest)  # columns grow as azimuth falls: the box's first column
    return first, np.ceil(2 * half_width / scanner.azimuth_step_rad).astype(np.int64) + 2


def select_placements(slot, new, valid, num_slots):
    """Greedy: per drawn object, its first valid proposal not colliding with accepted ones."""
    pair = bev_iou_lidar(new, new) > 0 if len(new) else np.zeros((0, 0), bool)
    accepted: list[int] = []
    for s in range(num_slots):
        for p in np.flatnonzero((slot == s) & valid):
            if not accepted or not pair[p, accepted].any():
                accepted.append(int(p))
                break
    return np.asarray(accepted, dtype=np.int64)


def points_in_pasted_boxes(points, cols, boxes, scanner):
    """(N,) index of the pasted box holding each point (-1: none), testing only the points of
    the columns the boxes span (a few percent of a sweep)."""
    first, span = column_span(boxes, scanner)
    marks = np.zeros(scanner.width, bool)
    for f, n in zip(first, span):
        marks[np.arange(f - 1, f + n) % scanner.width] = True
    candidates = np.flatnonzero(marks[cols])
    index = np.full(len(points), -1, np.int64)
    if len(candidates) and len(boxes):
        index[candidates] = points_in_boxes(points[candidates], boxes)
    return index


def transform_object_points(points, box0, phi, scale):
    """Rotate points about z by phi, then shift them radially with their box centre."""
    c, s = np.cos(phi), np.sin(phi)
    out = points.astype(np.float64)
    x, y = out[:, 0].copy(), out[:, 1].copy()
    out[:, 0], out[:, 1] = c * x - s * y, s * x + c * y
    dist0, azimuth = np.hypot(box0[0], box0[1]), np.arctan2(box0[1], box0[0]) + phi
    out[:, 0] += (scale - 1.0) * dist0 * np.cos(azimuth)
    out[:, 1] += (scale - 1.0) * dist0 * np.sin(azimuth)
    return out
