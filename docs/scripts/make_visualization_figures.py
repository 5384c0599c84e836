"""Make the pictures of docs/visualization.md: the real sample frames in tests/data and one
frame of ``perception3d synth`` (seed 1), generated into a temporary folder.

    python docs/scripts/make_visualization_figures.py [--out docs/images/visualization]

Predictions are not a detector's: they are the ground truth of each frame moved by seeded
noise (0.15 m, 3 degrees standard deviation), with one object dropped and one false box
added, so every colour of the TP / FP / FN scheme appears. The matching is the KITTI evaluator's
(``perception3d.eval.kitti.match_frame``, 3D overlap, moderate difficulty). PNGs are written
with a reduced palette to stay small.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from perception3d.data.kitti import KittiObject, KittiObjectDataset
from perception3d.geometry.beams import estimate_beam_table
from perception3d.geometry.boxes import boxes_to_image_2d
from perception3d.geometry.calib import boxes_lidar_to_cam
from perception3d.geometry.spherical import RangeImage
from perception3d.viz.bev import BevGrid, render_bev
from perception3d.viz.canvas import resize_to_width, save_png
from perception3d.viz.frame import VizOptions, frame_boxes, render_frame
from perception3d.viz.image import render_image
from perception3d.viz.range import occupied_columns, render_before_after, render_range_image
from perception3d.viz.scene3d import ViewCamera, open3d_offscreen_problem, render_scene3d

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "tests" / "data" / "kitti_samples"


def noisy_predictions(frame, rng: np.random.Generator) -> list[KittiObject]:
    """Ground truth moved by noise, the last object dropped, one false car added; scores."""
    boxes = frame.boxes_lidar.copy()
    names = list(frame.names)
    boxes[:, :2] += rng.normal(0.0, 0.15, (len(boxes), 2))
    boxes[:, 6] += rng.normal(0.0, np.radians(3.0), len(boxes))
    boxes, names = boxes[:-1], names[:-1]
    boxes = np.concatenate([boxes, [[25.0, 6.0, -0.95, 4.0, 1.7, 1.5, 0.5]]])
    names.append("Car")
    cam = boxes_lidar_to_cam(boxes, frame.calib)
    b2d, _ = boxes_to_image_2d(boxes, frame.calib, frame.image_shape or (375, 1242))
    out = []
    for k, name in enumerate(names):
        x, y, z, l, h, w, ry = cam[k]
        out.append(
            KittiObject(
                type=str(name),
                truncated=0.0,
                occluded=0,
                alpha=float(ry - np.arctan2(x, z)),
                bbox=tuple(float(v) for v in b2d[k]),
                dimensions=(float(h), float(w), float(l)),
                location=(float(x), float(y), float(z)),
                rotation_y=float(ry),
                score=float(rng.uniform(0.3, 0.95)),
            )
        )
    return out


def toy_change(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The sweep for the before/after panel, an illustration with a toy change (not a weather
    model): half of the returns beyond 25 m dropped, 3,000 clutter points added within 12 m."""
    range_m = np.linalg.norm(points[:, :3], axis=1)
    dropped = (range_m > 25.0) & (rng.uniform(size=len(range_m)) < 0.5)
    radius, azimuth = 12.0 * np.sqrt(rng.uniform(size=3000)), rng.uniform(-np.pi, np.pi, 3000)
    clutter = np.stack(
        [radius * np.cos(azimuth), radius * np.sin(azimuth), rng.uniform(-1.7, 0.5, 3000),
         rng.uniform(0.0, 0.1, 3000)], axis=1,
    ).astype(np.float32)  # fmt: skip
    return np.concatenate([points[~dropped], clutter])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "visualization")
    args = parser.parse_args(argv)
    out = args.out
    ds = KittiObjectDataset(SAMPLES)
    rng = np.random.default_rng(8)
    written = []

    def save(name: str, rgb: np.ndarray, width: int | None = None, colors: int = 256) -> None:
        if width is not None and rgb.shape[1] > width:
            rgb = resize_to_width(rgb, width)
        written.append(save_png(out / name, rgb, palette_colors=colors))

    frame8 = ds.frame("000008")
    preds8 = noisy_predictions(frame8, rng)
    boxes8 = frame_boxes(frame8, preds8)
    save(
        "image_000008.png",
        render_image(frame8.image, frame8.calib, frame8.points, boxes8),
        width=932,
    )

    sweep = ds.frame("004139")
    preds = noisy_predictions(sweep, rng)
    boxes = frame_boxes(sweep, preds)
    grid = BevGrid((-30.0, 60.0), (-40.0, 40.0), 0.1)
    bev = render_bev(sweep.points, boxes, calib=sweep.calib, grid=grid)
    save("bev_004139.png", bev, width=640)

    problem = open3d_offscreen_problem()
    print(f"3D view: {'Open3D offscreen' if problem is None else 'matplotlib (' + problem + ')'}")
    scene = render_scene3d(sweep.points, boxes, camera=ViewCamera(width=960, height=540))
    save("scene3d_004139.png", scene, width=800)

    table = estimate_beam_table(sweep.points)
    image = RangeImage.from_points(sweep.points, table.elevations_rad, 2048, table.ring)
    save("range_004139.png", render_range_image(image, row_scale=2), width=1024)

    panel = render_before_after(
        sweep.points,
        toy_change(sweep.points, rng),
        sweep.boxes_lidar,
        sweep.boxes_lidar,
        grid=BevGrid((-20.0, 50.0), (-35.0, 35.0), 0.1),
        titles=("sweep", "toy change"),
    )
    save("before_after_004139.png", panel, width=800)

    frame_rgb = render_frame(frame8, preds8, VizOptions(views=("bev", "3d", "image", "range")))
    save("viz_000008.png", frame_rgb, width=800)

    table8 = estimate_beam_table(frame8.points)
    cropped = RangeImage.from_points(frame8.points, table8.elevations_rad, 2048, table8.ring)
    save(
        "range_000008.png",
        render_range_image(cropped, columns=occupied_columns(cropped), side_by_side=True),
    )
    with tempfile.TemporaryDirectory() as tmp:
        from perception3d.cli import main as cli

        cli(["synth", "--out", f"{tmp}/synth", "--frames", "1", "--seed", "1"])
        synth = KittiObjectDataset(f"{tmp}/synth").frame("000000")
        synth_boxes = frame_boxes(synth, noisy_predictions(synth, rng))
        image = render_image(synth.image, synth.calib, synth.points, synth_boxes)
        save("image_synth_000000.png", image, width=932)

    for path in written:
        print(f"{path}: {path.stat().st_size // 1024} KiB")
    print(f"statuses 004139: {boxes.summary()}; 000008: {boxes8.summary()}")
    print(f"synthetic 000000: {synth_boxes.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
