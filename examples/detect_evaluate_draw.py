"""Load a frame, detect, evaluate, draw.

Load a KITTI frame, detect 3D boxes with the shipped PointPillars-lite, evaluate them with the
official KITTI protocol and draw them (bird's-eye view and camera image, TP / FP / FN colours).

Run from the repository root: ``python examples/detect_evaluate_draw.py [--out DIR]``. The
frames are the real KITTI samples in ``tests/data/kitti_samples`` (2 labelled frames with an
image: a few seconds on a CPU); pass ``--data-root`` for any KITTI-layout root.
"""

# %%
import argparse
from pathlib import Path

import torch

from perception3d.data.kitti import KittiObjectDataset
from perception3d.engine.infer import load_detector, predict
from perception3d.eval.kitti import evaluate_kitti
from perception3d.lidar.dataset import LidarDetectionDataset
from perception3d.viz.canvas import save_png
from perception3d.viz.frame import VizOptions, render_frame

parser = argparse.ArgumentParser(description="detect, evaluate and draw KITTI frames")
parser.add_argument("--data-root", type=Path, default=Path("tests/data/kitti_samples"))
parser.add_argument("--out", type=Path, default=Path("outputs/examples"))
args, _ = parser.parse_known_args()  # parse_known_args: also runs inside a notebook
weights = Path("perception3d/assets/weights/pointpillars_lite_synth.pt")

# %% [markdown]
# **Load a frame.** `KittiObjectDataset` reads the KITTI object layout: a frame has its LiDAR
# sweep (`points`, (N, 4) x, y, z, reflectance in the LiDAR frame), `image` (3, H, W sRGB),
# `calib` and its label rows (`objects`, camera frame).

# %%
kitti = KittiObjectDataset(args.data_root, "training")
ids = [fid for fid in kitti.ids if kitti.frame(fid).image is not None]
frame = max((kitti.frame(fid) for fid in ids), key=lambda f: len(f.objects))
print(f"{len(ids)} frames with an image; frame {frame.frame_id}: {len(frame.points)} points, "
      f"image {frame.image_shape}, label rows {[o.type for o in frame.objects]}")  # fmt: skip

# %% [markdown]
# **Detect.** The checkpoint carries its config; the dataset built from it crops and voxelizes
# each sweep as the detector was trained. `predict` yields KITTI result rows per frame.

# %%
torch.set_num_threads(2)
model, experiment = load_detector(weights, device="cpu")
dataset = LidarDetectionDataset.of_experiment(experiment, args.data_root, "training", ids=ids)
pred = dict(predict(model, dataset, torch.device("cpu"), progress=False))
for fid, rows in pred.items():
    print(fid, [f"{r.type} {r.score:.2f}" for r in rows[:5]])

# %% [markdown]
# **Evaluate** with the official protocol (AP at R11 / R40, easy / moderate / hard). Two real
# frames are far too few for a meaningful AP: this shows the API, not the detector's quality
# (docs/detectors.md has the measured figures).

# %%
gt = {fid: kitti.frame(fid).objects for fid in ids}
result = evaluate_kitti(gt, pred, classes=model.classes)
for name, overlap in (("Car", "3d@0.7"), ("Pedestrian", "3d@0.5"), ("Cyclist", "3d@0.5")):
    objects = result["meta"]["gt_counted"][name]["moderate"]
    ap = result[name]["all_point"][overlap][1]  # [easy, moderate, hard]
    print(f"{name:10s} moderate objects {objects:2d}  3D AP (all-point, {overlap}) {ap:5.1f}")
# format_kitti_table(result) prints the full table; write_metrics(result, path) the JSON

# %% [markdown]
# **Draw** the frame: BEV and image_2, ground truth and predictions coloured TP / FP / FN by
# the evaluator's matching rules.

# %%
picture = render_frame(frame, pred[frame.frame_id], VizOptions(views=("bev", "image")))
path = save_png(args.out / f"detect_{frame.frame_id}.png", picture)
print(f"wrote {path} ({picture.shape[1]} x {picture.shape[0]} px)")
