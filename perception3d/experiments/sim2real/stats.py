"""Every statistic of one sweep, as histograms on fixed bins (summed over a set afterwards).

All statistics use the points in camera 2's field of view (see `sweeps.py`), except the
vertical curve of the road ahead (``ground.curve_per_m``, `ground.curve_ahead`), which needs
the near ground all around the car. Bins:

- ``range``: range of every return (0-80 m, 2 m bins);
- ``height_above_ground``: height of the returns standing more than 0.25 m above the fitted
  ground (0.25-4.25 m, 0.1 m);
- ``ground_cell_height``: z of the ground under each 2 m cell (`ground.py`; -2.5 to -1.0 m,
  0.05 m);
- ``range_noise``: range error along the ray on planar patches (`noise.py`; +-0.3 m, 1 cm);
- ``intensity/ground``, ``intensity/standing``, ``intensity/background``: reflectivity of the
  ground returns (within 0.15 m of the plane), of the standing returns, and (labelled frames)
  of the returns outside every label box (`objects.INTENSITY_EDGES`: exactly 0, 0.01-0.04,
  then 0.05 wide to 1);
- ``empty_per_beam``, ``counted_per_beam``: empty and counted range-image cells per beam
  (`raydrop.py`);
- ``holes_vs_range``, ``returns_vs_range``, ``holes_vs_incidence``, ``returns_vs_incidence``:
  holes and returns per range bin (`raydrop.RANGE_EDGES_M`) and incidence bin (0-90 degrees,
  10 degrees).

Objects (labelled frames): per label box of Car, Pedestrian, Cyclist within 60 m, its distance,
point count, the histograms of its points' intensities and heights in the box, its clearance
to the standing returns around it and their count within 2 m, the returns over it (0.3-6 m
above its top, `objects.py`), its neighbours of
the same class and, for a car, how its nearest car stands (`neighbours.py`; counted among every
labelled box of the class, from the label boxes alone).
"""

from __future__ import annotations

import numpy as np

from perception3d.experiments.sim2real import raydrop
from perception3d.experiments.sim2real.divergence import histogram
from perception3d.experiments.sim2real.ground import curve_ahead, fit_ground, height_above
from perception3d.experiments.sim2real.neighbours import frame_neighbours
from perception3d.experiments.sim2real.noise import NOISE_EDGES_M, planar_range_errors
from perception3d.experiments.sim2real.objects import (
    HEIGHT_EDGES,
    INTENSITY_EDGES,
    object_overhead,
    object_points,
    object_surroundings,
)
from perception3d.experiments.sim2real.sweeps import RANGE_IMAGE_WIDTH, Sweep
from perception3d.geometry.boxes import points_in_boxes

__all__ = ["EDGES", "OBJECT_CLASSES", "sweep_statistics"]

OBJECT_CLASSES = ("Car", "Pedestrian", "Cyclist")
EDGES = {
    "range": np.arange(0.0, 80.1, 2.0),
    "height_above_ground": np.arange(0.25, 4.26, 0.1),
    "ground_cell_height": np.arange(-2.5, -0.99, 0.05),
    "range_noise": NOISE_EDGES_M,
    "intensity/ground": INTENSITY_EDGES,
    "intensity/standing": INTENSITY_EDGES,
    "intensity/background": INTENSITY_EDGES,
    "holes_vs_range": raydrop.RANGE_EDGES_M,
    "returns_vs_range": raydrop.RANGE_EDGES_M,
    "holes_vs_incidence": raydrop.INCIDENCE_EDGES_DEG,
    "returns_vs_incidence": raydrop.INCIDENCE_EDGES_DEG,
}
_MAX_OBJECT_DISTANCE_M = 60.0


