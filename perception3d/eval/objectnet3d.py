"""The official ObjectNet3D measures: detection AP, AVP and AVS, per class and mean.

Follows ``VOCevaldetview_validation.m`` of the public toolbox
(github.com/yuxng/ObjectNet3D_toolbox), which extends the PASCAL VOC detection protocol:

- per class, detections of all images are sorted by decreasing score (stable for ties, like
  MATLAB's ``sort``); each is matched to the ground-truth box of its image and class with the
  largest overlap, boxes measured VOC style in inclusive pixels (width ``x2 - x1 + 1``); a
  match needs overlap >= 0.5 and a box not yet taken, otherwise it is a false positive;
- every ground-truth object of the class counts (there is no "difficult" exclusion);
- AP: the VOC 2010+ area under the precision envelope (``VOCap``, all recall points);
- viewpoint measures drop the detections matched to objects without a viewpoint; a true
  positive with geodesic rotation error ``||logm(R_gt^T R)||_F / sqrt(2) < pi/6`` counts for
  AVP, and each true positive adds ``(1 + cos err) / 2`` for AVS; AVP and AVS are the VOCap
  of these running sums over (TP + FP) against the viewpoint recall;
- means are plain averages over the classes.

Two deliberate differences, both documented in docs/objectnet3d.md: the toolbox looks up a
class's viewpoints as ``objects(j)`` with ``j`` counting that class's objects (not
``objects(clsinds(j))``), which reads another object's viewpoint in images with several
classes; we use the object's own (``toolbox_indexing=True`` reproduces the script's lookup).
And classes without ground truth (the toolbox divides by zero there) get ``None`` and stay out
of the means. Values are in percent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perception3d.data.objectnet3d import ObjectNet3DDataset, ObjectNet3DObject
from perception3d.errors import DataFormatError, read_utf8
from perception3d.geometry.iou import iou_2d
from perception3d.geometry.viewpoint import geodesic_distance_rad, rotation_from_viewpoint

MIN_OVERLAP = 0.5
VIEW_THRESHOLD_RAD = np.pi / 6
METRICS = ("ap", "ap_view", "avp", "avs")


@dataclass(frozen=True)
class Detection:
    """One detection with its viewpoint.

    Attributes:
        image_id: annotation stem.
        class_name: the class.
        bbox: (x1, y1, x2, y2), 1-based inclusive pixels like the annotations.
        score: confidence, higher first.
        azimuth_rad, elevation_rad, theta_rad: the estimated viewpoint, radians (as in the
            toolbox's detection files).
    """

    image_id: str
    class_name: str
    bbox: tuple[float, float, float, float]
    score: float
    azimuth_rad: float
    elevation_rad: float
    theta_rad: float


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the monotone precision envelope (PASCAL VOC devkit ``VOCap``, VOC 2010+).

    Example:
        >>> voc_ap(np.array([0.5, 0.5, 1.0]), np.array([1.0, 0.5, 2 / 3]))
        0.8333333333333333
    """
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    idx = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mpre[idx]))


