"""PointPainting from 2D detection boxes instead of a segmentation map: every LiDAR point
inside image_2 gets, for each class, the highest score of the boxes of that class its pixel
lies in, and background ``1 - max`` over the classes; the painted points have exactly the
segmentation painting's layout ``[x, y, z, intensity, s_background, s_Car, s_Pedestrian,
s_Cyclist]`` (:data:`~perception3d.models.segnet.SEG_CLASSES`), so the PointPainting detector
and the painted-root storage (:func:`perception3d.models.fusion.paint_root`) take them as they
are. PointPainting (Vora et al., CVPR 2020) paints from a segmentation net; here a detection
box serves as a coarse mask.

- The pixel of a point is the segmentation painting's (:func:`~perception3d.models.fusion.
  project_to_pixels`: the pixel nearest the projection); it is in a box ``(x1, y1, x2, y2)``
  when ``x1 <= col <= x2`` and ``y1 <= row <= y2`` (pixel centres at integer coordinates).
- Points behind the camera or outside the image keep the all-zero ``fill`` of the
  segmentation painting ("not seen by the camera"); a point in the image and in no box is
  ``[1, 0, 0, 0]``.
- A box also covers what lies behind its object (the road, a wall) and the ground at its
  bottom. Optional refinement (``cluster_gap_m``, off by default): of a box's points, only the
  nearest depth cluster is painted, clusters being split where consecutive camera depths
  differ by more than ``cluster_gap_m``, the nearest cluster holding at least
  ``min_cluster_fraction`` of the box's points (so a few points of a pole or of spray in front
  of the object do not capture the box). It removes the background behind an object, not the
  road at its wheels (continuous in depth with it), and it paints the occluder when one holds
  that fraction of the box.

Boxes are read from KITTI result files (:func:`read_boxes_2d`), e.g. those ``perception3d
frustum infer-2d`` writes with any 2D detector
(``--det2d configs/frustum/detector2d_nanodet.yaml``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from perception3d.data.kitti import read_label_file
from perception3d.geometry.calib import Calibration
from perception3d.models.fusion import paint_root, project_to_pixels
from perception3d.models.segnet import SEG_CLASSES


def read_boxes_2d(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Car / Pedestrian / Cyclist boxes of a KITTI result file.

    Returns:
        ``boxes_img`` (M, 4) float64 ``(x1, y1, x2, y2)`` image_2 pixels, ``scores`` (M,)
        float64 (1 for rows without a score), ``labels`` (M,) int64 ``SEG_CLASSES`` index;
        rows of other types (Van, DontCare, ...) are skipped.

    Raises:
        FileNotFoundError: the file is missing (one result file per painted frame is needed).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: 2D box result file not found (one <id>.txt per frame, e.g. from "
            "perception3d frustum infer-2d)"
        )
    rows = [o for o in read_label_file(path) if o.type in SEG_CLASSES[1:]]
    boxes = np.array([o.bbox for o in rows], np.float64).reshape(-1, 4)
    scores = np.array([1.0 if o.score is None else o.score for o in rows], np.float64)
    labels = np.array([SEG_CLASSES.index(o.type) for o in rows], np.int64)
    return boxes, scores, labels


def nearest_depth_cluster(depth_m: np.ndarray, gap_m: float, min_fraction: float) -> np.ndarray:
    """Mask of the nearest depth cluster holding at least ``min_fraction`` of the values.

    Clusters split the sorted depths where consecutive values differ by more than ``gap_m``;
    when no cluster is large enough, the largest one.

    Example:
        >>> nearest_depth_cluster(np.array([9.0, 5.0, 5.5, 20.0, 9.2, 5.2]), 1.0, 0.3).tolist()
        [False, True, True, False, False, True]
    """
    if len(depth_m) == 0:
        return np.zeros(0, bool)
    order = np.argsort(depth_m, kind="stable")
    cluster_of_sorted = np.concatenate([[0], np.cumsum(np.diff(depth_m[order]) > gap_m)])
    sizes = np.bincount(cluster_of_sorted)
    big = np.flatnonzero(sizes >= min_fraction * len(depth_m))
    chosen = big[0] if len(big) else int(np.argmax(sizes))
    mask = np.zeros(len(depth_m), bool)
    mask[order[cluster_of_sorted == chosen]] = True
    return mask


def box_point_scores(
    rows_cols: np.ndarray,
    inside: np.ndarray,
    boxes_img: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray,
    depth_m: np.ndarray | None = None,
    cluster_gap_m: float | None = None,
    min_cluster_fraction: float = 0.2,
    fill: float = 0.0,
) -> np.ndarray:
    """(N, len(SEG_CLASSES)) float32 class scores of points from 2D boxes (module docstring).

    Args:
        rows_cols, inside: the points' pixels and image test (``project_to_pixels``).
        boxes_img: (M, 4) ``(x1, y1, x2, y2)`` image_2 pixels.
        scores: (M,) box scores in [0, 1].
        labels: (M,) ``SEG_CLASSES`` index of each box (1..C-1).
        depth_m: (N,) camera depth of each point, needed with ``cluster_gap_m``.
        cluster_gap_m: paint only the nearest depth cluster of each box's points (None: all).
        min_cluster_fraction: see :func:`nearest_depth_cluster`.
        fill: score value of the points outside the image.
    """
    boxes_img = np.asarray(boxes_img, np.float64).reshape(-1, 4)
    labels = np.asarray(labels, np.int64).reshape(-1)
    scores = np.asarray(scores, np.float64).reshape(-1)
    if not len(boxes_img) == len(labels) == len(scores):
        raise ValueError(f"boxes {boxes_img.shape}, scores {scores.shape} and labels "
                         f"{labels.shape} must have the same length")  # fmt: skip
    if ((labels < 1) | (labels >= len(SEG_CLASSES))).any():
        raise ValueError(f"labels must index the object classes of {SEG_CLASSES}, got {labels}")
    if cluster_gap_m is not None and (depth_m is None or not cluster_gap_m > 0):
        raise ValueError(f"cluster_gap_m must be > 0 with depth_m given, got {cluster_gap_m}")
    out = np.zeros((len(inside), len(SEG_CLASSES)), np.float32)
    rows, cols = rows_cols[:, 0], rows_cols[:, 1]
    for (x1, y1, x2, y2), score, label in zip(boxes_img, scores, labels):
        members = np.flatnonzero(inside & (cols >= x1) & (cols <= x2) & (rows >= y1) & (rows <= y2))
        if cluster_gap_m is not None and len(members):
            keep = nearest_depth_cluster(depth_m[members], cluster_gap_m, min_cluster_fraction)
            members = members[keep]
        out[members, label] = np.maximum(out[members, label], np.float32(score))
    out[:, 0] = 1.0 - out[:, 1:].max(1)
    out[~inside] = fill
    return out


def paint_points_boxes(
    points_lidar: np.ndarray,
    boxes_img: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray,
    calib: Calibration,
    image_hw: tuple[int, int],
    cluster_gap_m: float | None = None,
    min_cluster_fraction: float = 0.2,
) -> np.ndarray:
    """Painted points ``(N, 4+ + len(SEG_CLASSES))`` float32 from 2D boxes: the input columns,
    then :func:`box_point_scores` (arguments as there; ``image_hw`` is image_2's (H, W))."""
    if points_lidar.ndim != 2 or points_lidar.shape[1] < 4:
        raise ValueError(f"points_lidar must be (N, 4+), got {points_lidar.shape}")
    rows_cols, inside = project_to_pixels(points_lidar, calib, image_hw)
    depth_m = calib.lidar_to_rect(points_lidar[:, :3].astype(np.float64))[:, 2]
    painted = box_point_scores(rows_cols, inside, boxes_img, scores, labels, depth_m,
                               cluster_gap_m, min_cluster_fraction)  # fmt: skip
    return np.concatenate([points_lidar.astype(np.float32, copy=False), painted], axis=1)


def paint_split_boxes(
    data_root: str | Path,
    boxes_dir: str | Path,
    out: str | Path,
    images: str | Path | None = None,
    split: str = "val",
    cluster_gap_m: float | None = None,
    fov_only: bool = False,
    ids: list[str] | None = None,
    progress: bool = True,
    max_frames: int | None = None,
) -> dict:
    """Paint a split from the 2D boxes of ``boxes_dir/<id>.txt`` (KITTI result files) into a
    painted root (the storage of :func:`~perception3d.models.fusion.paint_split`; resumable).
    ``images`` only gives each frame's image size (None: ``data_root``'s image_2); the other
    arguments are :func:`~perception3d.models.fusion.paint_split`'s and
    :func:`box_point_scores`'s."""
    boxes_dir = Path(boxes_dir)

    def paint(frame, image: np.ndarray) -> np.ndarray:
        boxes, scores, labels = read_boxes_2d(boxes_dir / f"{frame.frame_id}.txt")
        return paint_points_boxes(frame.points, boxes, scores, labels, frame.calib,
                                  image.shape[1:], cluster_gap_m)  # fmt: skip

    source = {"boxes_dir": str(boxes_dir), "cluster_gap_m": cluster_gap_m}
    return paint_root(data_root, images, out, paint, source, split, fov_only, ids, progress,
                      max_frames)  # fmt: skip
