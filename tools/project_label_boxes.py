"""Write an evaluation root whose 2D boxes follow KITTI's convention (docs/frustum.md, "Narrow
boxes"): images, calibration and sweeps linked from ROOT, ``label_2`` of SPLIT rewritten by
:func:`perception3d.data.label_boxes.projected_label_boxes`.

    python tools/project_label_boxes.py ROOT OUT [--split val]
"""

from __future__ import annotations

import argparse

from perception3d.data.label_boxes import write_projected_root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("out")
    ap.add_argument("--split", default="val")
    args = ap.parse_args()
    print(write_projected_root(args.root, args.out, args.split))


if __name__ == "__main__":
    main()