def _class_measures(
    gt: Mapping[str, Sequence[ObjectNet3DObject]],
    detections: Sequence[Detection],
    class_name: str,
    min_overlap: float,
    toolbox_indexing: bool = False,
) -> dict:
    gt_boxes, gt_rot, taken = {}, {}, {}
    npos = npos_view = 0
    for image_id, objects in gt.items():
        objs = [o for o in objects if o.class_name == class_name]
        # The toolbox reads the j-th class object's viewpoint as objects(j) of the whole image
        # (toolbox_indexing reproduces it); the right one is the object's own.
        viewed = list(objects[: len(objs)]) if toolbox_indexing else objs
        gt_boxes[image_id] = np.array([o.bbox for o in objs], dtype=np.float64).reshape(-1, 4)
        gt_rot[image_id] = [None if o.viewpoint is None else o.viewpoint.rotation for o in viewed]
        taken[image_id] = np.zeros(len(objs), dtype=bool)
        npos += len(objs)
        npos_view += sum(o.viewpoint is not None for o in viewed)
    dets = [d for d in detections if d.class_name == class_name]
    order = np.argsort(-np.array([d.score for d in dets], dtype=np.float64), kind="stable")
    nd = len(dets)
    tp, fp, vp, vs = (np.zeros(nd) for _ in range(4))
    ignore = np.zeros(nd, dtype=bool)
    errors = []
    for rank, k in enumerate(order):
        det = dets[k]
        boxes = gt_boxes[det.image_id]
        x1, y1, x2, y2 = det.bbox
        if len(boxes) == 0 or x2 - x1 + 1 <= 0 or y2 - y1 + 1 <= 0:
            # no object, or a box without inclusive pixels (x2 < x1 - 1...): the toolbox finds
            # no intersection for it (iw, ih <= 0), so it is a false positive
            fp[rank] = 1
            continue
        # VOC inclusive pixels: iou_2d's x2 - x1 widths on boxes grown by one pixel
        grow = np.array([0.0, 0.0, 1.0, 1.0])
        overlaps = iou_2d(np.asarray(det.bbox, dtype=np.float64)[None] + grow, boxes + grow)[0]
        j = int(np.argmax(overlaps))
        if overlaps[j] < min_overlap:
            fp[rank] = 1
            continue
        ignore[rank] = gt_rot[det.image_id][j] is None
        if taken[det.image_id][j]:
            fp[rank] = 1  # multiple detection
            continue
        tp[rank] = 1
        taken[det.image_id][j] = True
        if not ignore[rank]:
            rot = rotation_from_viewpoint(det.azimuth_rad, det.elevation_rad, det.theta_rad)
            err = float(geodesic_distance_rad(gt_rot[det.image_id][j], rot))
            vs[rank] = (1.0 + np.cos(err)) / 2.0
            vp[rank] = float(err < VIEW_THRESHOLD_RAD)
            errors.append(err)
    out: dict = {"num_gt": npos, "num_gt_view": npos_view, "num_det": nd}
    if npos == 0:
        out.update(dict.fromkeys(METRICS))
    else:
        tp_c, fp_c = np.cumsum(tp), np.cumsum(fp)
        out["ap"] = 100.0 * voc_ap(tp_c / npos, tp_c / np.maximum(tp_c + fp_c, 1e-300))
        keep = ~ignore
        tpv, fpv = np.cumsum(tp[keep]), np.cumsum(fp[keep])
        if npos_view == 0:
            out.update({m: None for m in METRICS[1:]})
        else:
            rec = tpv / npos_view
            denom = np.maximum(tpv + fpv, 1e-300)
            out["ap_view"] = 100.0 * voc_ap(rec, tpv / denom)
            out["avp"] = 100.0 * voc_ap(rec, np.cumsum(vp[keep]) / denom)
            out["avs"] = 100.0 * voc_ap(rec, np.cumsum(vs[keep]) / denom)
    errs = np.array(errors)
    out["tp_view_count"] = len(errs)
    out["tp_median_error_deg"] = float(np.degrees(np.median(errs))) if len(errs) else None
    out["tp_accuracy_pi6"] = (
        100.0 * float(np.mean(errs < VIEW_THRESHOLD_RAD)) if len(errs) else None
    )
    return out