def _ray_drop(sweep: Sweep, counted: np.ndarray) -> dict[str, np.ndarray]:
    img = raydrop.range_image(sweep.points, sweep.rows, RANGE_IMAGE_WIDTH)
    valid = img.mask & counted
    holes, hole_range = raydrop.find_holes(img.range_m.astype(np.float64), img.mask)
    holes &= counted
    inc = raydrop.incidence_deg(img, sweep.points)
    # a hole's incidence: that of the return left of it (the nearest within 2 columns)
    left, has_left = raydrop._nearest_valid(img.mask, -1)
    rows = np.arange(img.height)[:, None]
    hole_inc = np.where(has_left, inc[rows, np.maximum(left, 0)], np.nan)
    return {
        "empty_per_beam": (counted & ~img.mask).sum(axis=1).astype(np.float64),
        "counted_per_beam": counted.sum(axis=1).astype(np.float64),
        "holes_vs_range": histogram(hole_range[holes], raydrop.RANGE_EDGES_M),
        "returns_vs_range": histogram(img.range_m[valid], raydrop.RANGE_EDGES_M),
        "holes_vs_incidence": histogram(hole_inc[holes], raydrop.INCIDENCE_EDGES_DEG),
        "returns_vs_incidence": histogram(inc[valid], raydrop.INCIDENCE_EDGES_DEG),
    }


def sweep_statistics(sweep: Sweep, counted: np.ndarray) -> dict:
    """The statistics of one sweep (see the module docstring).

    Args:
        sweep: the frame.
        counted: (64, W) bool, the range-image cells of its camera field of view
            (`raydrop.counted_cells` with its calibration).

    Returns:
        ``{"frame_id", "labelled", "ground": {height_m, slope_deg, pitch_deg, roll_deg,
        curve_per_m},
        "hist": {key: (B,) float64 counts}, "objects": [...]}``.
    """
    fov = sweep.fov_points
    ground = fit_ground(fov)
    height = height_above(fov, ground)
    standing = height > 0.25
    hist = {
        "range": histogram(np.linalg.norm(fov[:, :3], axis=1), EDGES["range"]),
        "height_above_ground": histogram(height[standing], EDGES["height_above_ground"]),
        "ground_cell_height": histogram(ground.cell_heights_m, EDGES["ground_cell_height"]),
        "range_noise": histogram(planar_range_errors(fov), NOISE_EDGES_M),
        "intensity/ground": histogram(fov[np.abs(height) < 0.15, 3], INTENSITY_EDGES),
        "intensity/standing": histogram(fov[standing, 3], INTENSITY_EDGES),
    }
    hist.update(_ray_drop(sweep, counted))
    objects = []
    if sweep.labelled:
        keep = np.isin(sweep.names.astype(str), OBJECT_CLASSES)
        boxes, names = sweep.boxes_lidar[keep], sweep.names[keep]
        outside = points_in_boxes(fov[:, :3], sweep.boxes_lidar) < 0
        hist["intensity/background"] = histogram(fov[outside, 3], INTENSITY_EDGES)
        around = zip(
            *object_surroundings(fov, boxes),
            object_overhead(fov, boxes),
            *frame_neighbours(boxes, names, OBJECT_CLASSES),
            strict=True,
        )
        for row, (clear_m, clutter, overhead, neighbours, side) in zip(
            object_points(fov, boxes, names), around, strict=True
        ):
            if row["distance_m"] <= _MAX_OBJECT_DISTANCE_M:
                row["clearance_m"], row["clutter"] = float(clear_m), int(clutter)
                row["overhead"] = int(overhead)
                row["neighbours"], row["side_by_side"] = int(neighbours), float(side)
                row["intensity"] = histogram(row["intensity"], INTENSITY_EDGES)
                row["height_in_box"] = histogram(row["height_in_box"], HEIGHT_EDGES)
                objects.append(row)
    return {
        "frame_id": sweep.frame_id,
        "labelled": sweep.labelled,
        "ground": {
            "height_m": ground.height_m,
            "slope_deg": ground.slope_deg,
            "pitch_deg": ground.pitch_deg,
            "roll_deg": ground.roll_deg,
            # the whole sweep: the field of view alone holds too little near ground behind
            # and beside the car to tell the road's slope from its curve
            "curve_per_m": curve_ahead(sweep.points),
        },
        "ground_coeffs": ground.coeffs,
        "hist": hist,
        "objects": objects,
    }
