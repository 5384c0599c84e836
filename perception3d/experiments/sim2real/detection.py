"""Detection quality on a compared set, and where the false positives land.

Quality is what a few frames can support: per class and difficulty the all-point AP over the
true recall, TP / FP / FN with precision and recall at a score threshold, and the official
AP_R40 beside its cap and the object counts (`perception3d.eval.kitti`).

False positives: the detections scoring at least the threshold, matched per frame by the
protocol's rules at moderate difficulty in bird's-eye view at overlap 0.5 (Car's second overlap
set, Pedestrian's and Cyclist's first); each unmatched counted one is classified by what it hit
(`fp_kinds.classify_box`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from perception3d.data.kitti import KittiObject
from perception3d.eval.kitti import evaluate_kitti, match_frame
from perception3d.eval.kitti_io import read_predictions
from perception3d.experiments.sim2real.fp_kinds import FP_KINDS, classify_box
from perception3d.experiments.sim2real.sweeps import Sweep
from perception3d.geometry.calib import boxes_cam_to_lidar
from perception3d.geometry.iou import iou_2d

__all__ = ["detection_summary", "false_positive_kinds", "predict_sweeps", "read_prediction_dirs"]

_FP_OVERLAP = 0.5


def predict_sweeps(
    sweeps: Sequence[Sweep], config: Path | None, checkpoint: Path
) -> dict[str, list[KittiObject]]:
    """Run a detector checkpoint on the sweeps (camera field of view, as in training).

    Returns:
        ``{key: result rows}``, key = ``"<root>/<frame id>"`` (see :func:`sweep_key`).
    """
    import torch

    from perception3d.engine.infer import load_detector, predict
    from perception3d.lidar.dataset import LidarDetectionDataset

    cfg = None
    if config is not None:
        from perception3d.engine.config import load_experiment

        cfg = load_experiment(config)
    model, exp = load_detector(checkpoint, cfg, device="cpu")
    out: dict[str, list[KittiObject]] = {}
    by_root: dict[Path, list[str]] = {}
    for s in sweeps:
        by_root.setdefault(s.root, []).append(s.frame_id)
    for root, ids in by_root.items():
        ds = LidarDetectionDataset.of_experiment(exp, root, "training", ids=ids)
        for fid, objects in predict(model, ds, torch.device("cpu"), progress=False):
            out[f"{root}/{fid}"] = objects
    return out


def sweep_key(sweep: Sweep) -> str:
    return f"{sweep.root}/{sweep.frame_id}"


def read_prediction_dirs(
    sweeps: Sequence[Sweep], pred_dirs: Mapping[Path, Path]
) -> dict[str, list[KittiObject]]:
    """Result files ``pred_dirs[root]/<id>.txt`` of each sweep (missing file: no detections)."""
    out = {}
    for s in sweeps:
        path = Path(pred_dirs[s.root]) / f"{s.frame_id}.txt"
        out[sweep_key(s)] = read_predictions(path) if path.is_file() else []
    return out


def detection_summary(
    sweeps: Sequence[Sweep],
    predictions: Mapping[str, Sequence[KittiObject]],
    classes: Sequence[str],
    score_threshold: float,
) -> dict:
    """The evaluator's result on the labelled sweeps (``evaluate_kitti`` with the threshold)."""
    gt = {sweep_key(s): s.objects for s in sweeps if s.labelled}
    if not gt:
        return {}
    return evaluate_kitti(gt, predictions, classes=classes, score_threshold=score_threshold)


def _in_dontcare(det: KittiObject, objects: Sequence[KittiObject]) -> bool:
    dc = np.array([o.bbox for o in objects if o.is_dontcare], dtype=np.float64).reshape(-1, 4)
    if len(dc) == 0:
        return False
    return bool(iou_2d(np.array([det.bbox]), dc, criterion="a").max() >= 0.5)


def false_positive_kinds(
    sweeps: Sequence[Sweep],
    predictions: Mapping[str, Sequence[KittiObject]],
    ground: Mapping[str, np.ndarray],
    classes: Sequence[str],
    score_threshold: float,
) -> dict:
    """Per class: counts of false positives by kind (`fp_kinds.FP_KINDS`), the number of
    labelled frames, and every false positive (frame, score, kind, distance)."""
    out = {}
    for cls in classes:
        counts = dict.fromkeys(FP_KINDS, 0)
        listing = []
        frames = 0
        for s in sweeps:
            if not s.labelled:
                continue
            frames += 1
            key = sweep_key(s)
            dets = [d for d in predictions.get(key, ()) if d.score >= score_threshold]
            if not dets:
                continue
            m = match_frame(s.objects, dets, cls, metric="bev", overlap=_FP_OVERLAP)
            fps = np.flatnonzero(m.pred_status == "fp")
            if len(fps) == 0:
                continue
            boxes = boxes_cam_to_lidar(np.array([dets[k].box_cam for k in fps]), s.calib)
            for k, box in zip(fps, boxes):
                kind = classify_box(
                    box,
                    s.fov_points,
                    ground[key],
                    s.boxes_lidar,
                    s.names,
                    _in_dontcare(dets[k], s.objects),
                )
                counts[kind] += 1
                listing.append(
                    {
                        "frame": s.frame_id,
                        "score": round(dets[k].score, 3),
                        "kind": kind,
                        "distance_m": round(float(np.hypot(box[0], box[1])), 1),
                    }
                )
        out[cls] = {"frames": frames, "counts": counts, "false_positives": listing}
    return out
