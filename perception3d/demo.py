"""``perception3d demo``: the main job end to end on the embedded default.

1. Generate a small synthetic KITTI-layout set with ``perception3d synth`` (a seed the shipped
   detector never saw in training), unless ``data_root`` points at an existing root.
2. Run the shipped PointPillars-lite checkpoint (trained on synthetic data, see
   ``perception3d/assets/weights/README.md``) and write KITTI result files.
3. Evaluate them with the official KITTI protocol and print the AP table.
4. Draw a few frames with ``perception3d.viz`` (bird's-eye view and image_2, ground truth and
   predictions coloured TP / FP / FN by the evaluator's rules).

Outputs in ``out_dir``: ``synth/`` (the generated set), ``pred/`` (result files),
``metrics.json``, ``frame_<id>.png``, ``summary.json``.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import torch
from tqdm import tqdm

from perception3d.atomic import atomic_write_text
from perception3d.data.kitti import write_result_file
from perception3d.data.training_frames import held_out_check
from perception3d.errors import MissingFrameError
from perception3d.lidar.dataset import LidarDetectionDataset

# The shipped detector and the embedded default set it is demonstrated on.
WEIGHTS = Path(__file__).resolve().parent / "assets" / "weights" / "pointpillars_lite_synth.pt"
DEMO_SEED = 7  # the shipped weights were trained on seed 1000: these scenes are held out
DEMO_FRAMES = 40
NUM_PICTURES = 3
DEMO_OUT = Path("outputs/demo")  # the default output folder


def generate_demo_set(out: Path, frames: int, seed: int, progress: bool = True) -> Path:
    """A synthetic KITTI-layout set of ``frames`` frames, all in ImageSets/val.txt; an existing
    complete set of the same config is reused."""
    from perception3d.sim.config import load_synth_config
    from perception3d.sim.writer import generate_dataset

    cfg = load_synth_config(None, [f"frames={frames}", f"seed={seed}", "val_fraction=1.0"])
    resume = (out / "synth_config.yaml").is_file()
    generate_dataset(out, cfg, workers=1, resume=resume, progress=progress)
    return out


def run_demo(
    out_dir: Path | None = None,
    data_root: Path | None = None,
    weights: Path | None = None,
    frames: int = DEMO_FRAMES,
    seed: int = DEMO_SEED,
    progress: bool = True,
) -> dict:
    """Run the demo; write its outputs to ``out_dir`` and return the summary.

    Args:
        out_dir: output folder (default ``outputs/demo``).
        data_root: a KITTI-layout root to run on instead of generating the synthetic set
            (every frame of its ``training/`` folder is used).
        weights: the detector checkpoint (default: the shipped PointPillars-lite weights).
        frames, seed: size and seed of the generated set.
        progress: progress bars.
    """
    from perception3d.engine.infer import load_detector, predict
    from perception3d.eval.kitti import evaluate_kitti, format_kitti_table, write_metrics

    out_dir = Path(out_dir) if out_dir is not None else DEMO_OUT
    times = {"start": time.perf_counter()}
    if data_root is None:
        print(f"perception3d demo: generating {frames} synthetic frames (seed {seed})")
        root, split = generate_demo_set(out_dir / "synth", frames, seed, progress), "val"
    else:
        root, split = Path(data_root), "training"
        if not (root / "training").is_dir():
            raise MissingFrameError(f"{root}: no KITTI 'training/' folder (pass --data-root)")
    times["data"] = time.perf_counter()

    weights = Path(weights) if weights is not None else WEIGHTS
    model, exp = load_detector(weights, device="cpu")
    dataset = LidarDetectionDataset.of_experiment(exp, root, split)
    seen = held_out_check([weights], root, dataset.ids)  # warns: frames the weights saw
    pred = {}
    for frame_id, objects in predict(model, dataset, torch.device("cpu"), progress=progress):
        write_result_file(out_dir / "pred" / f"{frame_id}.txt", objects)
        pred[frame_id] = objects
    times["inference"] = time.perf_counter()

    gt = {fid: dataset.kitti.frame(fid).objects for fid in dataset.ids}
    result = evaluate_kitti(gt, pred, classes=model.classes)
    write_metrics(result, out_dir / "metrics.json")
    table = format_kitti_table(result)
    times["evaluation"] = time.perf_counter()

    pictures = draw_pictures(dataset, pred, out_dir, progress)
    times["pictures"] = time.perf_counter()
    summary = _summary(root, dataset, weights, result, model.classes, pictures, times)
    summary["trained_on_evaluated_frames"] = seen
    atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=2))
    print(table)
    _print_summary(summary, pred)
    return summary


def draw_pictures(dataset, pred: dict, out_dir: Path, progress: bool) -> list[str]:
    """BEV + image_2 pictures of the first frames, predictions coloured TP / FP / FN, the BEV
    zoomed to the ground truth and predictions; views a frame lacks are skipped."""
    from perception3d.viz.canvas import save_png
    from perception3d.viz.frame import VizOptions, render_frame

    options = VizOptions(views=("bev", "image"))
    pictures = []
    for fid in tqdm(dataset.ids[:NUM_PICTURES], desc="pictures", disable=not progress):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "no image_2": the view is left out
            image = render_frame(dataset.kitti.frame(fid), pred[fid], options)
        pictures.append(str(save_png(out_dir / f"frame_{fid}.png", image)))
    return pictures


def _summary(root, dataset, weights, result: dict, classes, pictures, times: dict) -> dict:
    from perception3d.engine.validate import headline_scalars

    steps = ("data", "inference", "evaluation", "pictures")
    seconds = {step: times[step] - times[prev] for prev, step in zip(("start", *steps), steps)}
    seconds["total"] = times["pictures"] - times["start"]
    return {
        "data_root": str(root),
        "frames": len(dataset),
        "weights": str(weights),
        "ap_3d_r40_moderate": {
            k.split("_")[0]: v for k, v in headline_scalars(result, classes).items() if "_3d_" in k
        },
        "ap_3d_all_point_moderate": {
            name: result[name]["all_point"][key][1]
            for name, key in (("Car", "3d@0.7"), ("Pedestrian", "3d@0.5"), ("Cyclist", "3d@0.5"))
            if name in result
        },
        "objects_moderate": {
            name: result["meta"]["gt_counted"][name]["moderate"]
            for name in classes
            if name in result["meta"]["gt_counted"]
        },
        "pictures": pictures,
        "seconds": seconds,
    }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _print_summary(summary: dict, pred: dict) -> None:
    print(
        f"\nperception3d demo: {summary['frames']} frames from {summary['data_root']}, "
        f"{sum(len(v) for v in pred.values())} detections; 3D AP_R40 moderate: "
        + ", ".join(f"{k} {v:.1f}" for k, v in summary["ap_3d_r40_moderate"].items())
        + "; all-point: "
        + ", ".join(
            f"{k} {v:.1f} ({_count(summary['objects_moderate'].get(k, 0), 'object')})"
            for k, v in summary["ap_3d_all_point_moderate"].items()
        )
    )
    for message in summary["trained_on_evaluated_frames"]:
        print(f"WARNING: {message}")
