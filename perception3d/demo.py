"""``perception3d demo``: the main job end to end on the embedded default data.

The embedded default is a small synthetic dataset (``perception3d synth`` with the default
config, a few frames) generated into ``<out>/synthkitti``; ``--data-root`` runs on a KITTI-layout
root instead (the real sample frames: ``tests/data/kitti_samples``). Today the job is the data
layer: load each frame, convert its labels to LiDAR boxes and back, count the LiDAR points in
each box, estimate the beam table and build the lossless range image, and print a summary.
Later stages grow this into synthesize -> detect -> evaluate -> visualize.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from perception3d.atomic import atomic_write_text
from perception3d.data.kitti import KittiObjectDataset
from perception3d.errors import MissingFrameError
from perception3d.geometry.beams import estimate_beam_table
from perception3d.geometry.boxes import boxes_to_image_2d, points_in_boxes
from perception3d.geometry.calib import boxes_lidar_to_cam
from perception3d.geometry.spherical import RangeImage

# The real KITTI frames shipped with the repository (tests/data/kitti_samples).
SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "kitti_samples"
DEMO_FRAMES = 4  # frames of the embedded synthetic dataset (about a second each)


def make_demo_dataset(out_dir: Path, frames: int = DEMO_FRAMES, seed: int = 0) -> Path:
    """Generate the embedded default dataset (default synth config) into ``out_dir``."""
    from dataclasses import replace

    from perception3d.data.synth.config import SynthConfig
    from perception3d.data.synth.writer import generate_dataset

    cfg = replace(SynthConfig(), frames=frames, seed=seed)
    print(f"perception3d demo: generating {frames} synthetic frames into {out_dir}")
    generate_dataset(out_dir, cfg, workers=1, overwrite=True)
    return Path(out_dir)


def run_demo(out_dir: Path = Path("outputs/demo"), data_root: Path | None = None) -> dict:
    """Run the demo; write ``summary.json`` to ``out_dir`` and return it.

    Without ``data_root`` the frames come from a synthetic dataset generated into
    ``out_dir/synthkitti`` (replacing an earlier demo's).
    """
    if data_root is None:
        root = make_demo_dataset(Path(out_dir) / "synthkitti")
    else:
        root = Path(data_root)
    if not (root / "training").is_dir():
        raise MissingFrameError(f"{root}: no KITTI 'training/' folder (pass --data-root)")
    ds = KittiObjectDataset(root)
    t0 = time.perf_counter()
    frames = []
    for frame in tqdm(ds, desc="frames", unit="frame"):
        boxes = frame.boxes_lidar
        back = boxes_lidar_to_cam(boxes, frame.calib)
        labels = np.array([o.box_cam for o in frame.objects if not o.is_dontcare]).reshape(-1, 7)
        idx = points_in_boxes(frame.points, boxes)
        counts = np.bincount(idx[idx >= 0], minlength=len(boxes))
        table = estimate_beam_table(frame.points)
        image = RangeImage.from_points(frame.points, table.elevations_rad, rows=table.ring)
        entry = {
            "frame": frame.frame_id,
            "points": len(frame.points),
            "objects": {str(n): int((frame.names == n).sum()) for n in sorted(set(frame.names))},
            "dontcare": sum(o.is_dontcare for o in frame.objects),
            "label_round_trip_max_err_m": float(np.abs(back[:, :6] - labels[:, :6]).max())
            if len(boxes)
            else 0.0,
            "points_in_boxes": counts.tolist(),
            "beam_method": table.method,
            "beam_elevation_deg": [
                float(np.degrees(table.elevations_rad[0])),
                float(np.degrees(table.elevations_rad[-1])),
            ],
            "range_image_fill": float(image.mask.mean()),
        }
        if frame.image_shape is not None:
            _, valid = boxes_to_image_2d(boxes, frame.calib, frame.image_shape)
            entry["boxes_in_image"] = int(valid.sum())
        frames.append(entry)
    summary = {"data_root": str(root), "frames": frames, "seconds": time.perf_counter() - t0}
    atomic_write_text(Path(out_dir) / "summary.json", json.dumps(summary, indent=2))
    print(f"\nperception3d demo: {len(frames)} frames from {root}")
    print(f"{'frame':>8} {'points':>8} {'objects':<34} {'in-box pts':>10} {'beams':<22} fill")
    for f in frames:
        objs = ", ".join(f"{v} {k}" for k, v in f["objects"].items())
        lo, hi = f["beam_elevation_deg"]
        print(
            f"{f['frame']:>8} {f['points']:>8} {objs:<34} {sum(f['points_in_boxes']):>10} "
            f"{f['beam_method'] + f' {lo:+.1f}..{hi:+.1f}':<22} {f['range_image_fill']:.3f}"
        )
    print(f"summary written to {Path(out_dir) / 'summary.json'} ({summary['seconds']:.2f} s)")
    return summary
