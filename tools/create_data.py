"""Build the ground-truth database, as OpenPCDet's ``create_data.py`` does for its users:
``python tools/create_data.py --data-root DIR [--split train] [--out DIR2]``
(the same as ``perception3d create-db``)."""

import sys

from perception3d.cli import main

if __name__ == "__main__":
    sys.exit(main(["create-db", *sys.argv[1:]]))