def evaluate_objectnet3d(
    gt: Mapping[str, Sequence[ObjectNet3DObject]],
    detections: Sequence[Detection],
    classes: Sequence[str],
    min_overlap: float = MIN_OVERLAP,
    toolbox_indexing: bool = False,
) -> dict:
    """Evaluate detections with viewpoints against ground truth.

    Args:
        gt: image id -> annotated objects; its keys define the evaluated images.
        detections: every detection of every class; a box without inclusive pixels
            (``x2 < x1 - 1`` or ``y2 < y1 - 1``... i.e. ``x2 - x1 + 1 <= 0``) is a false
            positive, as in the toolbox.
        classes: the class list (``Image_sets/classes.txt``).
        min_overlap: IoU needed for a match (0.5, the official value).
        toolbox_indexing: reproduce the toolbox script's unfixed viewpoint lookup
            (``objects(j)`` with ``j`` counting the class's objects: in an image holding
            several classes, another object's viewpoint), to compare with numbers published
            with the toolbox; off by default (the object's own viewpoint).

    Returns:
        ``{"classes": {name: {"ap", "ap_view", "avp", "avs", "num_gt", "num_gt_view",
        "num_det", "tp_view_count", "tp_median_error_deg", "tp_accuracy_pi6"}},
        "mean": {"ap", "ap_view", "avp", "avs", "num_classes"}, "meta": {...}}``; measures in
        percent, None for a class without ground truth (left out of the means).
        ``tp_accuracy_pi6`` / ``tp_median_error_deg`` summarize the rotation error over true
        positives with a viewpoint (not official measures; handy with ground-truth boxes).

    Raises:
        ValueError: a detection names an image not in ``gt`` or a class not in ``classes``.
    """
    class_set = set(classes)
    for det in detections:
        if det.image_id not in gt:
            raise ValueError(f"detection for unknown image {det.image_id!r} (not in the split)")
        if det.class_name not in class_set:
            raise ValueError(f"detection of unknown class {det.class_name!r}")
    per_class = {
        c: _class_measures(gt, detections, c, min_overlap, toolbox_indexing) for c in classes
    }
    mean: dict = {}
    for metric in METRICS:
        values = [r[metric] for r in per_class.values() if r[metric] is not None]
        mean[metric] = float(np.mean(values)) if values else None
    mean["num_classes"] = sum(r["ap"] is not None for r in per_class.values())
    meta = {
        "protocol": "ObjectNet3D VOCevaldetview_validation (toolbox), VOCap, percent",
        "min_overlap": min_overlap,
        "view_threshold_rad": VIEW_THRESHOLD_RAD,
        "num_images": len(gt),
        "num_detections": len(detections),
        "toolbox_indexing": toolbox_indexing,
    }
    return {"classes": per_class, "mean": mean, "meta": meta}


def read_predictions(
    path: str | Path,
    classes: Sequence[str] | None = None,
    image_ids: Sequence[str] | None = None,
) -> list[Detection]:
    """Read predictions: a file, or a folder of the toolbox's ``detections_<class>.txt``.

    File format, one detection per line, whitespace separated (``#`` starts a comment)::

        <image_id> <class> <x1> <y1> <x2> <y2> <score> <azimuth> <elevation> <theta>

    boxes in 1-based inclusive pixels, angles in radians. A folder holds per-class files
    ``detections_<class>.txt`` with the same columns minus ``<class>`` (the toolbox's own).

    Args:
        path: the file or the folder.
        classes: the dataset's classes; given, a detection of another class is an error, and so
            is a folder missing the file of one of them (an empty file: no detections), as the
            toolbox's ``fopen`` of it fails.
        image_ids: the evaluated images; given, a detection of another image is an error.

    Raises:
        DataFormatError: a line with the wrong number of columns, a non-number, an unknown class
            or image (file and line named); a folder without any ``detections_*.txt``, missing a
            class's file or holding the file of a class not in ``classes``; not UTF-8 text.
        FileNotFoundError: ``path`` does not exist.
    """
    path = Path(path)
    known = None if image_ids is None else set(image_ids)
    if path.is_dir():
        files = {f.stem[len("detections_") :]: f for f in sorted(path.glob("detections_*.txt"))}
        if not files:
            raise DataFormatError(path, "no detections_<class>.txt files in this folder")
        if classes is not None:
            _check_class_files(path, files, classes)
        out = []
        for class_name, file in files.items():
            out += _read_lines(file, class_name, None, known)
        return out
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no prediction file or folder")
    return _read_lines(path, None, None if classes is None else set(classes), known)


def _check_class_files(folder: Path, files: Mapping[str, Path], classes: Sequence[str]) -> None:
    unknown = sorted(set(files) - set(classes))
    if unknown:
        raise DataFormatError(
            files[unknown[0]],
            f"class {unknown[0]!r} is not in Image_sets/classes.txt ({len(classes)} classes: "
            f"{', '.join(classes[:8])}{', ...' if len(classes) > 8 else ''}); rename or remove "
            "the file",
        )
    missing = [c for c in classes if c not in files]
    if missing:
        shown = ", ".join(f"detections_{c}.txt" for c in missing[:5])
        raise DataFormatError(
            folder,
            f"{len(missing)} of {len(classes)} classes have no detection file ({shown}"
            f"{', ...' if len(missing) > 5 else ''}); write an empty file for a class without "
            "detections",
        )


