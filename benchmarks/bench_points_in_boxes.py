"""points_in_boxes on a real 120k-point sweep with 30 boxes, vs a plain numpy reference."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import measure, report

from perception3d.data.kitti import read_velodyne
from perception3d.geometry.boxes import points_in_boxes

SWEEP = Path(__file__).parents[1] / "tests/data/kitti_samples/training/velodyne/004139.bin"


def numpy_reference(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Broadcast every point against every box in its local frame: (N, M) mask."""
    d = points[:, None, :3] - boxes[None, :, :3]
    c, s = np.cos(boxes[:, 6]), np.sin(boxes[:, 6])
    lx = d[..., 0] * c + d[..., 1] * s
    ly = -d[..., 0] * s + d[..., 1] * c
    return (
        (np.abs(lx) <= boxes[:, 3] / 2)
        & (np.abs(ly) <= boxes[:, 4] / 2)
        & (np.abs(d[..., 2]) <= boxes[:, 5] / 2)
    )


def main() -> dict:
    points = read_velodyne(SWEEP)
    rng = np.random.default_rng(0)
    boxes = np.concatenate(
        [
            rng.uniform([-40, -40, -1.5], [40, 40, -0.5], (30, 3)),
            rng.uniform([0.6, 0.6, 1.5], [4.5, 2.0, 2.0], (30, 3)),
            rng.uniform(-np.pi, np.pi, (30, 1)),
        ],
        axis=1,
    )
    ref = numpy_reference(points, boxes)
    if not np.array_equal(points_in_boxes(points, boxes, return_mask=True), ref):
        raise RuntimeError("points_in_boxes disagrees with the numpy reference")
    figures = {
        "numpy_reference_mask": measure(lambda: numpy_reference(points, boxes)),
        "points_in_boxes_index": measure(lambda: points_in_boxes(points, boxes)),
        "points_in_boxes_mask": measure(lambda: points_in_boxes(points, boxes, True)),
    }
    return report(
        f"points_in_boxes_{len(points)}pts_30boxes", figures, baseline="numpy_reference_mask"
    )


if __name__ == "__main__":
    main()
