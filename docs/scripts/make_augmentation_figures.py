"""Make the picture of docs/augmentation.md from the real sweep 004139.

Run: ``.venv/bin/python docs/scripts/make_augmentation_figures.py`` (about ten seconds); writes
``docs/images/augmentation.png``: the same draws pasted naively and physically (pasted points
red), and the sweep in fog (MOR 50 m) and rain (15 mm/h) (clutter cyan), bird's-eye views
drawn by ``perception3d.viz.bev.render_bev`` (50 x 50 m around the sensor, 2 x 2 panels).
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from perception3d.atomic import atomic_write_bytes
from perception3d.data.gt_database import GtDatabase, create_gt_database
from perception3d.data.kitti import KittiObjectDataset
from perception3d.data.sample import sample_from_frame
from perception3d.lidar.paste import PasteConfig, paste_objects
from perception3d.lidar.precipitation import PrecipitationConfig, add_precipitation
from perception3d.lidar.scanner import ScannerModel
from perception3d.lidar.weather import FogConfig, add_fog
from perception3d.viz.bev import BevGrid, render_bev
from perception3d.viz.style import ViewBoxes

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "data" / "kitti_samples"
OUT = ROOT / "docs" / "images" / "augmentation.png"
GREY, RED, CYAN = (150, 150, 150), (255, 59, 48), (0, 199, 255)


def _colours(sample, key: str, colour) -> np.ndarray:
    rgb = np.empty((len(sample.points), 3), np.uint8)
    rgb[:] = GREY
    rgb[sample.extras[key]] = colour
    return rgb


def main() -> Path:
    sample = sample_from_frame(KittiObjectDataset(SAMPLES).frame("004139"))
    scanner = ScannerModel.kitti_hdl64e()
    with tempfile.TemporaryDirectory() as tmp:
        database = GtDatabase.load(create_gt_database(SAMPLES, "training", tmp, progress=False))
        counts = {"Car": 15, "Pedestrian": 20, "Cyclist": 3}
        physical = PasteConfig(sample_counts=counts, max_occluded=2)
        naive = PasteConfig(sample_counts=counts, max_occluded=2, physical=False)
        panels = [
            (title, paste_objects(sample, database, scanner, cfg, np.random.default_rng(2)),
             "pasted_mask", RED)
            for title, cfg in (("naive paste", naive), ("physical paste", physical))
        ]  # fmt: skip
    fog = add_fog(sample, scanner, np.log(20) / 50.0, FogConfig(), np.random.default_rng(0))
    rain = add_precipitation(sample, scanner, "rain", 15.0, PrecipitationConfig(),
                             np.random.default_rng(0))  # fmt: skip
    panels += [
        ("fog, MOR 50 m", fog, "weather_clutter_mask", CYAN),
        ("rain, 15 mm/h", rain, "weather_clutter_mask", CYAN),
    ]
    grid = BevGrid((-25.0, 25.0), (-25.0, 25.0), 0.05)
    images = [
        render_bev(s.points, ViewBoxes(s.boxes_lidar, gt_names=s.names), grid=grid,
                   show_labels=False, show_legend=False, point_colors_rgb=_colours(s, key, colour),
                   title=title)
        for title, s, key, colour in panels
    ]  # fmt: skip
    buffer = io.BytesIO()
    mosaic = np.concatenate([np.concatenate(images[:2], 1), np.concatenate(images[2:], 1)], 0)
    Image.fromarray(mosaic).resize((1200, 1200), Image.Resampling.LANCZOS).save(buffer, "PNG")
    atomic_write_bytes(OUT, buffer.getvalue())
    return OUT


if __name__ == "__main__":
    print(main())
