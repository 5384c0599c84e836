"""``python tools/convert_checkpoint.py OLD.pt NEW.pt [OLD2.pt NEW2.pt ...]``: convert weight
files of the formats before perception3d's one checkpoint format (version 2) once: detector and
Frustum PointNet checkpoints, segmentation net files, ObjectNet3D ``model.pt``, ISP stage
files (``perception3d.engine.legacy``). The tensors are copied unchanged; loading an old file
anywhere else is refused with this command in the message."""

import argparse
import sys

from perception3d.engine.legacy import convert_checkpoint

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pairs", nargs="+", metavar="OLD NEW", help="source, destination, ...")
    args = parser.parse_args()
    if len(args.pairs) % 2:
        parser.error("give pairs of files: OLD NEW [OLD NEW ...]")
    for src, dst in zip(args.pairs[::2], args.pairs[1::2]):
        print(f"{src} -> {convert_checkpoint(src, dst)}")
    sys.exit(0)
