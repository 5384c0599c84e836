"""What a training epoch of the real-KITTI recipes (configs/kitti/*.yaml) costs on this CPU.

The full training loop (``perception3d.engine.train.train``) of each config, with its
ground-truth sampling, augmentation, batch 4 and optimizer, runs 2 epochs over
``FRAMES_PER_EPOCH`` frames cycling through the real sample frames 000008 (a camera-view crop)
and 004139 (a full sweep, cropped to the camera's view by the dataset), with a ground-truth
database built from the three sample frames (``create_gt_database``). Data loading runs in the
training process (``num_workers=0``), so the time is the whole work of a step. The second
(warm) epoch gives seconds per iteration (wall and CPU), extrapolated to the 3,712-frame KITTI
train split (928 iterations) and OpenPCDet's 80 epochs.

Threads: PointPillars 2 (the machine's cores), SECOND 1 (``engine.train.cpu_training_threads``:
spconv's CPU backward is not thread-safe). Baseline: the PointPillars epoch, same run. The
machine's load average is recorded beside the figures: on a shared machine the wall time
stretches, CPU seconds much less.

Writes benchmarks/results/bench_kitti_epoch.json. Run: python benchmarks/bench_kitti_epoch.py
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).parents[1]
SAMPLES = ROOT / "tests" / "data" / "kitti_samples"
FRAMES_PER_EPOCH = 24
BATCH = 4
KITTI_TRAIN_FRAMES = 3712
EPOCHS = 80


def _root(tmp: Path) -> Path:
    """A KITTI root linking the sample frames, with an ImageSets/bench.txt cycling the two
    realistic sweeps."""
    root = tmp / "kitti"
    (root / "ImageSets").mkdir(parents=True)
    (root / "training").symlink_to((SAMPLES / "training").resolve())
    ids = ["000008", "004139"] * (FRAMES_PER_EPOCH // 2)
    (root / "ImageSets" / "bench.txt").write_text("".join(f"{i}\n" for i in ids))
    return root


def _epoch_cost(name: str, root: Path, database: Path, tmp: Path) -> dict:
    from perception3d.engine.config import load_experiment
    from perception3d.engine.train import train

    overrides = [
        f"data.root={root}",
        "data.train_split=bench",
        f"augmentation.physical.paste.database={database}",
        "train.epochs=2",
        "train.validate_every=0",
        "train.num_workers=0",
        f"train.num_threads={1 if name == 'second' else 2}",
    ]
    cfg = load_experiment(ROOT / "configs" / "kitti" / f"{name}.yaml", overrides)
    history = train(cfg, tmp / f"run_{name}", progress=False).history
    warm = history["epochs"][-1]
    iterations = math.ceil(FRAMES_PER_EPOCH / BATCH)
    per_it, cpu_per_it = warm["seconds"] / iterations, warm["cpu_seconds"] / iterations
    kitti_its = math.ceil(KITTI_TRAIN_FRAMES / cfg.train.batch_size)
    return {
        "median_s": per_it,  # the figure: seconds per iteration of batch 4
        "iqr_s": 0.0,
        "runs": iterations,
        "cpu_s_per_iteration": cpu_per_it,
        "threads": 1 if name == "second" else 2,
        "kitti_epoch_hours": per_it * kitti_its / 3600,
        "kitti_epoch_cpu_hours": cpu_per_it * kitti_its / 3600,
        "kitti_80_epochs_days": per_it * kitti_its * EPOCHS / 86400,
        "loss": warm["loss"],
    }


def main() -> dict:
    sys.path.insert(0, str(Path(__file__).parent))
    from common import report

    from perception3d.data.gt_database import create_gt_database

    figures = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root = _root(tmp)
        database = create_gt_database(root, "training", tmp / "db", progress=False)
        for name in ("pointpillars", "second"):
            figures[f"{name} iteration (batch {BATCH})"] = _epoch_cost(name, root, database, tmp)
    out = report("bench_kitti_epoch", figures, baseline=f"pointpillars iteration (batch {BATCH})")
    for key, fig in figures.items():
        print(
            f"  {key}: {fig['cpu_s_per_iteration']:.1f} CPU s per iteration on "
            f"{fig['threads']} thread(s); a {KITTI_TRAIN_FRAMES}-frame KITTI epoch "
            f"{fig['kitti_epoch_hours']:.2f} h wall here, 80 epochs "
            f"{fig['kitti_80_epochs_days']:.1f} days"
        )
    out["load_average"] = {"before": load_before, "after": os.getloadavg()}
    print(f"  load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}")
    (Path(__file__).parent / "results" / "bench_kitti_epoch.json").write_text(
        json.dumps(out, indent=2)
    )
    return out


if __name__ == "__main__":
    main()
