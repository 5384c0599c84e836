"""Per-frame latency of the Frustum PointNet pipeline on 2 CPU threads.

Input: the real KITTI frame 000008 (tests/data/kitti_samples: 375 x 1242 image, 17k LiDAR
points in the camera's view, 6 labelled cars). Figures (median of `torch.utils.benchmark`
blocked_autorange, after a warm-up):
  - ``2d detector``: :func:`perception3d.models.detector2d.detect_2d` on the image (resize,
    network, peak extraction);
  - ``2d detector + horizon tiles``: the whole image and the 3 horizon windows of
    :mod:`perception3d.engine.horizon_tiles` (``frustum infer --horizon-tiles``), merged;
  - ``3d stage (6 gt boxes)``: :func:`perception3d.engine.frustum_infer.predict_frustum` from
    the frame's 6 ground-truth 2D boxes (projection, frustum extraction, PointNets, decoding);
  - ``2d + 3d``: ``predict_frustum`` from the image (what ``perception3d frustum infer`` runs
    per frame without ``--horizon-tiles``, file reading excluded);
  - ``2d + 3d, horizon tiles``: the same with the horizon windows (``frustum infer``'s
    default): 4 detector passes and more 2D boxes to lift.
Networks: the shipped weights when present, else the configs' networks at random init.
Baseline: the first stage's cost without any network, the projection of the frame's LiDAR
points into the image (``Calibration.lidar_to_image``), measured in the same run.

Writes benchmarks/results/bench_frustum.json. Run: python benchmarks/bench_frustum.py
(``BENCH_THREADS=1``: one thread instead of 2)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import ROOT, SAMPLES, measure, report

from perception3d.data.kitti import KittiObjectDataset
from perception3d.engine.frustum_config import (
    load_detector2d_experiment,
    load_frustum_experiment,
)
from perception3d.engine.frustum_infer import (
    SHIPPED_DETECTOR2D,
    SHIPPED_FRUSTUM,
    build_detector2d,
    build_frustum_model,
    detect_frame_2d,
    load_detector2d,
    load_frustum_model,
    predict_frustum,
)
from perception3d.engine.horizon_tiles import HorizonTiles
from perception3d.models.detector2d import detect_2d

THREADS = int(os.environ.get("BENCH_THREADS", "2"))


def _models():
    torch.manual_seed(0)
    if SHIPPED_DETECTOR2D.is_file() and SHIPPED_FRUSTUM.is_file():
        return (
            load_detector2d(SHIPPED_DETECTOR2D)[0],
            load_frustum_model(SHIPPED_FRUSTUM),
            "shipped",
        )
    cfg2d = load_detector2d_experiment(ROOT / "configs" / "frustum" / "detector2d.yaml")
    cfg3d = load_frustum_experiment(ROOT / "configs" / "frustum" / "frustum_pointnet.yaml")
    return build_detector2d(cfg2d).eval(), build_frustum_model(cfg3d).eval(), "random init"


def main() -> dict:
    torch.set_num_threads(THREADS)
    model2d, model3d, weights = _models()
    frame = KittiObjectDataset(SAMPLES, ids=["000008"]).frame(8)
    image, points, calib = frame.image, frame.points, frame.calib
    cars = [o for o in frame.objects if o.type == "Car"]
    boxes = np.array([o.bbox for o in cars])
    labels = np.zeros(len(cars), dtype=np.int64)

    @torch.no_grad()
    def stage_2d():
        return detect_2d(model2d, image)

    @torch.no_grad()
    def stage_2d_tiles():
        return detect_frame_2d(model2d, image, calib, HorizonTiles())

    def stage_3d():
        return predict_frustum(None, model3d, None, points, calib, boxes, labels)

    def both():
        return predict_frustum(model2d, model3d, image, points, calib)

    def both_tiles():
        return predict_frustum(model2d, model3d, image, points, calib, tiles=HorizonTiles())

    def projection():
        return calib.lidar_to_image(points)

    figures = {}
    for name, fn in (
        ("projection (baseline)", projection),
        ("2d detector", stage_2d),
        ("2d detector + horizon tiles", stage_2d_tiles),
        ("3d stage (6 gt boxes)", stage_3d),
        ("2d + 3d", both),
        ("2d + 3d, horizon tiles", both_tiles),
    ):
        fig = measure(fn, min_run_time=3.0)
        fig.update(weights=weights, threads=THREADS, points=len(points))
        figures[name] = fig
    return report("bench_frustum", figures, baseline="projection (baseline)")


if __name__ == "__main__":
    main()
