"""``python tools/fit_lidar_sensor.py --real ROOT [--real ROOT2] --out fit.json``: fit the
simulated LiDAR's response (detection, ray drop, intensity, range noise) to unlabelled real
sweeps (``perception3d.experiments.sim2real.fit_run``; docs/sim2real.md). The fitted values are
printed; they become the ``lidar:`` defaults of configs/datasets/synthkitti.yaml by hand."""

import argparse
from pathlib import Path

from perception3d.experiments.sim2real.fit_run import run_fit

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--real", type=Path, action="append", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--seed", type=int, default=777)
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument(
        "--pseudo",
        type=Path,
        action="append",
        default=[],
        help="pseudo-labelled real views (perception3d sim2real-pseudo)",
    )
    parser.add_argument(
        "--stages",
        default="detection,intensity,range,joint",
        help="comma-separated stages (also: vehicle)",
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="synthetic config override")  # fmt: skip
    args = parser.parse_args()
    log = run_fit(
        args.real,
        args.out,
        args.frames,
        args.seed,
        args.iterations,
        tuple(args.set),
        pseudo_roots=tuple(args.pseudo),
        stages=tuple(args.stages.split(",")),
    )
    print("fitted:", ", ".join(f"{k}={v:.4g}" for k, v in log["fitted"].items()))
