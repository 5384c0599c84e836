"""Horizon-window zoom for the 2D detector (issue 18 §2, issue 21 §1; docs/frustum.md,
"Horizon tiles").

The frustum 2D detector resizes every image to its ``input_hw`` (192 x 640, about half of
``image_2``), so objects beyond 40 m shrink to a few pixels. :func:`detect_with_tiles` also
detects ``tiles`` windows of ``tile_hw`` pixels around the horizon (placed from the
calibration by :func:`tile_boxes`), each resized by the detector itself (96 x 320 -> 192 x 640:
a bilinear x2 zoom) or by a given upscaler, maps their boxes back to the frame, drops the
boxes a window side may have cut (:func:`keep_inside`) and merges them with the whole frame's
by per-class non-maximum suppression (:func:`merge`). ``perception3d frustum infer`` /
``infer-2d --horizon-tiles`` and ``perception3d isp sr-detect``
(:mod:`perception3d.experiments.sr_far`) both run this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import torch

from perception3d.geometry.iou import iou_2d
from perception3d.models.detector2d import Detections2D

Detect = Callable[[np.ndarray], Detections2D]


@dataclasses.dataclass(frozen=True)
class HorizonTiles:
    """Window placement and merge settings.

    ``tile_hw``: window size (pixels of ``image_2``; 96 x 320 zoomed x2 is the detector's
    input size); ``tiles`` windows side by side, ``tile_stride`` px apart, centred on the
    principal point's column ``P2[0, 2]``, their top ``rows_above_horizon`` rows above its row
    ``P2[1, 2]``; a window box within ``edge_margin_px`` of a window side inside the image is
    dropped; ``nms_iou``: the per-class NMS overlap of the merge.
    """

    tile_hw: tuple[int, int] = (96, 320)
    tiles: int = 3
    tile_stride: int = 240
    rows_above_horizon: int = 40
    edge_margin_px: float = 2.0
    nms_iou: float = 0.5

    def __post_init__(self) -> None:
        if min(self.tile_hw) < 8 or self.tiles < 1 or self.tile_stride < 1:
            raise ValueError(f"tile_hw must be >= 8 px and tiles, tile_stride >= 1, got "
                             f"{self.tile_hw}, {self.tiles}, {self.tile_stride}")  # fmt: skip
        if not 0.0 < self.nms_iou <= 1.0 or self.edge_margin_px < 0:
            raise ValueError(f"nms_iou must be in (0, 1] and edge_margin_px >= 0, got "
                             f"{self.nms_iou}, {self.edge_margin_px}")  # fmt: skip


def tile_boxes(cfg: HorizonTiles, p2: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """(tiles, 4) integer windows ``[x0, y0, x1, y1]`` (pixels, x1 / y1 exclusive) around the
    horizon, each shifted to lie inside the image (a dimension larger than the image: the whole
    of it)."""
    (th, tw), (h, w) = cfg.tile_hw, image_hw
    th, tw = min(th, h), min(tw, w)
    y0 = int(np.clip(round(p2[1, 2]) - cfg.rows_above_horizon, 0, h - th))
    span = tw + (cfg.tiles - 1) * cfg.tile_stride
    x_first = round(p2[0, 2]) - span // 2
    out = []
    for i in range(cfg.tiles):
        x0 = int(np.clip(x_first + i * cfg.tile_stride, 0, w - tw))
        out.append([x0, y0, x0 + tw, y0 + th])
    return np.array(out, dtype=np.int64)


def keep_inside(boxes: np.ndarray, tile: np.ndarray, image_hw, margin: float) -> np.ndarray:
    """Mask of frame boxes (N, 4) not within ``margin`` px of a side of ``tile`` that lies
    inside the image (an image border cuts no object the frame does not cut)."""
    x0, y0, x1, y1 = tile
    h, w = image_hw
    keep = np.ones(len(boxes), dtype=bool)
    if x0 > 0:
        keep &= boxes[:, 0] > x0 + margin
    if y0 > 0:
        keep &= boxes[:, 1] > y0 + margin
    if x1 < w:
        keep &= boxes[:, 2] < x1 - margin
    if y1 < h:
        keep &= boxes[:, 3] < y1 - margin
    return keep


def nms_per_class(boxes, scores, labels, iou: float) -> np.ndarray:
    """Indices kept by greedy per-class non-maximum suppression, best score first.

    Example:
        >>> b = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10.0]])
        >>> nms_per_class(b, np.array([0.9, 0.8, 0.7]), np.array([0, 0, 1]), 0.5).tolist()
        [0, 2]
    """
    boxes, labels = np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(labels)
    order = np.argsort(-np.asarray(scores), kind="stable")
    suppressed = np.zeros(len(boxes), dtype=bool)
    keep = []
    for i in order:  # the overlaps of kept boxes only: O(kept x N), not an N x N matrix
        if suppressed[i]:
            continue
        keep.append(int(i))
        rest = np.flatnonzero(~suppressed & (labels == labels[i]))
        suppressed[rest[iou_2d(boxes[i : i + 1], boxes[rest])[0] > iou]] = True
    return np.array(keep, dtype=np.int64)


def detect_tiles(detect: Detect, image: np.ndarray, tiles: np.ndarray,
                 up: Callable | None, margin: float):  # fmt: skip
    """Per window, (boxes in frame pixels, scores, labels) of ``detect`` on the window of
    ``image`` (3, H, W) upscaled x2 by ``up`` ((1, 3, h, w) tensor -> (1, 3, 2h, 2w); None:
    as it is, for the detector's own resize), window-side boxes dropped."""
    hw = image.shape[1:]
    parts = []
    for tile in tiles:
        x0, y0, x1, y1 = (int(v) for v in tile)
        crop = torch.from_numpy(np.ascontiguousarray(image[:, y0:y1, x0:x1]))[None]
        factor = 1.0
        if up is not None:
            zoomed = up(crop)
            factor = zoomed.shape[-1] / crop.shape[-1]
            crop = zoomed
        det = detect(crop[0].numpy())
        boxes = det.boxes_img.astype(np.float64) / factor + [x0, y0, x0, y0]
        keep = keep_inside(boxes, tile, hw, margin)
        parts.append((boxes[keep], det.scores[keep], det.labels[keep]))
    return parts


def merge(parts, nms_iou: float):
    """One frame's detections from several passes: concatenated, then per-class NMS."""
    boxes = np.concatenate([p[0] for p in parts]).reshape(-1, 4)
    scores = np.concatenate([p[1] for p in parts]).astype(np.float64)
    labels = np.concatenate([p[2] for p in parts]).astype(np.int64)
    keep = nms_per_class(boxes, scores, labels, nms_iou)
    return boxes[keep], scores[keep], labels[keep]


def as_part(det: Detections2D):
    """A :class:`Detections2D` as a (boxes float64, scores, labels) pass for :func:`merge`."""
    return det.boxes_img.astype(np.float64), det.scores, det.labels


def detect_with_tiles(detect: Detect, image: np.ndarray, p2: np.ndarray, cfg: HorizonTiles,
                      up: Callable | None = None) -> Detections2D:  # fmt: skip
    """``detect`` on the whole (3, H, W) image and on the horizon windows ``cfg`` places from
    the camera matrix ``p2`` (3, 4), merged; boxes in image pixels."""
    windows = tile_boxes(cfg, p2, image.shape[1:])
    parts = [as_part(detect(image))]
    parts += detect_tiles(detect, image, windows, up, cfg.edge_margin_px)
    boxes, scores, labels = merge(parts, cfg.nms_iou)
    return Detections2D(boxes.astype(np.float32), scores.astype(np.float32), labels)
