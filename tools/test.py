"""``python tools/test.py CONFIG CKPT --data-root DIR [--split val] [--out DIR]``: evaluate a
checkpoint the way OpenPCDet's tools/test.py does, as two CLI calls: ``perception3d infer``
(result files in OUT/pred) then ``perception3d eval kitti`` (table printed, OUT/metrics.json).
"""

import argparse
import sys
from pathlib import Path

from perception3d.cli import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--split", default="val")
    parser.add_argument("--out", type=Path, default=Path("outputs/test"))
    args, rest = parser.parse_known_args()
    pred = args.out / "pred"
    infer = ["infer", args.config, args.checkpoint, "--data-root", str(args.data_root)]
    rc = main([*infer, "--split", args.split, "--out", str(pred), *rest])
    if rc == 0:
        split_file = args.data_root / "ImageSets" / f"{args.split}.txt"
        evaluate = ["eval", "kitti", "--gt-dir", str(args.data_root), "--pred-dir", str(pred)]
        if split_file.is_file():
            evaluate += ["--split", str(split_file)]
        rc = main([*evaluate, "--out", str(args.out / "metrics.json")])
    sys.exit(rc)
