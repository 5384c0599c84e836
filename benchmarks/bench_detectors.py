"""Inference latency per frame of the LiDAR detectors on 2 CPU threads.

Input: the real KITTI sweep 004139 (tests/data/kitti_samples, 123k points, 360 degrees)
cropped to the camera field of view as the detectors see it. Figures (median of
`torch.utils.benchmark` blocked_autorange, after a warm-up):
  - ``<model> end-to-end``: dataset item (read .bin, FOV crop, voxelize) + forward +
    post-processing (decode, rotated NMS);
  - ``<model> network``: forward + post-processing on an already voxelized frame.
Models: pointpillars_lite (the shipped synthetic-data weights when present, else random
init), pointpillars and second at the full KITTI size (random init; post-processing then sees
few boxes above the score threshold, so its NMS share is a lower bound).
Baseline: full-size PointPillars network, measured in the same run.

Writes benchmarks/results/bench_detectors.json. Run: python benchmarks/bench_detectors.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import ROOT, SAMPLES, SHIPPED_PILLARS, measure, report

from perception3d.engine.config import load_experiment
from perception3d.engine.infer import voxel_batch
from perception3d.lidar.dataset import LidarDetectionDataset, collate_batch
from perception3d.models.detector import build_detector

THREADS = 2


def _model(name: str):
    cfg = load_experiment(ROOT / "configs" / "models" / f"{name}.yaml")
    torch.manual_seed(0)
    model = build_detector(cfg.model)
    weights = "random init"
    if name == "pointpillars_lite" and SHIPPED_PILLARS.is_file():
        state = torch.load(SHIPPED_PILLARS, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        weights = SHIPPED_PILLARS.name
    return cfg, model.eval(), weights


def main() -> dict:
    torch.set_num_threads(THREADS)
    figures = {}
    for name in ("pointpillars_lite", "pointpillars", "second"):
        if name == "second":
            try:
                import spconv  # noqa: F401
            except ImportError:
                print("spconv not installed: SECOND skipped")
                continue
        cfg, model, weights = _model(name)
        ds = LidarDetectionDataset(SAMPLES, "training", cfg.model.voxel, ids=["004139"])
        batch = collate_batch([ds[0]])
        inputs = voxel_batch(batch, torch.device("cpu"))

        @torch.no_grad()
        def network(model=model, inputs=inputs):
            return model.postprocess(model(inputs))

        @torch.no_grad()
        def end_to_end(model=model, ds=ds):
            b = collate_batch([ds[0]])
            return model.postprocess(model(voxel_batch(b, torch.device("cpu"))))

        for label, fn in (("network", network), ("end-to-end", end_to_end)):
            fig = measure(fn, min_run_time=3.0)
            fig.update(voxels=len(inputs.points), weights=weights, threads=THREADS)
            figures[f"{name} {label}"] = fig
    return report("bench_detectors", figures, baseline="pointpillars network")


if __name__ == "__main__":
    main()
