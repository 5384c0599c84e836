"""Draw KITTI frames with ground truth and predictions, as ``perception3d viz`` does.

    python tools/visualize.py --data-root data/kitti --frame 000008 --pred-dir results/ \
        --views bev,image,3d --out frame.png
    python tools/visualize.py --data-root data/kitti --split data/kitti/ImageSets/val.txt \
        --out val.mp4
"""

from __future__ import annotations

import sys

from perception3d.cli import main

if __name__ == "__main__":
    sys.exit(main(["viz", *sys.argv[1:]]))
