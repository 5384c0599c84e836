"""``perception3d fusion paint --det2d``: paint a split from the boxes a 2D detector finds on
each frame's image, in one pass (:mod:`perception3d.models.box_paint`; the same painting as
``frustum infer-2d`` then ``fusion paint --boxes``, without the result files in between).

The detector is any ``--det2d`` of ``frustum infer`` (:func:`perception3d.engine.frustum_infer.
load_detector2d`: a ``detector2d`` checkpoint, or a YAML such as
``configs/frustum/detector2d_nanodet.yaml``), run on the whole image only (no horizon tiles;
NanoDet tiles the image itself). Its classes are matched to ``SEG_CLASSES`` by name; boxes of
other classes are not painted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from perception3d.engine.frustum_infer import load_detector2d, run_detector_2d
from perception3d.models.box_paint import paint_points_boxes
from perception3d.models.fusion import paint_root
from perception3d.models.segnet import SEG_CLASSES
from perception3d.runtime import torch_threads


def paint_split_detector(
    data_root: str | Path,
    detector,
    out: str | Path,
    images: str | Path | None = None,
    split: str = "val",
    cluster_gap_m: float | None = None,
    fov_only: bool = False,
    progress: bool = True,
    max_frames: int | None = None,
    source: dict | None = None,
) -> dict:
    """Paint a split from ``detector``'s boxes on each image (``images``' PNGs, or
    ``data_root``'s image_2), into a painted root (resumable).

    Args:
        detector: a 2D detector with ``classes`` and ``detect(image)`` or a ``CenterNet2D``
            (:func:`~perception3d.engine.frustum_infer.run_detector_2d`).
        source: what to record in ``painting.json`` (default: the detector's class name).
        The others: :func:`perception3d.models.box_paint.paint_split_boxes`'s.
    """
    to_seg = np.array([SEG_CLASSES.index(c) if c in SEG_CLASSES[1:] else -1
                       for c in detector.classes], np.int64)  # fmt: skip

    def paint(frame, image: np.ndarray) -> np.ndarray:
        det = run_detector_2d(detector, image)
        labels = to_seg[np.asarray(det.labels, np.int64)]
        keep = labels > 0
        return paint_points_boxes(frame.points, np.asarray(det.boxes_img)[keep],
                                  np.asarray(det.scores)[keep], labels[keep], frame.calib,
                                  image.shape[1:], cluster_gap_m)  # fmt: skip

    info = source or {"det2d": type(detector).__name__}
    return paint_root(data_root, images, out, paint, {**info, "cluster_gap_m": cluster_gap_m},
                      split, fov_only, None, progress, max_frames)  # fmt: skip


def paint_split_det2d_file(
    data_root: str | Path, det2d: str | Path, out: str | Path, workers: int = 1, **kwargs
) -> dict:
    """:func:`paint_split_detector` with the detector of a ``--det2d`` file, at ``workers``
    torch threads."""
    detector = load_detector2d(det2d)[0]
    with torch_threads(workers):
        return paint_split_detector(data_root, detector, out, source={"det2d": str(det2d)},
                                    **kwargs)  # fmt: skip
