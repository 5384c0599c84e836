"""``python tools/train.py CONFIG [...]``: the same as ``perception3d train`` (OpenPCDet habit).

Data-parallel: ``torchrun --nproc_per_node=N tools/train.py CONFIG ...``.
"""

import sys

from perception3d.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
