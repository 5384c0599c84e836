"""Soak: resident memory (RSS) of long `infer` and `train` runs must not keep growing.

    python benchmarks/soak_memory.py [--frames 2000] [--steps 300] [--bound-mib 64]
        [--runs infer,train]

1. infer: the shipped PointPillars-lite weights over ``--frames`` frames: the three real sample
   frames of tests/data/kitti_samples listed again and again in a split file (inference only:
   their labels are not used).
2. train: PointPillars-lite for about ``--steps`` optimizer steps on a small synthetic set
   (``perception3d synth``, tiny frames, generated once into a temporary folder).

Each run is the public library call (``perception3d.engine.infer.infer``,
``perception3d.engine.train.train_config_file``) in this process, on one torch thread, while a
thread samples RSS (``/proc/self/statm``) every 0.25 s. The warm-up (the first 10 % of the run's
time: allocator pools, numba and torch caches filling) is left out. Printed per run: RSS at
the end of the warm-up and at the end, the growth between them, the slope of a least-squares
line through the samples after the warm-up (MiB per minute and per 1,000 frames / steps), and
the bound: the growth after the warm-up must stay under ``--bound-mib`` (default 64 MiB, about
0.03 MiB per frame over 2,000 frames: a leak of one sweep's points, 1.9 MB, per frame would
exceed it 60 times over). Exit status 1 when a run exceeds its bound. JSON with run metadata
goes to benchmarks/results/soak_memory.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from benchmarks.common import metadata, write_result

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "tests" / "data" / "kitti_samples"
WEIGHTS = REPO / "perception3d" / "assets" / "weights" / "pointpillars_lite_synth.pt"
CONFIG = REPO / "configs" / "models" / "pointpillars_lite.yaml"
TINY = ["camera.image_scale=0.25", "lidar.azimuth_steps=1000", "lidar.beam_stride=2"]
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE / 2**20


class RssSampler:
    """Samples (seconds, RSS MiB) every ``period`` s in a daemon thread."""

    def __init__(self, period: float = 0.25) -> None:
        self.period, self.samples = period, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.perf_counter()
        while not self._stop.is_set():
            self.samples.append((time.perf_counter() - start, rss_mib()))
            self._stop.wait(self.period)

    def __enter__(self) -> RssSampler:
        self.cpu_start = time.process_time()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.cpu_seconds = time.process_time() - self.cpu_start
        self._stop.set()
        self._thread.join()
        self.samples.append((self.samples[-1][0] + self.period, rss_mib()))


def summarize(name: str, sampler: RssSampler, units: int, unit: str, bound_mib: float) -> dict:
    t, rss = np.array(sampler.samples).T
    steady = t >= 0.1 * t[-1]  # after the warm-up
    slope_per_s = float(np.polyfit(t[steady], rss[steady], 1)[0]) if steady.sum() > 2 else 0.0
    start, end, peak = float(rss[steady][0]), float(rss[-1]), float(rss.max())
    per_unit = slope_per_s * t[-1] / units * 1000 if units else 0.0
    out = {
        "run": name, unit: units, "seconds": float(t[-1]), "cpu_seconds": sampler.cpu_seconds,
        "rss_warm_mib": start,
        "rss_end_mib": end, "rss_peak_mib": peak, "growth_mib": end - start,
        "slope_mib_per_min": slope_per_s * 60, f"slope_mib_per_1000_{unit}": per_unit,
        "bound_mib": bound_mib, "within_bound": end - start < bound_mib,
    }  # fmt: skip
    verdict = "ok" if out["within_bound"] else "EXCEEDED"
    print(
        f"  {name}: {units} {unit} in {t[-1]:.0f} s ({sampler.cpu_seconds:.0f} CPU s); RSS after "
        f"warm-up {start:.1f} MiB, end {end:.1f} MiB (peak {peak:.1f}): growth "
        f"{end - start:+.1f} MiB (bound {bound_mib:.0f} MiB: {verdict}); slope "
        f"{slope_per_s * 60:+.2f} "
        f"MiB/min = {per_unit:+.2f} MiB per 1,000 {unit}"
    )
    return out


def soak_infer(workdir: Path, frames: int, bound_mib: float) -> dict:
    from perception3d.engine.infer import infer

    root = workdir / "kitti_loop"
    (root / "ImageSets").mkdir(parents=True)
    (root / "training").symlink_to(SAMPLES / "training")
    ids = ["000000", "000008", "004139"]
    (root / "ImageSets" / "soak.txt").write_text("".join(f"{ids[i % 3]}\n" for i in range(frames)))
    with RssSampler() as sampler:
        summary = infer(WEIGHTS, root, workdir / "pred", split="soak", device="cpu",
                        progress=False)  # fmt: skip
    assert summary["frames"] == frames, summary
    return summarize("infer", sampler, frames, "frames", bound_mib)


def soak_train(workdir: Path, steps: int, bound_mib: float) -> dict:
    from perception3d.engine.train import train_config_file
    from perception3d.sim.config import load_synth_config
    from perception3d.sim.writer import generate_dataset

    data = workdir / "synth"
    frames, batch = 64, 2
    generate_dataset(data, load_synth_config(None, [*TINY, f"frames={frames}", "seed=5"]),
                     progress=False)  # fmt: skip
    train_frames = sum(1 for _ in (data / "ImageSets" / "train.txt").read_text().split())
    epochs = max(1, round(steps / max(train_frames // batch, 1)))
    overrides = [
        f"data.root={data}", f"train.epochs={epochs}", f"train.batch_size={batch}",
        "train.num_workers=0", "train.device=cpu", "train.num_threads=1",
        "train.validate_every=0", "train.log_every=50",
    ]  # fmt: skip
    with RssSampler() as sampler:
        result = train_config_file(CONFIG, overrides, workdir / "run", progress=False)
    done = epochs * (train_frames // batch + (train_frames % batch > 0))
    print(f"  train: {epochs} epochs of {train_frames} frames, final loss "
          f"{result.history['epochs'][-1]['loss']:.3f}")  # fmt: skip
    return summarize("train", sampler, done, "steps", bound_mib)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--bound-mib", type=float, default=64.0)
    parser.add_argument("--runs", default="infer,train", help="comma-separated: infer, train")
    args = parser.parse_args()
    which = set(args.runs.split(","))
    torch.set_num_threads(1)
    print("== soak_memory == (one torch thread)")
    with tempfile.TemporaryDirectory(prefix="p3d_soak_") as d:
        workdir = Path(d)
        runs = []
        if "infer" in which:
            runs.append(soak_infer(workdir, args.frames, args.bound_mib))
            shutil.rmtree(workdir / "pred")
        if "train" in which:
            runs.append(soak_train(workdir, args.steps, args.bound_mib))
    out = {"benchmark": "soak_memory", "runs": runs, "meta": metadata()}
    write_result("soak_memory", out)
    return 0 if all(r["within_bound"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
