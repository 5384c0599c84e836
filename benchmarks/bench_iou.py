"""Speed of the rotated BEV IoU (`perception3d.geometry.iou.bev_iou_lidar`) against shapely.

Figures (median of `torch.utils.benchmark` blocked_autorange, after numba JIT warm-up):
  - 2000 x 2000 boxes spread over a KITTI-like scene (NMS / assignment scale), and the same
    count packed in a 5 m square (nearly every pair clips: the worst case);
  - a 5 x 5 call repeated 3769 times (the KITTI val split, per-frame evaluator usage);
  - the baseline: plain shapely (`Polygon.intersection(...).area` per pair) and shapely 2's
    vectorized `shapely.intersection` on 200 x 200 subsets, timed in the same run; the
    2000 x 2000 ratios compare per-pair times (shapely's 200 x 200 time x 100).

Writes benchmarks/results/bench_iou.json. Run: python benchmarks/bench_iou.py
"""

from __future__ import annotations

import json
import statistics
import sys
import timeit
from pathlib import Path

import numba
import numpy as np
import shapely
from shapely.geometry import Polygon

sys.path.insert(0, str(Path(__file__).parent))
from common import RESULTS, measure, metadata

from perception3d.geometry.iou import bev_iou_lidar

SEED = 0
NUM_BOXES = 2000
NUM_BASELINE = 200
NUM_FRAMES = 3769  # KITTI val split
BOXES_PER_FRAME = 5


def random_boxes_lidar(rng: np.random.Generator, num: int, dense: bool) -> np.ndarray:
    """(num, 7) LiDAR boxes of car size; over a 70 m x 80 m scene, or a 5 m square if dense."""
    boxes = np.empty((num, 7))
    if dense:
        boxes[:, :2] = rng.uniform(0.0, 5.0, (num, 2))
    else:
        boxes[:, 0], boxes[:, 1] = rng.uniform(0.0, 70.0, num), rng.uniform(-40.0, 40.0, num)
    boxes[:, 2] = rng.uniform(-2.0, 0.0, num)
    boxes[:, 3:6] = rng.uniform([3.2, 1.4, 1.3], [4.8, 2.0, 1.9], (num, 3))
    boxes[:, 6] = rng.uniform(-np.pi, np.pi, num)
    return boxes


def shapely_polygons(boxes_lidar: np.ndarray) -> list[Polygon]:
    """BEV footprints as shapely polygons, built outside the timed region."""
    polys = []
    for x, y, _, dx, dy, _, heading in boxes_lidar:
        cos_h, sin_h = np.cos(heading), np.sin(heading)
        local = [(dx / 2, dy / 2), (-dx / 2, dy / 2), (-dx / 2, -dy / 2), (dx / 2, -dy / 2)]
        polys.append(
            Polygon([(x + a * cos_h - b * sin_h, y + a * sin_h + b * cos_h) for a, b in local])
        )
    return polys


def shapely_loop_iou(polys_a: list[Polygon], polys_b: list[Polygon]) -> np.ndarray:
    """The plain baseline: one GEOS intersection per pair."""
    out = np.zeros((len(polys_a), len(polys_b)))
    for i, pa in enumerate(polys_a):
        for j, pb in enumerate(polys_b):
            inter = pa.intersection(pb).area
            out[i, j] = inter / (pa.area + pb.area - inter)
    return out


def shapely_vectorized_iou(polys_a: np.ndarray, polys_b: np.ndarray) -> np.ndarray:
    inter = shapely.area(shapely.intersection(polys_a[:, None], polys_b[None, :]))
    return inter / (shapely.area(polys_a)[:, None] + shapely.area(polys_b)[None, :] - inter)


def measure_slow(fn, repeat: int = 5) -> dict[str, float]:
    """Same figures from timeit repeats, for a baseline too slow for many runs."""
    times = timeit.repeat(fn, number=1, repeat=repeat)
    q1, _, q3 = statistics.quantiles(times, n=4)
    return {"median_s": statistics.median(times), "iqr_s": q3 - q1, "runs": repeat}


