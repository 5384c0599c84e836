"""Validation during training: inference on the val split, then the KITTI evaluation
(``perception3d.eval.kitti.evaluate_kitti``, the official protocol)."""

from __future__ import annotations

import time

import numpy as np
import torch

from perception3d.engine.infer import predict, predict_detections
from perception3d.lidar.dataset import LidarDetectionDataset
from perception3d.models.detector import VoxelDetector

# The strict overlap of each class (KITTI protocol): the headline 3D / BEV AP keys.
STRICT_OVERLAP = {"Car": "0.7", "Pedestrian": "0.5", "Cyclist": "0.5"}
# The IoU of a LiDAR-only dataset's validation: KITTI's strict Car overlap, else 0.5.
LIDAR_IOU = {"Car": 0.7}


def headline_scalars(result: dict, classes) -> dict[str, float]:
    """``{"<Class>_3d_R40_moderate": AP, "<Class>_bev_R40_moderate": AP}`` from an evaluator
    result (AP in percent), for the classes present in it."""
    out = {}
    for name in classes:
        if name not in result or name not in STRICT_OVERLAP:
            continue
        r40 = result[name]["R40"]
        overlap = STRICT_OVERLAP[name]
        out[f"{name}_3d_R40_moderate"] = float(r40[f"3d@{overlap}"][1])
        out[f"{name}_bev_R40_moderate"] = float(r40[f"bev@{overlap}"][1])
    return out


def validate(
    model: VoxelDetector, dataset: LidarDetectionDataset, device: torch.device, progress=True
) -> dict:
    """Evaluate ``model`` on ``dataset`` (ground truth from its label files).

    Returns:
        ``{"result": evaluator JSON, "scalars": headline APs, "summary": one line, "seconds"}``.
    """
    if getattr(dataset, "data_format", "kitti") in ("lidar", "kitti_raw"):
        return validate_lidar(model, dataset, device, progress)
    from perception3d.eval.kitti import evaluate_kitti

    t0 = time.perf_counter()
    pred = dict(predict(model, dataset, device, progress=progress))
    gt = {fid: dataset.kitti.frame(fid).objects for fid in dataset.ids}
    result = evaluate_kitti(gt, pred, classes=model.classes)
    return _validation(result, headline_scalars(result, model.classes), "AP_R40 moderate", t0)


def _validation(result: dict, scalars: dict[str, float], metric: str, t0: float) -> dict:
    """The dict :func:`validate` returns; the summary lists the 3D scalars per class."""
    summary = " ".join(f"{k.split('_')[0]} {v:.1f}" for k, v in scalars.items() if "_3d_" in k)
    return {
        "result": result,
        "scalars": scalars,
        "summary": f"val 3D {metric}: {summary}",
        "seconds": time.perf_counter() - t0,
    }


def validate_lidar(
    model: VoxelDetector, dataset: LidarDetectionDataset, device: torch.device, progress=True
) -> dict:
    """Evaluate ``model`` on a LiDAR-only dataset: BEV / 3D AP per class
    (``perception3d.eval.lidar``), IoU 0.7 for Car and 0.5 for other classes.

    Returns:
        As :func:`validate`; scalars ``<Class>_3d_R40`` and ``<Class>_bev_R40``.
    """
    from perception3d.data.lidar_folder import LidarLabels
    from perception3d.eval.lidar import evaluate_lidar

    t0 = time.perf_counter()
    pred = {}
    for fid, det in predict_detections(model, dataset, device, progress=progress):
        if det is None:  # no voxel in the frame: no detections
            pred[fid] = LidarLabels(np.zeros((0, 7)), np.zeros(0, dtype=object), np.zeros(0))
            continue
        names = np.array([model.classes[int(k)] for k in det.labels], dtype=object)
        pred[fid] = LidarLabels(det.boxes_lidar.double().numpy(), names, det.scores.numpy())
    gt = {fid: dataset.kitti.frame(fid).labels for fid in dataset.ids}
    iou = {c: LIDAR_IOU.get(c, 0.5) for c in model.classes}
    result = evaluate_lidar(gt, pred, model.classes, iou)
    scalars = {}
    for name in model.classes:
        scalars[f"{name}_3d_R40"] = float(result[name]["3d"]["R40"])
        scalars[f"{name}_bev_R40"] = float(result[name]["bev"]["R40"])
    return _validation(result, scalars, "AP_R40", t0)
