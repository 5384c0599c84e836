"""Per-frame diagnosis of a 2D detector on a KITTI-layout root (docs/frustum.md, "Why the
trained detector finds so little on real images"): image statistics, the peak heatmap score
per class, and for every labelled car its best-overlapping detection (2D IoU, score, box size).

    python tools/diagnose_detector2d.py ROOT [--split val] [--det2d CKPT] [--frames N]

Reads labels to print them beside the detections; it fits nothing.
"""

from __future__ import annotations

import numpy as np
import torch

from perception3d.cli.common import root_split_parser
from perception3d.data.kitti import KittiObjectDataset
from perception3d.engine.frustum_infer import WEIGHTS, load_detector2d
from perception3d.geometry.iou import iou_2d
from perception3d.models.detector2d import detect_2d, resize_image


def main() -> None:
    ap = root_split_parser(__doc__)
    ap.add_argument("--det2d", default=str(WEIGHTS / "frustum_detector2d_dr.pt"))
    ap.add_argument("--frames", type=int, default=6)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, _ = load_detector2d(args.det2d)
    ds = KittiObjectDataset(args.root, args.split, max_frames=args.frames)
    for frame in ds:
        img = frame.image
        with torch.no_grad():
            head = model(resize_image(torch.as_tensor(img), model.input_hw))
        peaks = torch.sigmoid(head["heatmap"])[0].amax((1, 2)).numpy().round(3)
        det = detect_2d(model, img)
        stats = f"mean {img.mean((1, 2)).round(3)} std {img.std((1, 2)).round(3)}"
        print(f"{frame.frame_id} {img.shape[1]}x{img.shape[2]} {stats} peak per class {peaks}")
        cars = np.array([o.bbox for o in frame.objects if o.type == "Car"]).reshape(-1, 4)
        if len(cars) and len(det.scores):
            ious = iou_2d(cars, det.boxes_img)
            for gt, row in zip(cars, ious):
                j = int(row.argmax())
                b = det.boxes_img[j]
                size = f"{b[2] - b[0]:.0f}x{b[3] - b[1]:.0f}"
                print(f"  car {gt[2] - gt[0]:.0f}x{gt[3] - gt[1]:.0f} px: best IoU {row[j]:.2f}, "
                      f"score {det.scores[j]:.2f}, box {size} px")  # fmt: skip


if __name__ == "__main__":
    main()
