"""Validation during training: inference on the val split, then the KITTI evaluation
(``perception3d.eval.kitti.evaluate_kitti``, the official protocol)."""

from __future__ import annotations

import time

import torch

from perception3d.engine.infer import predict
from perception3d.lidar.dataset import LidarDetectionDataset
from perception3d.models.detector import VoxelDetector

# The strict overlap of each class (KITTI protocol): the headline 3D / BEV AP keys.
STRICT_OVERLAP = {"Car": "0.7", "Pedestrian": "0.5", "Cyclist": "0.5"}


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
    from perception3d.eval.kitti import evaluate_kitti

    t0 = time.perf_counter()
    pred = dict(predict(model, dataset, device, progress=progress))
    gt = {fid: dataset.kitti.frame(fid).objects for fid in dataset.ids}
    result = evaluate_kitti(gt, pred, classes=model.classes)
    scalars = headline_scalars(result, model.classes)
    summary = " ".join(f"{k.split('_')[0]} {v:.1f}" for k, v in scalars.items() if "_3d_" in k)
    return {
        "result": result,
        "scalars": scalars,
        "summary": f"val 3D AP_R40 moderate: {summary}",
        "seconds": time.perf_counter() - t0,
    }
