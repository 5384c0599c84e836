"""KITTI's 2D box convention recomputed from a label's 3D box.

KITTI's ``label_2`` boxes come from the 3D labels (object devkit readme: annotators labelled 3D
boxes in the point clouds, and for pedestrians additionally their left / right boundaries in
the image). On the labelled real frames of ``tests/data/kitti_samples`` a car's ``bbox`` is
its 3D box projected through P2 and clipped to the image: width and height within 1 % of the
projection for all 11 cars, occluded ones included (amodal boxes); pedestrians have the
projection's top and bottom (height ratio 1.00) and narrower left / right (0.42-1.0 of the
projection's width). The generator's labels (:mod:`perception3d.sim.labels`) follow the same
rule (:func:`kitti_bbox`) since 2026-12-06; roots written before hold the tight box of the
*visible* pixels: on the synthetic val frames of seed 1000 an unoccluded car's box is 0.94 of
the projection's width and 0.93 of its height (median), an occluded one much less. A detector
trained on those learns boxes that are narrower than KITTI's (docs/frustum.md, "Narrow
boxes").

:func:`projected_label_boxes` rewrites the boxes in KITTI's convention: vehicles (``Car``,
``Van``, ``Truck``, ``Tram``, ``Misc``) get the clipped projection of their 3D box;
``Pedestrian``, ``Person_sitting`` and ``Cyclist`` keep the label's left / right (their
outline, as KITTI's annotated boundaries) and take top / bottom from the projection; DontCare
rows and rows whose 3D box is not in front of the camera or not on the image keep theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_text, replace_symlink
from perception3d.data.kitti_labels import KittiObject, write_label_file
from perception3d.geometry.boxes import boxes_to_image_2d
from perception3d.geometry.calib import Calibration, boxes_cam_to_lidar

__all__ = [
    "PERSON_TYPES",
    "VEHICLE_TYPES",
    "kitti_bbox",
    "projected_label_boxes",
    "write_projected_root",
]

VEHICLE_TYPES = ("Car", "Van", "Truck", "Tram", "Misc")
PERSON_TYPES = ("Pedestrian", "Person_sitting", "Cyclist")


def kitti_bbox(
    label: str, projected, outline, image_hw: tuple[int, int]
) -> tuple[float, float, float, float]:
    """KITTI's 2D box of one object (module docstring).

    Args:
        label: KITTI type; persons (:data:`PERSON_TYPES`) keep their outline's left / right.
        projected: (4,) [x1, y1, x2, y2] its projected 3D box, pixels (clipped here).
        outline: (4,) its box as drawn around its pixels (the label's or the render's).
        image_hw: (H, W) of image_2; boxes are clipped to ``[0, W - 1] x [0, H - 1]``.
    """
    h, w = image_hw
    x1, y1, x2, y2 = (float(c) for c in projected)
    top, bottom = float(np.clip(y1, 0, h - 1)), float(np.clip(y2, 0, h - 1))
    if label in PERSON_TYPES:
        return (outline[0], top, outline[2], bottom)
    return (float(np.clip(x1, 0, w - 1)), top, float(np.clip(x2, 0, w - 1)), bottom)


def projected_label_boxes(
    objects: Sequence[KittiObject], calib: Calibration, image_hw: tuple[int, int]
) -> list[KittiObject]:
    """Label rows with ``bbox`` in KITTI's convention (module docstring).

    Args:
        objects: one frame's label rows.
        calib: the frame's calibration.
        image_hw: (H, W) of image_2, pixels; boxes are clipped to ``[0, W - 1] x [0, H - 1]``.

    Returns:
        The rows in the same order, ``bbox`` replaced where the rule applies, every other
        field unchanged.

    Example:
        >>> from perception3d.geometry.calib import Calibration
        >>> p2 = np.array([[700.0, 0, 600, 0], [0, 700, 180, 0], [0, 0, 1, 0]])
        >>> velo_to_cam = np.array([[0.0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0]])
        >>> calib = Calibration(p2, np.eye(3), velo_to_cam)
        >>> # a car 20 m ahead, 4 m long along the optical axis: its near bottom edge at 18 m
        >>> car = KittiObject("Car", 0.0, 0, 0.0, (1, 2, 3, 4), (1.5, 1.6, 4.0), (0, 1.5, 20),
        ...                   np.pi / 2)
        >>> [round(v, 1) for v in projected_label_boxes([car], calib, (375, 1242))[0].bbox]
        [568.9, 180.0, 631.1, 238.3]
    """
    rows = list(objects)
    todo = [
        i
        for i, o in enumerate(rows)
        if o.type in VEHICLE_TYPES + PERSON_TYPES and min(o.dimensions) > 0
    ]
    if not todo:
        return rows
    boxes_cam = np.array([rows[i].box_cam for i in todo], dtype=np.float64)  # (M, 7)
    proj, valid = boxes_to_image_2d(boxes_cam_to_lidar(boxes_cam, calib), calib, image_hw)
    for i, box, ok in zip(todo, proj, valid):
        if not ok or box[2] <= box[0] or box[3] <= box[1]:
            continue
        o = rows[i]
        rows[i] = replace(o, bbox=kitti_bbox(o.type, box, o.bbox, image_hw))
    return rows


def write_projected_root(src_root: str | Path, dst_root: str | Path, split: str) -> Path:
    """A KITTI root whose ``label_2`` of ``split`` holds :func:`projected_label_boxes`' rows.

    ``dst_root/training/{image_2,calib,velodyne}/<id>.*`` are symlinks to ``src_root``'s
    files (those that exist), ``label_2`` files are written atomically, and
    ``ImageSets/<split>.txt`` lists the frames: an evaluation root in KITTI's box convention
    for a synthetic root whose boxes are the visible pixels' (``perception3d eval kitti
    --gt-dir dst_root``).

    Raises:
        FileExistsError: ``dst_root`` is ``src_root``.
    """
    from perception3d.data.kitti import KittiObjectDataset

    src, dst = Path(src_root).resolve(), Path(dst_root)
    if dst.resolve() == src:
        raise FileExistsError(f"{dst}: the output root must differ from the source root")
    ds = KittiObjectDataset(src, split)
    for frame in ds:
        for folder, path in (
            ("image_2", frame.image_path),
            ("calib", frame.calib_path),
            ("velodyne", frame.velodyne_path),
        ):
            if path is None or not Path(path).exists():
                continue
            replace_symlink(path, dst / "training" / folder / Path(path).name)
        rows = projected_label_boxes(frame.objects, frame.calib, frame.image_shape)
        write_label_file(dst / "training" / "label_2" / f"{frame.frame_id}.txt", rows)
    ids = "".join(f"{frame.frame_id}\n" for frame in ds)
    atomic_write_text(dst / "ImageSets" / f"{split}.txt", ids)
    return dst
