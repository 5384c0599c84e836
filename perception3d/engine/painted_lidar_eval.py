"""Point IoU of a painted root, whatever painted it (a segmentation net or 2D boxes,
:mod:`perception3d.models.box_paint`): each labelled point's predicted class is the argmax of
its stored score columns, against the labels of ``perception3d fusion eval-seg-lidar``
(:func:`perception3d.engine.seg_lidar_eval.lidar_seg_labels`: the LiDAR points of the labelled
3D boxes). For a root painted by a segmentation net this is the net's ``eval-seg-lidar``
figure (the argmax of the painted scores is the argmax at the point's pixel); for box
painting the argmax is a class where that class's box score beats ``1 - score``, i.e. above
0.5 when one box covers the point.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_text
from perception3d.data.kitti import KittiObjectDataset, image_size_hw
from perception3d.engine.seg_lidar_eval import add_frame, confusion_summary, lidar_seg_labels
from perception3d.models.fusion import load_painted_points, project_to_pixels
from perception3d.models.segnet import SEG_CLASSES


def evaluate_painted_lidar(
    painted_root: str | Path, data_root: str | Path, split: str = "val"
) -> dict:
    """Per-class point IoU of the painted points of ``painted_root`` on ``split``.

    Args:
        painted_root: a painted root (``velodyne_painted``, ``calib``, ``label_2``).
        data_root: the KITTI root it was painted from (its image_2 gives each image's size).
        split: ImageSets name of ``painted_root``.

    Returns:
        As :func:`~perception3d.engine.seg_lidar_eval.evaluate_segnet_lidar`: ``frames``,
        ``objects``, ``points``, ``iou`` (None where a class is absent from truth and
        prediction), ``miou``, ``point_accuracy``.
    """
    ds = KittiObjectDataset(painted_root, split)
    image_dir = Path(data_root) / "training" / "image_2"
    c = len(SEG_CLASSES)
    confusion = np.zeros((c, c), np.int64)
    objects = dict.fromkeys(SEG_CLASSES[1:], 0)
    for fid in ds.ids:
        frame = ds.frame(fid)
        points = load_painted_points(painted_root, fid)
        if points.shape[1] != 4 + c:
            raise ValueError(f"{painted_root}: frame {fid} has {points.shape[1]} columns, "
                             f"expected {4 + c} ({SEG_CLASSES} scores)")  # fmt: skip
        hw = image_size_hw(image_dir / f"{fid}.png")
        _, labels, counted = lidar_seg_labels(points, frame.objects, frame.calib, hw)
        inside = project_to_pixels(points, frame.calib, hw)[1]
        pred = points[inside, 4:].argmax(1)
        add_frame(confusion, objects, labels, pred, counted)
    summary = confusion_summary(confusion, objects)
    summary["iou"] = {k: None if np.isnan(v) else v for k, v in summary["iou"].items()}
    return {"painted_root": str(painted_root), "split": split, "frames": len(ds.ids), **summary}


def run_painted_lidar_eval(
    painted_root: str | Path,
    data_root: str | Path,
    split: str = "val",
    out: str | Path | None = None,
) -> dict:
    """``perception3d fusion eval-seg-lidar --painted``: :func:`evaluate_painted_lidar`,
    written atomically to ``out`` as JSON when given."""
    metrics = {
        "data_root": str(data_root),
        **evaluate_painted_lidar(painted_root, data_root, split),
    }
    if out is not None:
        atomic_write_text(Path(out), json.dumps(metrics, indent=1) + "\n")
    return metrics
