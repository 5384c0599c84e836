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

Against another version of the generator: ``python benchmarks/bench_synth.py FRAMES --baseline
REPO [--repeats R]`` times this checkout's generator and REPO's (e.g. a checkout of main), one
worker each, in fresh subprocesses taking turns (R rounds; each process first generates 2
frames of another seed, so templates and caches are warm, then times FRAMES frames). Printed:
frames per second, CPU seconds per frame and peak resident memory of each, and the ratios
(medians over the rounds). Writes benchmarks/results/bench_synth_vs_baseline.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
# Time this checkout's generator, in this process and in the workers' fork server alike (without
# it, a worktree run would import the installed checkout here and the working directory's there).
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
from common import measure, metadata, report, write_result

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
    write_result("bench_synth", out)
    return out


# Run in a subprocess whose working directory is the checkout to time (it imports that
# checkout's perception3d): warm-up frames, then FRAMES timed frames, one worker.
_CHILD = r"""
import json, resource, sys, tempfile, time
from pathlib import Path
from perception3d.sim.config import load_synth_config
from perception3d.sim.writer import generate_dataset
frames, seed = int(sys.argv[1]), int(sys.argv[2])
with tempfile.TemporaryDirectory() as tmp:
    warm = load_synth_config(None, ["frames=2", f"seed={seed + 1}"])
    generate_dataset(Path(tmp) / "warm", warm, workers=1, progress=False)
    cfg = load_synth_config(None, [f"frames={frames}", f"seed={seed}"])
    t, c = time.perf_counter(), time.process_time()
    s = generate_dataset(Path(tmp) / "run", cfg, workers=1, progress=False)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "max_rss_mb": rss, "points": s["mean_points"]}))
"""


def _time_checkout(repo: Path, frames: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(frames), str(SEED)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(frames: int, baseline: Path, repeats: int = 2) -> dict:
    """Frames per second, CPU seconds per frame and peak RSS of this checkout's generator and
    of ``baseline``'s, one worker each, measured in turns in the same run."""
    ours = Path(__file__).resolve().parent.parent
    checkouts = {"this checkout": ours, f"baseline {baseline}": baseline.resolve()}
    runs: dict[str, list[dict]] = {k: [] for k in checkouts}
    load_before = os.getloadavg()
    for _ in range(repeats):
        for key, repo in checkouts.items():
            runs[key].append(_time_checkout(repo, frames))
    load_after = os.getloadavg()
    figures = {}
    for key, rs in runs.items():
        figures[key] = {
            "frames_per_second": frames / statistics.median(r["wall_s"] for r in rs),
            "cpu_seconds_per_frame": statistics.median(r["cpu_s"] for r in rs) / frames,
            "max_rss_mb": max(r["max_rss_mb"] for r in rs),
            "mean_points": rs[0]["points"],
            "runs": rs,
        }
    ours_fig, base_fig = figures["this checkout"], figures[f"baseline {baseline}"]
    print(f"== bench_synth vs baseline ({frames} frames, 1 worker, {repeats} rounds) ==")
    for key, fig in figures.items():
        print(
            f"  {key:<40s} {fig['frames_per_second']:5.2f} frames/s  "
            f"{fig['cpu_seconds_per_frame']:.3f} CPU s/frame  peak RSS {fig['max_rss_mb']:.0f} MB"
            f"  {fig['mean_points']:.0f} points/frame"
        )
    fps_ratio = ours_fig["frames_per_second"] / base_fig["frames_per_second"]
    cpu_ratio = ours_fig["cpu_seconds_per_frame"] / base_fig["cpu_seconds_per_frame"]
    print(f"  ratio this / baseline: x{fps_ratio:.2f} frames/s, x{cpu_ratio:.2f} CPU s/frame")
    cpus = os.cpu_count()
    print(f"  load average before {load_before[0]:.1f}, after {load_after[0]:.1f} ({cpus} CPUs)")
    out = {
        "benchmark": "bench_synth_vs_baseline",
        "frames": frames,
        "figures": figures,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "meta": metadata(),
    }
    write_result("bench_synth_vs_baseline", out)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="frames per second of perception3d synth")
    parser.add_argument("frames", type=int, nargs="?", default=FRAMES)
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if args.baseline is None:
        main(args.frames)
    else:
        compare(args.frames, args.baseline, args.repeats)
