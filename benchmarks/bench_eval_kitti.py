"""Speed of the KITTI evaluation (`perception3d.eval.kitti`) on a KITTI-val-sized set.

3,769 frames (the KITTI val split) of realistic random scenes with about 5 ground truth objects
and 5 detections each (`tests/eval/kitti_scenes.py`: the fixture generator of the tests),
all three classes, every metric, both overlap sets, R11 and R40. Figures (median of
`torch.utils.benchmark` blocked_autorange after a warm-up call):
  - `evaluate_kitti_3769`: in memory, the call per-epoch validation makes (target < 10 s);
  - `evaluate_kitti_dirs_3769`: from label / result files, what `perception3d eval kitti` runs;
  - `evaluate_kitti_120`: a small validation set;
  - `first_call_s`: the first call in the process (numba loads its cached machine code);
  - the baseline, `read_files_3769`: only reading the 7,538 files with the project's KITTI
    reader, the floor under the file-based figure.

Writes benchmarks/results/bench_eval_kitti.json. Run: python benchmarks/bench_eval_kitti.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))  # for tests.eval.kitti_scenes
from common import measure, report

from perception3d.data.kitti import read_label_file
from perception3d.eval.kitti import evaluate_kitti, evaluate_kitti_dirs, read_predictions
from tests.eval.kitti_scenes import noisy_detections, random_scene, sample_calib

SEED = 0
NUM_FRAMES = 3769  # KITTI val split
OBJECTS_PER_FRAME = 5
SMALL_FRAMES = 120


def make_frames(num: int, rng: np.random.Generator) -> tuple[dict, dict]:
    calib = sample_calib()
    gt, pred = {}, {}
    for i in range(num):
        labels, hidden = random_scene(rng, calib, OBJECTS_PER_FRAME)
        gt[f"{i:06d}"] = labels
        pred[f"{i:06d}"] = noisy_detections(rng, calib, labels, hidden)
    return gt, pred


def write_frames(frames: dict, folder: Path) -> None:
    """Plain (not atomic) writes: benchmark inputs in a temporary folder."""
    folder.mkdir(parents=True)
    for fid, objects in frames.items():
        (folder / f"{fid}.txt").write_text("".join(o.to_line() + "\n" for o in objects))


def main() -> dict:
    rng = np.random.default_rng(SEED)
    start = time.perf_counter()
    gt, pred = make_frames(NUM_FRAMES, rng)
    num_gt = sum(len([o for o in v if not o.is_dontcare]) for v in gt.values())
    num_pred = sum(len(v) for v in pred.values())
    print(
        f"{NUM_FRAMES} frames: {num_gt / NUM_FRAMES:.2f} objects and {num_pred / NUM_FRAMES:.2f} "
        f"detections per frame (made in {time.perf_counter() - start:.1f} s)"
    )
    small_keys = list(gt)[:SMALL_FRAMES]
    small_gt, small_pred = {k: gt[k] for k in small_keys}, {k: pred[k] for k in small_keys}
    with tempfile.TemporaryDirectory() as tmp:
        gt_dir, pred_dir = Path(tmp) / "label_2", Path(tmp) / "pred"
        write_frames(gt, gt_dir)
        write_frames(pred, pred_dir)

        def read_only() -> None:
            for fid in gt:
                read_label_file(gt_dir / f"{fid}.txt", allow_score=False)
                read_predictions(pred_dir / f"{fid}.txt")

        start = time.perf_counter()
        result = evaluate_kitti(small_gt, small_pred)
        first_call_s = time.perf_counter() - start
        figures = {
            "read_files_3769": measure(read_only, 2.0),
            "evaluate_kitti_3769": measure(lambda: evaluate_kitti(gt, pred), 4.0),
            "evaluate_kitti_dirs_3769": measure(lambda: evaluate_kitti_dirs(gt_dir, pred_dir), 4.0),
            "evaluate_kitti_120": measure(lambda: evaluate_kitti(small_gt, small_pred), 1.0),
        }
    result = evaluate_kitti(gt, pred)
    figures["evaluate_kitti_3769"]["first_call_s"] = first_call_s
    figures["evaluate_kitti_3769"]["car_3d_r40_moderate"] = result["Car"]["R40"]["3d@0.7"][1]
    out = report("bench_eval_kitti", figures, baseline="read_files_3769")
    median = figures["evaluate_kitti_3769"]["median_s"]
    print(
        f"  KITTI val size ({NUM_FRAMES} frames): {median:.2f} s in memory, "
        f"{figures['evaluate_kitti_dirs_3769']['median_s']:.2f} s from files (target < 10 s); "
        f"first call in a process {first_call_s:.2f} s ({SMALL_FRAMES} frames)"
    )
    return out


if __name__ == "__main__":
    main()
