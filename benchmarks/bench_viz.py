"""Rendering time of the views on real KITTI frames (004139: 123,266-point sweep, 22 boxes;
000008: image_2 with 17,238 points and 6 boxes).

Figures (median and IQR of `torch.utils.benchmark` blocked_autorange, same run):
  - `render_bev` (points rasterized in numpy, boxes/rings/text by matplotlib), 800 x 900 px;
  - the baseline: the same BEV drawn the common way, every point a matplotlib ``scatter``
    marker (what most toolkits' BEV plots do), same figure size;
  - `render_image` (projection, z-buffer, Pillow wireframes) on 000008;
  - `render_scene3d` with Open3D offscreen (when a Vulkan driver is present: llvmpipe, CPU)
    and with the matplotlib fallback, 960 x 600 px.

Writes benchmarks/results/bench_viz.json. Run: python benchmarks/bench_viz.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import SAMPLES, measure, report

from perception3d.data.kitti import KittiObjectDataset
from perception3d.viz.bev import BevGrid, render_bev
from perception3d.viz.image import render_image
from perception3d.viz.scene3d import open3d_offscreen_problem, render_scene3d
from perception3d.viz.style import ViewBoxes

GRID = BevGrid((-20.0, 70.0), (-40.0, 40.0), 0.1)


def scatter_bev(points: np.ndarray, boxes_lidar: np.ndarray) -> np.ndarray:
    """Baseline: a BEV with one scatter marker per point, boxes as polygons."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from perception3d.geometry.boxes import corners_lidar

    fig = Figure(figsize=(GRID.width / 100, GRID.height / 100), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.scatter(-points[:, 1], points[:, 0], s=0.3, c=points[:, 2], cmap="viridis", linewidths=0)
    for c in corners_lidar(boxes_lidar)[:, [0, 1, 2, 3, 0], :2]:
        ax.plot(-c[:, 1], c[:, 0], color="g")
    ax.set_xlim(-GRID.y_range_m[1], -GRID.y_range_m[0])
    ax.set_ylim(*GRID.x_range_m)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3]


def main() -> None:
    ds = KittiObjectDataset(SAMPLES)
    sweep, frame8 = ds.frame("004139"), ds.frame("000008")
    pts, boxes = sweep.points, sweep.boxes_lidar
    drawn, drawn8 = ViewBoxes(boxes), ViewBoxes(frame8.boxes_lidar)
    image8 = frame8.image
    figures = {
        "scatter BEV (baseline)": measure(lambda: scatter_bev(pts, boxes)),
        "render_bev 004139": measure(lambda: render_bev(pts, drawn, calib=sweep.calib, grid=GRID)),
        "render_image 000008": measure(
            lambda: render_image(image8, frame8.calib, frame8.points, drawn8)
        ),
        "render_scene3d matplotlib 004139": measure(
            lambda: render_scene3d(pts, drawn, backend="matplotlib"), min_run_time=3.0
        ),
    }
    problem = open3d_offscreen_problem()
    if problem is None:
        figures["render_scene3d open3d 004139"] = measure(
            lambda: render_scene3d(pts, drawn, backend="open3d"), min_run_time=3.0
        )
    else:
        print(f"Open3D offscreen not measured: {problem}")
    report("bench_viz", figures, baseline="scatter BEV (baseline)")


if __name__ == "__main__":
    main()