def main() -> dict:
    rng = np.random.default_rng(SEED)
    scene_a, scene_b = (random_boxes_lidar(rng, NUM_BOXES, dense=False) for _ in range(2))
    dense_a, dense_b = (random_boxes_lidar(rng, NUM_BOXES, dense=True) for _ in range(2))
    frames = []
    for _ in range(NUM_FRAMES):  # detections scattered around the ground truth
        gt = random_boxes_lidar(rng, BOXES_PER_FRAME, dense=False)
        frames.append((gt, gt + rng.normal(0.0, [0.5, 0.5, 0.2, 0.2, 0.1, 0.1, 0.2], gt.shape)))

    def eval_loop() -> None:
        for gt, det in frames:
            bev_iou_lidar(gt, det)

    figures = {
        "scene_2000x2000": measure(lambda: bev_iou_lidar(scene_a, scene_b), 2.0),
        "dense_2000x2000": measure(lambda: bev_iou_lidar(dense_a, dense_b), 3.0),
        "eval_5x5_x3769": measure(eval_loop, 2.0),
    }
    figures["eval_5x5_x3769"]["per_call_s"] = figures["eval_5x5_x3769"]["median_s"] / NUM_FRAMES
    for name, (sub_a, sub_b) in {"scene": (scene_a, scene_b), "dense": (dense_a, dense_b)}.items():
        sub_a, sub_b = sub_a[:NUM_BASELINE], sub_b[:NUM_BASELINE]
        polys_a, polys_b = shapely_polygons(sub_a), shapely_polygons(sub_b)
        arr_a, arr_b = np.array(polys_a, dtype=object), np.array(polys_b, dtype=object)
        ours = measure(lambda a=sub_a, b=sub_b: bev_iou_lidar(a, b))
        loop = measure_slow(lambda a=polys_a, b=polys_b: shapely_loop_iou(a, b))
        vect = measure(lambda a=arr_a, b=arr_b: shapely_vectorized_iou(a, b))
        max_diff = np.abs(bev_iou_lidar(sub_a, sub_b) - shapely_loop_iou(polys_a, polys_b)).max()
        if max_diff > 1e-9:
            raise RuntimeError(f"bev_iou_lidar differs from shapely by {max_diff} ({name})")
        figures[f"{name}_200x200"] = ours
        figures[f"{name}_200x200_shapely_loop"] = loop
        figures[f"{name}_200x200_shapely_vectorized"] = vect
        # the same per-pair cost at 2000 x 2000 (shapely's time grows with the pair count)
        full = figures[f"{name}_2000x2000"]
        full["speedup_vs_shapely_loop_per_pair"] = loop["median_s"] * 100 / full["median_s"]
        for key in (f"{name}_200x200", f"{name}_200x200_shapely_vectorized"):
            figures[key]["speedup_vs_shapely_loop"] = loop["median_s"] / figures[key]["median_s"]

    print("== bev_iou_lidar (baseline: plain shapely Polygon.intersection loop) ==")
    for key, fig in figures.items():
        ratio = fig.get("speedup_vs_shapely_loop", fig.get("speedup_vs_shapely_loop_per_pair"))
        ratio_text = "" if ratio is None else f"  x{ratio:.0f} vs shapely loop"
        print(
            f"  {key:<36s} median {fig['median_s'] * 1e3:9.3f} ms  "
            f"(IQR {fig['iqr_s'] * 1e3:.3f} ms, {fig['runs']} runs){ratio_text}"
        )
    per_call_us = figures["eval_5x5_x3769"]["per_call_s"] * 1e6
    print(f"  5 x 5 per call: {per_call_us:.1f} us; 2000 x 2000 ratios are per pair")
    meta = {
        **metadata(),
        "seed": SEED,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "shapely": shapely.__version__,
    }
    out = {"benchmark": "bench_iou", "baseline": "shapely_loop", "figures": figures, "meta": meta}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_iou.json").write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main()
