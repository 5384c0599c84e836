"""Shared benchmark plumbing: time the public API, print the figure and its baseline ratio,
write JSON with run metadata to benchmarks/results/."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.utils.benchmark as tbench

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).parents[1]
SAMPLES = ROOT / "tests" / "data" / "kitti_samples"  # the six real KITTI frames
SHIPPED_PILLARS = ROOT / "perception3d" / "assets" / "weights" / "pointpillars_lite_synth.pt"


def measure(fn: Callable[[], object], min_run_time: float = 1.0) -> dict:
    """Median and interquartile range (seconds) of ``fn()`` via ``blocked_autorange``, with
    torch's current thread count (``Timer`` alone would run ``fn`` on one thread)."""
    fn()  # warm-up (numba JIT, caches)
    timer = tbench.Timer(stmt="fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    m = timer.blocked_autorange(min_run_time=min_run_time)
    return {"median_s": m.median, "iqr_s": m.iqr, "runs": len(m.times)}


def metadata() -> dict:
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }


def report(name: str, figures: dict[str, dict], baseline: str) -> dict:
    """Print each figure with its ratio to ``figures[baseline]`` and write the JSON."""
    base = figures[baseline]["median_s"]
    print(f"== {name} ==")
    for key, fig in figures.items():
        ratio = base / fig["median_s"]
        fig["speedup_vs_" + baseline] = ratio
        print(
            f"  {key:<40s} median {fig['median_s'] * 1e3:9.3f} ms  "
            f"(IQR {fig['iqr_s'] * 1e3:.3f} ms, {fig['runs']} runs)  "
            f"x{ratio:.2f} vs {baseline}"
        )
    out = {"benchmark": name, "baseline": baseline, "figures": figures, "meta": metadata()}
    write_result(name, out)
    return out


def write_result(name: str, out: dict) -> None:
    """Write ``out`` to ``benchmarks/results/NAME.json`` (indented JSON)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(out, indent=2))