def _read_lines(
    path: Path,
    class_name: str | None,
    classes: set[str] | None = None,
    image_ids: set[str] | None = None,
) -> list[Detection]:
    out = []
    columns = 10 if class_name is None else 9
    layout = "<image_id> " + ("<class> " if class_name is None else "")
    layout += "<x1> <y1> <x2> <y2> <score> <azimuth> <elevation> <theta>"
    text = read_utf8(path, "a UTF-8 prediction file", hint="")
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split("#", 1)[0].split()
        if not parts:
            continue
        if len(parts) != columns:
            raise DataFormatError(
                path, f"expected {columns} columns {layout}, got {len(parts)}", number
            )
        head = parts[:2] if class_name is None else [parts[0], class_name]
        try:
            values = [float(x) for x in parts[columns - 8 :]]
        except ValueError:
            raise DataFormatError(
                path, f"expected numbers after the ids: {layout}", number
            ) from None
        if not np.isfinite(values).all():
            raise DataFormatError(path, "values must be finite", number)
        if classes is not None and head[1] not in classes:
            raise DataFormatError(path, f"class {head[1]!r} is not in classes.txt", number)
        if image_ids is not None and head[0] not in image_ids:
            raise DataFormatError(path, f"image {head[0]!r} is not in the split", number)
        out.append(Detection(head[0], head[1], tuple(values[:4]), *values[4:]))  # type: ignore[arg-type]
    return out


def write_predictions(path: str | Path, detections: Sequence[Detection]) -> Path:
    """Write detections in ``read_predictions``' single-file format, atomically."""
    from perception3d.atomic import atomic_write_text

    lines = [
        f"{d.image_id} {d.class_name} {d.bbox[0]:.2f} {d.bbox[1]:.2f} {d.bbox[2]:.2f} "
        f"{d.bbox[3]:.2f} {d.score:.9g} {d.azimuth_rad:.9g} {d.elevation_rad:.9g} {d.theta_rad:.9g}"
        for d in detections
    ]
    return atomic_write_text(path, "".join(line + "\n" for line in lines))


def evaluate_objectnet3d_root(
    data_root: str | Path,
    pred_path: str | Path,
    split: str = "val",
    toolbox_indexing: bool = False,
) -> dict:
    """Read ``Image_sets/<split>.txt``, its annotations, ``classes.txt`` and the predictions
    (checked against the classes and images: ``read_predictions``); evaluate
    (``evaluate_objectnet3d``).

    Raises:
        DataFormatError: a malformed or inconsistent prediction file or annotation (named).
        MissingFrameError: the split or an annotation does not exist.
    """
    dataset = ObjectNet3DDataset(data_root, split=split)
    gt = {image_id: dataset.record(image_id).objects for image_id in dataset.ids}
    detections = read_predictions(pred_path, dataset.classes, dataset.ids)
    result = evaluate_objectnet3d(
        gt, detections, dataset.classes, toolbox_indexing=toolbox_indexing
    )
    result["meta"].update({"data_root": str(data_root), "split": split, "pred": str(pred_path)})
    return result


def format_objectnet3d_table(result: dict) -> str:
    """The per-class table the toolbox writes (AP, AP view, AVP, AVS), then the means."""

    def cell(value: float | None) -> str:
        return f"{value:8.2f}" if value is not None else f"{'-':>8}"

    width = max([len("mean"), *(len(c) for c in result["classes"])])
    lines = [f"{'class':<{width}} {'AP':>8} {'AP view':>8} {'AVP':>8} {'AVS':>8} {'#gt':>6}"]
    for name, r in result["classes"].items():
        cells = " ".join(cell(r[m]) for m in METRICS)
        lines.append(f"{name:<{width}} {cells} {r['num_gt']:6d}")
    mean = result["mean"]
    lines.append(f"{'mean':<{width}} " + " ".join(cell(mean[m]) for m in METRICS))
    return "\n".join(lines)
