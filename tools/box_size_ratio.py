"""Width and height of a 2D detector's boxes relative to the labels' (docs/frustum.md, "Narrow
boxes"): for every labelled box of CLASS in SPLIT, the detection (score >= --min-score) of
the same class that overlaps it most; over those with 2D IoU >= --min-iou, the median and 10th
/ 90th percentiles of detection width / label width and height / label height, then the median
width ratio by the label's aspect (width / height: under 1.5 a rear or front view of a car,
1.5-2.5 oblique, over 2.5 a side view).

    python tools/box_size_ratio.py GT_ROOT PRED_DIR [--split val] [--cls Car]

GT_ROOT: a KITTI root (``training/label_2``, ``ImageSets/SPLIT.txt``); PRED_DIR: result files
(``perception3d frustum infer-2d``), or another root's ``label_2`` (rows without a score count
as detections: ``tools/project_label_boxes.py``'s root against the renders' labels compares the
two box conventions). Reads labels only to compare; it fits nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from perception3d.data.kitti import read_split_file
from perception3d.data.kitti_labels import read_label_file
from perception3d.geometry.iou import iou_2d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gt_root")
    ap.add_argument("pred_dir")
    ap.add_argument("--split", default="val")
    ap.add_argument("--cls", default="Car")
    ap.add_argument("--min-score", type=float, default=0.3)
    ap.add_argument("--min-iou", type=float, default=0.5)
    args = ap.parse_args()
    root = Path(args.gt_root)
    ratios, missed = [], 0
    for fid in read_split_file(root / "ImageSets" / f"{args.split}.txt"):
        gt = [o.bbox for o in read_label_file(root / "training" / "label_2" / f"{fid}.txt")
              if o.type == args.cls]  # fmt: skip
        pred_path = Path(args.pred_dir) / f"{fid}.txt"
        rows = read_label_file(pred_path) if pred_path.exists() else []
        keep = [o.score is None or o.score >= args.min_score for o in rows]
        det = [o.bbox for o, k in zip(rows, keep) if k and o.type == args.cls]
        if not gt:
            continue
        if not det:
            missed += len(gt)
            continue
        gt_b, det_b = np.array(gt).reshape(-1, 4), np.array(det).reshape(-1, 4)
        ious = iou_2d(gt_b, det_b)  # (G, D)
        for g, row in zip(gt_b, ious):
            j = int(row.argmax())
            if row[j] < args.min_iou:
                missed += 1
                continue
            d = det_b[j]
            aspect = (g[2] - g[0]) / (g[3] - g[1])
            ratios.append(((d[2] - d[0]) / (g[2] - g[0]), (d[3] - d[1]) / (g[3] - g[1]), aspect))
    r = np.array(ratios).reshape(-1, 3)
    print(f"{args.cls}: {len(r)} labelled boxes matched at IoU >= {args.min_iou} "
          f"(score >= {args.min_score}), {missed} not")  # fmt: skip
    for k, name in enumerate(("width", "height")):
        if len(r):
            p10, p50, p90 = np.percentile(r[:, k], [10, 50, 90])
            print(f"  {name} detection / label: median {p50:.3f} (p10 {p10:.3f}, p90 {p90:.3f})")
    for lo, hi in ((0.0, 1.5), (1.5, 2.5), (2.5, np.inf)):
        m = (r[:, 2] >= lo) & (r[:, 2] < hi)
        if m.any():
            print(f"  label aspect {lo}-{hi}: {m.sum()} boxes, width ratio median "
                  f"{np.median(r[m, 0]):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
