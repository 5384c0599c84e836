"""``python tools/export_weights.py SRC.pt DST.pt [--note KEY=VALUE ...]``: a weights-only
release copy of a training checkpoint (``perception3d.engine.checkpoint.release_checkpoint``),
with notes (command, seed, training time) stored in its ``extra``."""

import argparse

from perception3d.engine.checkpoint import release_checkpoint

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--note", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    notes = dict(item.split("=", 1) for item in args.note)
    print(release_checkpoint(args.src, args.dst, notes))
