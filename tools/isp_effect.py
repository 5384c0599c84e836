"""``python tools/isp_effect.py CONFIG [--quick] [--out DIR]``: the same as
``perception3d isp-effect`` (docs/isp_effect.md)."""

import sys

from perception3d.cli import main

if __name__ == "__main__":
    sys.exit(main(["isp-effect", *sys.argv[1:]]))
