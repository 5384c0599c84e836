"""What ``perception3d detect`` adds to the network, and its memory on a 2-million-point cloud.

Input: the real KITTI sweep 004139 (tests/data/kitti_samples, 123k points, 360 degrees) as a
``.bin`` file. Model: full-size PointPillars (configs/models/pointpillars.yaml, random init)
and PointPillars-lite (the shipped weights), 2 CPU threads. Figures (median of
``torch.utils.benchmark`` blocked_autorange, after a warm-up), per model:

- ``network, camera view``: forward + post-processing of the FOV-cropped, already voxelized
  frame: the "network" figure of benchmarks/bench_detectors.py (the baseline);
- ``detect, camera view``: ``run_detector_on_files`` on the .bin with its calib (read, FOV
  crop, voxelize, network, KITTI rows written), the same work from the file on;
- ``network, 360``: forward + post-processing of the two passes (front, and turned by 180
  degrees) as one voxelized batch of two;
- ``detect, 360``: ``run_detector_on_files`` on the .bin without calib (read, both passes
  voxelized, network, merge NMS, JSON written).

Each ``detect`` figure is printed with its ratio to the ``network`` figure of the same input
(the target: at most 1.10). Memory: peak resident set size of a fresh process that loads the
full-size detector and runs ``perception3d detect`` on a 2,097,522-point ``.bin`` (17 copies of
004139 turned about z), and of one that only loads the detector and reads the file (what
detect's work adds is the difference).

Writes benchmarks/results/bench_detect.json. Run: python benchmarks/bench_detect.py
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import ROOT, SAMPLES, SHIPPED_PILLARS, measure, report, write_result

from perception3d.data.dataset import crop_to_fov
from perception3d.data.kitti import KittiObjectDataset, write_velodyne
from perception3d.data.sample import LidarSample
from perception3d.engine.checkpoint import save_checkpoint
from perception3d.engine.config import load_experiment
from perception3d.engine.detect import Detector
from perception3d.engine.detect_files import run_detector_on_files
from perception3d.models.detector import build_detector

THREADS = 2
BIG_COPIES = 17

_MEMORY_CHILD = """
import resource, sys
from perception3d.data.pointcloud import read_point_cloud
from perception3d.engine.detect import Detector
detector = Detector.from_checkpoint(None, sys.argv[1], device="cpu")
points = read_point_cloud(sys.argv[2])
if sys.argv[4] == "detect":
    from perception3d.engine.detect_files import run_detector_on_files
    run_detector_on_files(detector, [sys.argv[2]], sys.argv[3], progress=False)
"""


def _checkpoint(name: str, folder: Path) -> Path:
    if name == "pointpillars_lite" and SHIPPED_PILLARS.is_file():
        return SHIPPED_PILLARS
    cfg = load_experiment(ROOT / "configs" / "models" / f"{name}.yaml")
    torch.manual_seed(0)
    return save_checkpoint(folder / f"{name}.pt", build_detector(cfg.model), None, 0, cfg)


def _peak_rss_mb(args: list[str]) -> float:
    """Peak resident set size (MB) of a fresh Python process running the child script."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([sys.executable, "-c", _MEMORY_CHILD, *args], check=True, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if after <= before:  # ru_maxrss of children is the maximum over all of them so far
        raise RuntimeError("run the memory figures before any larger child process")
    return after / 1024


def _memory(ckpt: Path, folder: Path) -> dict:
    points = KittiObjectDataset(SAMPLES).frame("004139").points
    copies = []
    for k in range(BIG_COPIES):
        angle = 2 * np.pi * k / BIG_COPIES
        c, s = np.cos(angle), np.sin(angle)
        turned = points.copy()
        turned[:, 0] = c * points[:, 0] - s * points[:, 1]
        turned[:, 1] = s * points[:, 0] + c * points[:, 1]
        copies.append(turned)
    big = folder / "big.bin"
    write_velodyne(big, np.concatenate(copies))
    num_points = len(points) * BIG_COPIES
    # the load-only process first: RUSAGE_CHILDREN keeps the maximum over all children
    base = _peak_rss_mb([str(ckpt), str(big), str(folder / "out_mem"), "load"])
    full = _peak_rss_mb([str(ckpt), str(big), str(folder / "out_mem"), "detect"])
    return {"points": num_points, "load_only_mb": base, "detect_mb": full}


def _figures(name: str, ckpt: Path, folder: Path) -> dict:
    frame = KittiObjectDataset(SAMPLES).frame("004139")
    velo = SAMPLES / "training" / "velodyne" / "004139.bin"
    calib = SAMPLES / "training" / "calib" / "004139.txt"
    detector = Detector.from_checkpoint(None, ckpt, device="cpu")
    sample = LidarSample("004139", frame.points, np.zeros((0, 7)), np.zeros(0, object), frame.calib)
    in_view = crop_to_fov(sample).points
    view_batch = detector.voxel_batch(in_view, (0.0,))
    full_batch = detector.voxel_batch(frame.points, detector.pass_angles(cropped_to_fov=False))
    model = detector.model

    @torch.no_grad()
    def network(batch):
        return model.postprocess(model(batch))

    def run(**kwargs):
        return run_detector_on_files(detector, [velo], folder / "out", progress=False, **kwargs)

    figures = {
        f"{name} network, camera view": measure(lambda: network(view_batch), 3.0),
        f"{name} detect, camera view": measure(lambda: run(calib=calib, fmt="kitti"), 3.0),
        f"{name} network, 360": measure(lambda: network(full_batch), 3.0),
        f"{name} detect, 360": measure(run, 3.0),
    }
    for key, batch in (("camera view", view_batch), ("360", full_batch)):
        figures[f"{name} network, {key}"]["voxels"] = len(batch.points)
        base = figures[f"{name} network, {key}"]["median_s"]
        figures[f"{name} detect, {key}"]["ratio_to_network"] = (
            figures[f"{name} detect, {key}"]["median_s"] / base
        )
    return figures


def main() -> dict:
    torch.set_num_threads(THREADS)
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        full_ckpt = _checkpoint("pointpillars", folder)
        memory = _memory(full_ckpt, folder)
        for name in ("pointpillars", "pointpillars_lite"):
            figures.update(_figures(name, _checkpoint(name, folder), folder))
    out = report("bench_detect", figures, baseline="pointpillars network, camera view")
    for key, fig in figures.items():
        if "ratio_to_network" in fig:
            print(f"  {key:<40s} {fig['ratio_to_network']:.3f} x its network (target <= 1.10)")
    print(
        f"  peak RSS, {memory['points']:,} points (full-size PointPillars, 360): detect "
        f"{memory['detect_mb']:.0f} MB; load model + read points only "
        f"{memory['load_only_mb']:.0f} MB"
    )
    out["memory"] = memory
    write_result("bench_detect", out)
    return out


if __name__ == "__main__":
    main()
