"""The multi-sweep study (docs/multisweep.md): what accumulating earlier sweeps does for far and
occluded objects of KITTI raw drives.

- :func:`points_per_object`: the physical figure, no training: returns inside each labelled
  box of the current frame, from the current sweep alone and from K accumulated sweeps, by
  class and distance.
- :func:`evaluate_breakdown`: a detector's BEV / 3D AP on a drive split, split by distance of
  the box centre (< 20, 20-40, >= 40 m, in the ground plane) and by the tracklets' occlusion
  level (0, 1, 2), with object counts (``perception3d.eval.lidar``).

Breakdown rules (KITTI's "ignored", as its difficulties use it): in a distance bin, objects and
detections whose centres lie in another bin are ignored (a match to them counts neither way),
as Waymo's range breakdown assigns both by their own range; in an occlusion level, objects of
the other levels are ignored and every detection counts (detections have no occlusion, as in
KITTI's difficulties). Vans are ignored for Car and Person_sitting for Pedestrian (KITTI's
neighbour classes); DontCare objects of the drive frames (:mod:`perception3d.data.drive_frames`)
are ignored everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from perception3d.data.drive_frames import DriveDetectionFrames
from perception3d.data.lidar_folder import LidarLabels
from perception3d.eval.lidar import evaluate_lidar
from perception3d.geometry.boxes import points_in_boxes
from perception3d.lidar.dataset import LidarDetectionDataset
from perception3d.lidar.multisweep import accumulate_sweeps

__all__ = ["DISTANCE_BINS_M", "IOU_SETS", "evaluate_breakdown", "points_per_object"]

DISTANCE_BINS_M = ((0.0, 20.0), (20.0, 40.0), (40.0, np.inf))  # the last ends at the range edge
NEIGHBOUR = {"Van": "Car", "Person_sitting": "Pedestrian"}
MOVING_MPS = 0.5  # ground speed from which an object counts as moving
# IoU thresholds: KITTI's strict (Car 0.7, others 0.5) and loose (0.5, 0.25) overlap sets
IOU_SETS = {
    "strict": {"Car": 0.7, "Pedestrian": 0.5, "Cyclist": 0.5},
    "loose": {"Car": 0.5, "Pedestrian": 0.25, "Cyclist": 0.25},
}


def _bin_name(lo: float, hi: float) -> str:
    return f"{lo:g}-{hi:g} m" if np.isfinite(hi) else f">= {lo:g} m"


def _range_m(boxes_lidar: np.ndarray) -> np.ndarray:
    return np.hypot(boxes_lidar[:, 0], boxes_lidar[:, 1])


def points_per_object(frames: DriveDetectionFrames, sweeps: Sequence[int] = (0, 3)) -> dict:
    """Returns inside each in-image tracklet box with 1 + K accumulated sweeps, for each K of
    ``sweeps``, by class and distance.

    Args:
        frames: the drive frames.
        sweeps: the K to compare (0: the frame's own sweep).

    Returns:
        ``{"labelled": {class: {bin: {"objects": n, "K=<k>": {"median", "mean",
        "under_5"}}}}, "hidden": {class: {"objects": n, "K=<k>": {"with_returns": n}}}}``:
        per labelled object the median and mean count and how many have fewer than 5 returns;
        ``hidden``: the objects DontCare because their own sweep has no return in the box
        (occlusion set), and how many of them K sweeps give at least one return.
    """
    labelled, hidden = [], []  # (class, range_m, counts per K)
    for frame in frames:
        boxes, names, occlusion, cared = frame.objects_in_image
        if len(boxes) == 0:
            continue
        counts = np.stack([
            points_in_boxes(accumulate_sweeps(*frame.sweep_history(k)), boxes,
                            return_mask=True).sum(0)
            for k in sweeps
        ], axis=1)  # fmt: skip
        ranges = _range_m(boxes)
        for j, name in enumerate(names):
            row = (str(name), float(ranges[j]), counts[j])
            if cared[j]:
                labelled.append(row)
            elif occlusion[j] >= 0:
                hidden.append(row)
    out: dict = {"labelled": {}, "hidden": {}}
    for name in sorted({r[0] for r in labelled}):
        out["labelled"][name] = {}
        for lo, hi in DISTANCE_BINS_M:
            sel = np.array([r[2] for r in labelled if r[0] == name and lo <= r[1] < hi])
            entry = {"objects": len(sel)}
            for i, k in enumerate(sweeps):
                c = sel[:, i] if len(sel) else np.zeros(0)
                entry[f"K={k}"] = {
                    "median": float(np.median(c)) if len(c) else None,
                    "mean": float(c.mean()) if len(c) else None,
                    "under_5": int(np.count_nonzero(c < 5)),
                }
            out["labelled"][name][_bin_name(lo, hi)] = entry
    for name in sorted({r[0] for r in hidden}):
        sel = np.array([r[2] for r in hidden if r[0] == name])
        entry = {"objects": len(sel)}
        for i, k in enumerate(sweeps):
            entry[f"K={k}"] = {"with_returns": int(np.count_nonzero(sel[:, i] > 0))}
        out["hidden"][name] = entry
    return out


def predictions(model, dataset: LidarDetectionDataset, device: torch.device) -> dict:
    """frame id -> LiDAR-frame :class:`LidarLabels` with scores of ``model`` on ``dataset``."""
    from perception3d.engine.infer import predict_detections

    out = {}
    for fid, det in predict_detections(model, dataset, device, progress=False):
        if det is None:
            out[fid] = LidarLabels(np.zeros((0, 7)), np.zeros(0, object), np.zeros(0))
            continue
        names = np.array([model.classes[int(k)] for k in det.labels], dtype=object)
        out[fid] = LidarLabels(det.boxes_lidar.double().numpy(), names, det.scores.numpy())
    return out


def _ground_truth(frames: DriveDetectionFrames, point_range_m) -> tuple[dict, ...]:
    """frame id -> labels (neighbour classes renamed, DontCare added), always-ignored mask
    (neighbours, DontCare, centres outside ``point_range_m``), occlusion level (-1 for
    DontCare), ground speed in m/s (NaN for DontCare)."""
    gt, ignored, occlusion, speed = {}, {}, {}, {}
    lo, hi = np.asarray(point_range_m[:3]), np.asarray(point_range_m[3:])
    for frame in frames:
        lab = frame.labels
        names = np.array([NEIGHBOUR.get(n, n) for n in lab.names], dtype=object)
        neighbour = np.array([n in NEIGHBOUR for n in lab.names], dtype=bool)
        dc = frame.dontcare_boxes_lidar
        gt[frame.frame_id] = LidarLabels(
            np.concatenate([lab.boxes_lidar, dc]),
            np.concatenate([names, np.full(len(dc), "DontCare", object)]),
        )
        boxes = gt[frame.frame_id].boxes_lidar
        outside = ((boxes[:, :3] < lo) | (boxes[:, :3] > hi)).any(axis=1)
        ignored[frame.frame_id] = np.concatenate([neighbour, np.ones(len(dc), bool)]) | outside
        occlusion[frame.frame_id] = np.concatenate([frame.occlusion, np.full(len(dc), -1)])
        cared = frame.objects_in_image[3]
        speed[frame.frame_id] = np.concatenate([frame.speeds_mps[cared], np.full(len(dc), np.nan)])
    return gt, ignored, occlusion, speed


def _summary(result: dict, classes: Sequence[str]) -> dict:
    """The AP figures of an :func:`evaluate_lidar` result the study reports."""
    out = {}
    for name in classes:
        entry = result[name]
        out[name] = {"objects": entry["num_gt"]}
        for metric in ("bev", "3d"):
            ap = entry[metric]
            out[name][metric] = {"R40": ap["R40"], "all_point": ap["all_point"]}
            if "at_score" in ap:
                out[name][metric]["recall_at_score"] = ap["at_score"]["recall"]
    return out


def evaluate_breakdown(
    pred: dict,
    frames: DriveDetectionFrames,
    point_range_m: Sequence[float],
    classes: Sequence[str] = ("Car", "Pedestrian", "Cyclist"),
    score_threshold: float = 0.3,
) -> dict:
    """AP of ``pred`` (frame id -> :class:`LidarLabels` with scores) on ``frames``: overall,
    per distance bin and per occlusion level, for both IoU sets (module docstring). Objects
    whose centre lies outside ``point_range_m`` (the detector's ``[x0, y0, z0, x1, y1, z1]``)
    are ignored: the detector cannot see them.

    Returns:
        ``{iou_set: {split: {class: {"objects", "bev": {"R40", "all_point",
        "recall_at_score"}, "3d": {...}}}}}``; splits ``all``, the distance bins and
        ``occlusion 0/1/2``, ``static`` / ``moving`` (ground speed below / from
        :data:`MOVING_MPS`, the other group ignored, every detection counted); recall at
        ``score_threshold``.
    """
    gt, base_ignored, occlusion, speed = _ground_truth(frames, point_range_m)
    ids = list(gt)
    empty = LidarLabels(np.zeros((0, 7)), np.zeros(0, object), np.zeros(0))
    pred = {f: pred.get(f, empty) for f in ids}
    splits: dict = {"all": ({f: base_ignored[f] for f in ids}, None)}
    for lo, hi in DISTANCE_BINS_M:

        def outside(boxes, lo=lo, hi=hi):
            r = _range_m(boxes)
            return (r < lo) | (r >= hi)

        gt_ign = {f: base_ignored[f] | outside(gt[f].boxes_lidar) for f in ids}
        splits[_bin_name(lo, hi)] = (gt_ign, {f: outside(pred[f].boxes_lidar) for f in ids})
    for level in (0, 1, 2):
        gt_ign = {f: base_ignored[f] | (occlusion[f] != level) for f in ids}
        splits[f"occlusion {level}"] = (gt_ign, None)
    moving = {f: speed[f] >= MOVING_MPS for f in ids}  # NaN (DontCare): neither
    splits["static"] = ({f: base_ignored[f] | moving[f] for f in ids}, None)
    splits["moving"] = ({f: base_ignored[f] | ~moving[f] for f in ids}, None)
    out: dict = {name: {split: {} for split in splits} for name in IOU_SETS}
    for name in classes:  # DontCare boxes absorb detections of every class: one class a pass
        gt_c = {f: LidarLabels(g.boxes_lidar, np.where(g.names == "DontCare", name, g.names))
                for f, g in gt.items()}  # fmt: skip
        for set_name, iou in IOU_SETS.items():
            for split, (gt_ign, dt_ign) in splits.items():
                result = evaluate_lidar(
                    gt_c, pred, [name], {name: iou[name]}, score_threshold,
                    gt_ignored=gt_ign, pred_ignored=dt_ign,
                )  # fmt: skip
                out[set_name][split].update(_summary(result, [name]))
    return out


def evaluate_checkpoint(config, checkpoint, split: str = "val", score_threshold: float = 0.3):
    """:func:`evaluate_breakdown` of a detector checkpoint on the ``split`` of ``config``'s
    drive root (``config``: an :class:`~perception3d.engine.config.ExperimentConfig` with
    ``data.format: kitti_raw``; the checkpoint's model must match its ``model`` section).

    Returns:
        ``{"breakdown": ..., "frames": n, "sweeps": K}``.
    """
    from perception3d.engine.infer import load_detector

    model, _ = load_detector(checkpoint, config, device="cpu")
    dataset = LidarDetectionDataset.of_experiment(config, config.data.root, split)
    pred = predictions(model, dataset, torch.device("cpu"))
    breakdown = evaluate_breakdown(
        pred, dataset.kitti, config.model.voxel.point_range_m, model.classes, score_threshold
    )
    return {"breakdown": breakdown, "frames": len(dataset), "sweeps": config.data.sweeps}


def format_breakdown(runs: dict[str, dict], iou_set: str = "strict") -> str:
    """A markdown table: one row per (class, split, metric), one AP column per run
    (all-point AP, then R40 in brackets), the object count first.

    Args:
        runs: run name -> :func:`evaluate_checkpoint` result.
    """
    names = list(runs)
    first = runs[names[0]]["breakdown"][iou_set]
    head = "| class | split | objects | metric | " + " | ".join(names) + " |"
    lines = [head, "|" + "---|" * (4 + len(names))]
    for split, classes in first.items():
        for name, entry in classes.items():
            if entry["objects"] == 0:
                continue
            for metric in ("bev", "3d"):
                cells = []
                for run in names:
                    ap = runs[run]["breakdown"][iou_set][split][name][metric]
                    cells.append(f"{ap['all_point']:.1f} ({ap['R40']:.1f})")
                lines.append(
                    f"| {name} | {split} | {entry['objects']} | {metric} | "
                    + " | ".join(cells) + " |"
                )  # fmt: skip
    return "\n".join(lines)


def format_points(result: dict) -> str:
    """Markdown tables of :func:`points_per_object`: median (mean) returns per labelled object
    and objects under 5 returns, per class, distance bin and K; then the hidden objects."""
    labelled = result["labelled"]
    ks = [k for k in next(iter(next(iter(labelled.values())).values())) if k != "objects"]
    head = "| class | distance | objects | " + " | ".join(f"{k}: median (mean), < 5" for k in ks)
    lines = [head + " |", "|" + "---|" * (3 + len(ks))]
    for name, bins in labelled.items():
        for bin_name, entry in bins.items():
            if entry["objects"] == 0:
                continue
            cells = [
                f"{entry[k]['median']:.0f} ({entry[k]['mean']:.0f}), {entry[k]['under_5']}"
                for k in ks
            ]
            lines.append(
                f"| {name} | {bin_name} | {entry['objects']} | " + " | ".join(cells) + " |"
            )
    hidden_head = "| class | no return in own sweep | " + " | ".join(f"{k}: some" for k in ks)
    lines += ["", hidden_head + " |", "|" + "---|" * (2 + len(ks))]
    for name, entry in result["hidden"].items():
        cells = [str(entry[k]["with_returns"]) for k in ks]
        lines.append(f"| {name} | {entry['objects']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
