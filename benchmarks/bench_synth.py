"""Frames per second of `perception3d synth` with the default config (full-size frames: a
64-beam HDL-64E sweep of 128k rays, a 1242 x 375 camera render with shadows, labels and every
extra, written atomically), with 1 and 2 worker processes.

Figures (median of `torch.utils.benchmark` blocked_autorange, after a warm-up run; each run
generates FRAMES frames into a fresh folder): `generate_dataset` with workers=2 against the
baseline workers=1 in the same run. Also printed: frames per second, the CPU seconds per frame
spent in the workers (generation, and file writing in a helper thread that overlaps the next
frame) with the CPU and wall seconds of each stage (where the time goes), and the machine's load
average (the benchmark shares 2 cores with other jobs: a loaded machine slows every figure; the
CPU seconds say what 2 free cores would do: 2 / CPU s per frame).

Writes benchmarks/results/bench_synth.json. Run: python benchmarks/bench_synth.py [FRAMES]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import RESULTS, measure, report

from perception3d.sim.config import load_synth_config
from perception3d.sim.writer import generate_dataset

FRAMES = 16
SEED = 0


def main(frames: int = FRAMES) -> dict:
    cfg = load_synth_config(None, [f"frames={frames}", f"seed={SEED}"])
    load_before = os.getloadavg()
    summaries: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:

        def run(workers: int) -> None:
            out = Path(tmp) / f"w{workers}"
            summaries[f"workers={workers}"] = generate_dataset(
                out, cfg, workers=workers, overwrite=True, progress=False
            )

        figures = {
            "workers=1": measure(lambda: run(1), min_run_time=0.1),
            "workers=2": measure(lambda: run(2), min_run_time=0.1),
        }
    out = report("bench_synth", figures, baseline="workers=1")
    load_after = os.getloadavg()
    stage_names = ("scene", "geometry", "lidar", "camera", "labels", "tonemap", "write")
    for key, fig in figures.items():
        fps = frames / fig["median_s"]
        s = summaries[key]["mean_seconds"]
        cpu = sum(s[f"cpu_{name}"] for name in stage_names)
        fig.update(frames=frames, frames_per_second=fps, cpu_seconds_per_frame=cpu, stages=s)
        print(f"  {key:<10s} {fps:5.2f} frames/s  ({cpu:.3f} CPU s per frame in the workers)")
    cpu1 = figures["workers=1"]["cpu_seconds_per_frame"]
    print(
        f"  two free cores would give about 2 / {cpu1:.3f} = {2 / cpu1:.1f} frames/s "
        "(a projection from CPU time, not a measurement)"
    )
    stages = summaries["workers=1"]["mean_seconds"]
    print("  where a frame's time goes (workers=1; CPU and wall seconds per frame):")
    for name in stage_names:
        print(f"    {name:<9s} CPU {stages[f'cpu_{name}']:.3f}  wall {stages[name]:.3f}")
    out.update(
        projected_fps_two_free_cores=2 / cpu1,
        load_average_before=load_before,
        load_average_after=load_after,
        cpus=os.cpu_count(),
        mean_points=summaries["workers=1"]["mean_points"],
    )
    cpus = os.cpu_count()
    print(f"  load average before {load_before[0]:.1f}, after {load_after[0]:.1f} ({cpus} CPUs)")
    (RESULTS / "bench_synth.json").write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else FRAMES)
