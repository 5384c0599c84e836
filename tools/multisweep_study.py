"""The multi-sweep study of docs/multisweep.md.

``python tools/multisweep_study.py points --data-root DRIVES [--split val] [--sweeps 0 3]
--out FILE.json``: returns per labelled object with 1 + K sweeps, by class and distance.

``python tools/multisweep_study.py eval CONFIG NAME=CKPT [NAME=CKPT ...] --data-root DRIVES
[--split val] [--set key=value ...] [--run-set NAME:key=value ...] --out FILE.json``: BEV / 3D
AP of each checkpoint by distance and occlusion level (each run: CONFIG with the ``--set``
overrides, then its own ``--run-set`` ones).
"""

import argparse
import json
import sys

from perception3d.atomic import atomic_write_text
from perception3d.data.drive_frames import DriveDetectionFrames
from perception3d.engine.config import load_experiment
from perception3d.experiments import multisweep


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("points")
    p.add_argument("--data-root", required=True)
    p.add_argument("--split", default="val")
    p.add_argument("--sweeps", type=int, nargs="+", default=[0, 3])
    p.add_argument("--out", required=True)
    e = sub.add_parser("eval")
    e.add_argument("config")
    e.add_argument("runs", nargs="+", help="NAME=CHECKPOINT")
    e.add_argument("--data-root", required=True)
    e.add_argument("--split", default="val")
    e.add_argument("--set", action="append", default=[])
    e.add_argument("--run-set", action="append", default=[], help="NAME:key=value")
    e.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.cmd == "points":
        frames = DriveDetectionFrames(args.data_root, args.split)
        result = multisweep.points_per_object(frames, args.sweeps)
        atomic_write_text(args.out, json.dumps(result, indent=1))
        print(multisweep.format_points(result))
        return 0
    results = {}
    for run in args.runs:
        name, _, ckpt = run.partition("=")
        own = [s.split(":", 1)[1] for s in args.run_set if s.split(":", 1)[0] == name]
        cfg = load_experiment(args.config, [*args.set, f"data.root={args.data_root}", *own])
        results[name] = multisweep.evaluate_checkpoint(cfg, ckpt, args.split)
    atomic_write_text(args.out, json.dumps(results, indent=1))
    for iou_set in multisweep.IOU_SETS:
        print(f"\n{iou_set} IoU: all-point AP (AP_R40)\n")
        print(multisweep.format_breakdown(results, iou_set))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
