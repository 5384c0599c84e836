"""Validation PSNR of SR weight files on a training config's validation crops (docs/sr.md):
the figure training logs after each epoch (``history.json``), for files trained elsewhere
(the shipped ones), so that a file is chosen on the training set's validation crops and never
on the held-out frames.

    python tools/sr_val_score.py configs/isp/train_sr_espcn_x2.yaml WEIGHTS... [--set k=v]
"""

from __future__ import annotations

import argparse
import json

from perception3d.config import load_config
from perception3d.engine.sr_config import SrExperiment
from perception3d.engine.tasks.sr import SrTask, score_pairs
from perception3d.isp.sr import load_sr_model
from perception3d.runtime import torch_threads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("weights", nargs="+")
    ap.add_argument("--set", action="append", default=[], help="config override k=v")
    args = ap.parse_args()
    cfg = load_config(args.config, SrExperiment, args.set)
    task = SrTask(cfg)
    with torch_threads(1):
        task.prepare(progress=False)
        for path in args.weights:
            model = load_sr_model(path)
            r = score_pairs(model, task.val_pairs, cfg.model.scale)
            print(json.dumps({"weights": path, **r}))


if __name__ == "__main__":
    main()
