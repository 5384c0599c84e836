"""Paired bootstrap of the far-object AP differences between the conditions of an
``isp sr-detect`` run (docs/sr.md): for each metric, class and overlap of its
``metrics.json``, AP(condition) - AP(reference) with a 95 % interval over resamplings of the
frames (the same frames for both), from the run's result files (``pred/<condition>/``).

    python tools/sr_far_bootstrap.py ROOT OUT_DIR [--reference full] [--resamples 1000]

ROOT: the KITTI-layout root the run scored (its labels); OUT_DIR: the run's ``--out``. Writes
``OUT_DIR/bootstrap_<reference>.json`` and prints a table. Reads labels only to score.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from perception3d.atomic import atomic_write_text
from perception3d.data.kitti import read_split_file
from perception3d.data.kitti_labels import read_label_file
from perception3d.experiments.sr_far_ap import paired_bootstrap


def _read_dir(folder: Path, ids: list[str]) -> dict:
    return {i: read_label_file(folder / f"{i}.txt") for i in ids if (folder / f"{i}.txt").is_file()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--split", default="val")
    ap.add_argument("--reference", default="full")
    ap.add_argument("--resamples", type=int, default=1000)
    args = ap.parse_args()
    metrics = json.loads((args.out_dir / "metrics.json").read_text())
    ids = read_split_file(args.root / "ImageSets" / f"{args.split}.txt")
    labels = {i: read_label_file(args.root / "training" / "label_2" / f"{i}.txt") for i in ids}
    out: dict = {}
    for metric, sub in (("bbox", "bbox"), ("bev", "frustum")):
        for cond in metrics.get(metric, {}):
            if cond == args.reference:
                continue
            ref = _read_dir(args.out_dir / "pred" / args.reference / sub, ids)
            dets = _read_dir(args.out_dir / "pred" / cond / sub, ids)
            for key in metrics[metric][cond]:
                cls, thr = key.split("@")
                r = paired_bootstrap(labels, ref, dets, cls, metrics["min_range_m"], float(thr),
                                     metric, args.resamples)  # fmt: skip
                out.setdefault(f"{metric} {key}", {})[cond] = r
                print(f"{metric} {key:16s} {cond:16s} {r['diff']:+6.1f} "
                      f"[{r['lo']:+6.1f}, {r['hi']:+6.1f}]")  # fmt: skip
    atomic_write_text(args.out_dir / f"bootstrap_{args.reference}.json", json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
