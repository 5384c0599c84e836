"""Segmentation IoU on real frames without pixel labels: sparse labels from the LiDAR points
of the labelled 3D boxes (``perception3d fusion eval-seg-lidar``).

KITTI's object benchmark has 3D boxes but no segmentation masks. A LiDAR point that lies in a
labelled 3D box belongs to that object; projected into ``image_2`` (the pixel nearest its
projection, :func:`perception3d.models.fusion.project_to_pixels`) it labels that pixel. Rules
(:func:`lidar_seg_labels`), with ``SEG_CLASSES`` indices:

- inside the box of a Car / Pedestrian / Cyclist and more than ``ground_margin_m`` above its
  bottom face: that class (the lowest band is ignored: road points at the wheels and feet);
- inside a box enlarged by ``box_margin_m`` on every side but not an object point as above:
  ignored (label boxes are not tight to the centimetre, and mirrors and bicycles stick out);
- inside a Van, Person_sitting or Misc box (enlarged): ignored (the segmentation net paints
  vans as cars, and the others have no segmentation class of their own); Truck and Tram are
  background, as in the synthetic mapping (:func:`perception3d.models.segnet.semantic_to_seg_lut`);
- projected into a DontCare 2D box: ignored (unlabelled objects);
- every other point in the image: background.

Each labelled point counts once with the net's argmax class at its pixel; per-class IoU is
``TP / (TP + FP + FN)`` over the labelled points.

Limits (stated with every figure): the labels are sparse (tens of thousands of points per
frame, none above the LiDAR's top beam at +2 degrees, so no sky and little of buildings'
upper parts) and weighted by LiDAR density (near objects have many more points than far
ones); the LiDAR and the camera sit at different places, so near an occlusion edge a point the
LiDAR sees can project onto the occluder in the image (a few pixels at object borders); points
of the glass of a car pass through it and are labelled by what lies behind. On a handful of
frames the figure rests on a handful of objects: the number of objects and points is reported
beside each IoU.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from perception3d.atomic import atomic_write_text
from perception3d.data.kitti import KittiObjectDataset, read_image
from perception3d.engine.tasks.segnet import confusion_iou
from perception3d.geometry.boxes import points_in_boxes
from perception3d.geometry.calib import boxes_cam_to_lidar
from perception3d.models.fusion import project_to_pixels
from perception3d.models.segnet import SEG_CLASSES, SegNet, load_segnet, predict_scores

IGNORE = -1
_CLASS_OF = {"Car": 1, "Pedestrian": 2, "Cyclist": 3, "Truck": 0, "Tram": 0}
_IGNORED_TYPES = ("Van", "Person_sitting", "Misc")


def lidar_seg_labels(
    points_lidar: np.ndarray,
    objects,
    calib,
    image_hw: tuple[int, int],
    box_margin_m: float = 0.25,
    ground_margin_m: float = 0.15,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse pixel labels of one frame from its LiDAR points and labelled 3D boxes.

    Args:
        points_lidar: (N, 3+) LiDAR frame, metres.
        objects: the frame's ``KittiObject`` labels (DontCare included).
        calib: the frame's calibration.
        image_hw: (H, W) of image_2.
        box_margin_m, ground_margin_m: see the module docstring.

    Returns:
        ``rows_cols`` (K, 2) int64 pixels of the points inside the image, ``labels`` (K,)
        int64 SEG_CLASSES index or -1 (ignored), and (len(SEG_CLASSES),) int64 the number of
        objects of each class with at least one labelled point (0 for background).

    Example:
        >>> f = KittiObjectDataset("tests/data/kitti_samples", ids=["000008"]).frame(8)
        >>> rc, lab, n = lidar_seg_labels(f.points, f.objects, f.calib, (375, 1242))
        >>> n.tolist(), sorted(set(lab.tolist()))
        ([0, 6, 0, 0], [-1, 0, 1])
    """
    rows_cols, inside = project_to_pixels(points_lidar, calib, image_hw)
    pts = np.asarray(points_lidar)[inside, :3]
    rows_cols = rows_cols[inside]
    labels = np.zeros(len(pts), np.int64)
    cared = [o for o in objects if not o.is_dontcare]
    counted = np.zeros(len(SEG_CLASSES), np.int64)
    if cared:
        boxes = boxes_cam_to_lidar(np.array([o.box_cam for o in cared], np.float64), calib)
        grown = boxes.copy()
        grown[:, 3:6] += 2 * box_margin_m
        in_grown = points_in_boxes(pts, grown, return_mask=True).any(1)
        labels[in_grown] = IGNORE
        shrunk = boxes.copy()  # the box without its lowest band
        shrunk[:, 5] -= ground_margin_m
        shrunk[:, 2] += ground_margin_m / 2
        member = points_in_boxes(pts, shrunk, return_mask=True)  # (K, M)
        for k, obj in enumerate(cared):
            cls = IGNORE if obj.type in _IGNORED_TYPES else _CLASS_OF.get(obj.type, IGNORE)
            mine = member[:, k]
            if cls == IGNORE:
                labels[np.flatnonzero(points_in_boxes(pts, grown[k : k + 1]) == 0)] = IGNORE
            elif cls > 0 and mine.any():
                labels[mine] = cls
                counted[cls] += 1
            elif cls == 0:
                labels[mine] = 0
    for obj in objects:
        if obj.is_dontcare:
            x1, y1, x2, y2 = obj.bbox
            r, c = rows_cols[:, 0], rows_cols[:, 1]
            labels[(c >= x1) & (c <= x2) & (r >= y1) & (r <= y2)] = IGNORE
    return rows_cols, labels, counted


def evaluate_segnet_lidar(
    net: SegNet,
    data_root: str | Path,
    split: str = "val",
    images_dir: str | Path | None = None,
    progress: bool = False,
) -> dict:
    """Per-class IoU of ``net`` on the LiDAR-labelled points of a KITTI root's frames.

    Args:
        net: the segmentation net (put in eval mode here).
        data_root: KITTI-layout root with image_2, velodyne, calib, label_2.
        split: ImageSets name.
        images_dir: folder of ``<id>.png`` replacing image_2 (an ISP's output), or None.

    Returns:
        ``frames``, ``objects`` (per class, with a labelled point), ``points`` (labelled
        points per class), ``iou`` (per class; NaN where a class is absent from both truth
        and prediction), ``miou`` and ``point_accuracy``.
    """
    net.eval()
    ds = KittiObjectDataset(data_root, split)
    c = len(SEG_CLASSES)
    confusion = np.zeros((c, c), np.int64)
    objects = dict.fromkeys(SEG_CLASSES[1:], 0)
    for frame in tqdm(ds, desc="seg lidar eval", disable=not progress, leave=False):
        if images_dir is not None:
            image = read_image(Path(images_dir) / f"{frame.frame_id}.png")
        else:
            image = frame.image
        if image is None:
            continue
        rc, labels, counted = lidar_seg_labels(frame.points, frame.objects, frame.calib,
                                         image.shape[1:])  # fmt: skip
        pred = predict_scores(net, image).argmax(0)[rc[:, 0], rc[:, 1]]
        add_frame(confusion, objects, labels, pred, counted)
    return {"frames": len(ds), **confusion_summary(confusion, objects)}


def add_frame(
    confusion: np.ndarray, objects: dict, labels: np.ndarray, pred: np.ndarray, counted
) -> None:
    """Add one frame to the running ``confusion`` (C, C) matrix (rows: label) and ``objects``
    counts: ``labels`` (N,) of :func:`lidar_seg_labels` (-1: ignored), ``pred`` (N,) the
    predicted class of the same points, ``counted`` its objects per class."""
    c = len(confusion)
    keep = labels >= 0
    confusion += np.bincount(labels[keep] * c + pred[keep], minlength=c * c).reshape(c, c)
    for k, name in enumerate(SEG_CLASSES[1:], start=1):
        objects[name] += int(counted[k])


def confusion_summary(confusion: np.ndarray, objects: dict) -> dict:
    """``objects``, ``points`` per class, ``iou`` per class (NaN for a class absent from truth
    and prediction), ``miou`` and ``point_accuracy`` of a point confusion matrix."""
    iou = confusion_iou(confusion)
    return {
        "objects": objects,
        "points": {name: int(confusion[k].sum()) for k, name in enumerate(SEG_CLASSES)},
        "iou": {name: float(v) for name, v in zip(SEG_CLASSES, iou)},
        "miou": float(np.nanmean(iou)),
        "point_accuracy": float(np.diag(confusion).sum() / max(confusion.sum(), 1)),
    }


def run_seg_lidar_eval(
    seg_weights: str | Path,
    data_root: str | Path,
    split: str = "val",
    images_dir: str | Path | None = None,
    out: str | Path | None = None,
) -> dict:
    """``perception3d fusion eval-seg-lidar``: :func:`evaluate_segnet_lidar` of a weight file,
    written atomically to ``out`` as JSON when given."""
    metrics = evaluate_segnet_lidar(load_segnet(seg_weights), data_root, split, images_dir)
    metrics = {"weights": str(seg_weights), "data_root": str(data_root), "split": split,
               **metrics}  # fmt: skip
    metrics["iou"] = {k: None if np.isnan(v) else v for k, v in metrics["iou"].items()}
    if out is not None:  # NaN (a class absent from truth and prediction) as null
        atomic_write_text(Path(out), json.dumps(metrics, indent=1) + "\n")
    return metrics
