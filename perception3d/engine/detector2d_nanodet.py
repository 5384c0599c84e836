"""KITTI Car / Pedestrian / Cyclist boxes from the pretrained COCO detector NanoDet-g
(:class:`perception3d.models.nanodet_coco.NanoDetCoco`), described by a small YAML file
(``configs/frustum/detector2d_nanodet.yaml``, ``task: detector2d_nanodet``) that ``--det2d``
accepts in place of a checkpoint (:func:`perception3d.engine.frustum_infer.load_detector2d`).

Passes (fixed from the network's 416 x 416 input, not from labels): square tiles as tall as
the image (375 x 375 on ``image_2``, resized x1.11 to 416), overlapping by half a tile (6 on a
1242-px-wide image), so any object up to half a tile wide lies whole in one tile; plus the whole
image resized to 416 px wide (x0.33, the rows below it black) for objects too wide for a tile.
A tile box within ``edge_margin_px`` of a tile side inside the image is dropped (the side may
cut its object). The passes' boxes of each COCO class are merged by NMS at ``nms_iou``.

Class map (``car_classes``, ``pedestrian_classes``; COCO names): car, truck, bus -> Car; person
-> Pedestrian; a person box paired with a bicycle box -> Cyclist, the union of the two boxes
with the lower of their scores. A pair is a bicycle box and the person box overlapping it most,
with intersection over the smaller box >= ``cyclist_min_overlap``, bicycles taken by descending
score, each person used once; only bicycle boxes scoring >= ``cyclist_min_score`` (0.3, the
operating threshold of the docs' P / R figures) pair, so that a faint bicycle box near a
pedestrian's legs does not turn the pedestrian into a cyclist. A bicycle without a rider is
dropped (KITTI labels riders, not parked bicycles). Then per-class NMS at ``nms_iou`` on the
KITTI classes (a car found as both car and truck keeps one box) and the best ``max_detections``
boxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from perception3d.config import load_config
from perception3d.engine.horizon_tiles import keep_inside, nms_per_class
from perception3d.geometry.iou import iou_2d
from perception3d.models.detector2d import Detections2D, resize_image
from perception3d.models.nanodet_coco import COCO_CLASSES, INPUT_SIZE, NanoDetCoco
from perception3d.models.ssdlite_person import tile_starts

__all__ = ["Detector2DNanoDetConfig", "NanoDetKitti", "load_nanodet_detector2d", "pair_cyclists"]

KITTI_CLASSES = ("Car", "Pedestrian", "Cyclist")


@dataclass(frozen=True)
class Detector2DNanoDetConfig:
    """``task: detector2d_nanodet`` YAML (see the module docstring).

    Attributes:
        model_json: the ``nanodet.json`` graph, its ``nanodet.bin`` beside it (None: where
            ``make pretrained-npm`` puts them).
        car_classes / pedestrian_classes: COCO class names mapped to Car / Pedestrian.
        cyclist_rider / cyclist_vehicle: COCO classes paired into a Cyclist box.
        cyclist_min_overlap: intersection over the smaller box of a rider-vehicle pair.
        cyclist_min_score: minimum score of a vehicle box that may pair.
        score_threshold: minimum score kept.
        nms_iou: 2D IoU of the NMS merges.
        edge_margin_px: tile boxes this close to a tile side inside the image are dropped.
        global_pass: also detect the whole image resized to the input width.
        max_detections: most boxes per image, best first.
    """

    task: Literal["detector2d_nanodet"] = "detector2d_nanodet"
    model_json: Path | None = None
    car_classes: tuple[str, ...] = ("car", "truck", "bus")
    pedestrian_classes: tuple[str, ...] = ("person",)
    cyclist_rider: str = "person"
    cyclist_vehicle: str = "bicycle"
    cyclist_min_overlap: float = 0.3
    cyclist_min_score: float = 0.3
    score_threshold: float = 0.05
    nms_iou: float = 0.5
    edge_margin_px: float = 2.0
    global_pass: bool = True
    max_detections: int = 100

    def __post_init__(self) -> None:
        names = [*self.car_classes, *self.pedestrian_classes, self.cyclist_rider,
                 self.cyclist_vehicle]  # fmt: skip
        unknown = [n for n in names if n not in COCO_CLASSES]
        if unknown:
            raise ValueError(
                f"unknown COCO class names {unknown}; expected names of {COCO_CLASSES}"
            )
        if not 0.0 < self.nms_iou <= 1.0 or not 0.0 < self.cyclist_min_overlap <= 1.0:
            raise ValueError(f"nms_iou and cyclist_min_overlap must be in (0, 1], got "
                             f"{self.nms_iou}, {self.cyclist_min_overlap}")  # fmt: skip


def pair_cyclists(person_boxes: np.ndarray, bike_boxes: np.ndarray, bike_scores: np.ndarray,
                  min_overlap: float) -> list[tuple[int, int]]:  # fmt: skip
    """(person index, bicycle index) pairs (module docstring): bicycles by descending score,
    each taking the unused person box of largest intersection over the smaller box.

    Example:
        >>> persons = np.array([[10, 0, 30, 50], [100, 0, 120, 50.0]])
        >>> bikes = np.array([[5, 30, 35, 60.0]])
        >>> pair_cyclists(persons, bikes, np.array([0.9]), 0.3)
        [(0, 0)]
    """
    if not len(person_boxes) or not len(bike_boxes):
        return []
    inter = iou_2d(person_boxes, bike_boxes, "a") * _area(person_boxes)[:, None]
    smaller = np.minimum(_area(person_boxes)[:, None], _area(bike_boxes)[None, :])
    overlap = inter / np.maximum(smaller, 1e-9)
    pairs, used = [], set()
    for j in np.argsort(-bike_scores, kind="stable"):
        cand = [i for i in np.argsort(-overlap[:, j], kind="stable") if i not in used]
        if cand and overlap[cand[0], j] >= min_overlap:
            pairs.append((int(cand[0]), int(j)))
            used.add(int(cand[0]))
    return pairs


def _area(boxes: np.ndarray) -> np.ndarray:
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


class NanoDetKitti:
    """KITTI-class boxes of a (3, H, W) sRGB image (module docstring); ``classes`` are
    Car, Pedestrian, Cyclist; :meth:`detect` returns :class:`Detections2D`."""

    classes = KITTI_CLASSES

    def __init__(self, cfg: Detector2DNanoDetConfig, net: NanoDetCoco | None = None) -> None:
        self.cfg = cfg
        self.net = net if net is not None else NanoDetCoco(cfg.model_json)
        wanted = {*cfg.car_classes, *cfg.pedestrian_classes, cfg.cyclist_rider,
                  cfg.cyclist_vehicle}  # fmt: skip
        self.coco_ids = np.array(sorted(COCO_CLASSES.index(n) for n in wanted), dtype=np.int64)

    def eval(self) -> NanoDetKitti:
        return self

    def _pass(self, image: torch.Tensor, window: tuple[int, int, int, int] | None):
        """(boxes in image pixels, scores, COCO labels) of one pass: a square ``window``
        ``(x0, y0, x1, y1)`` resized to the input, or (None) the whole image letterboxed."""
        h, w = image.shape[1:]
        if window is None:
            scale = INPUT_SIZE / max(h, w)
            size = (max(1, round(h * scale)), max(1, round(w * scale)))
            canvas = torch.zeros(3, INPUT_SIZE, INPUT_SIZE)
            canvas[:, : size[0], : size[1]] = resize_image(image, size)[0]
            offset = (0, 0)
        else:
            x0, y0, x1, y1 = window
            scale = INPUT_SIZE / (x1 - x0)
            canvas = resize_image(image[:, y0:y1, x0:x1], (INPUT_SIZE, INPUT_SIZE))[0]
            offset = (x0, y0)
        boxes, scores = self.net.raw(canvas)
        scores = scores[:, self.coco_ids].numpy()
        cell, k = np.nonzero(scores >= self.cfg.score_threshold)
        b = boxes.numpy()[cell].astype(np.float64) / scale + [*offset, *offset]
        s, labels = scores[cell, k], self.coco_ids[k]
        if window is not None:
            keep = keep_inside(b, np.array(window), (h, w), self.cfg.edge_margin_px)
            b, s, labels = b[keep], s[keep], labels[keep]
        return b, s, labels

    @torch.no_grad()
    def detect(self, image_srgb: np.ndarray | torch.Tensor) -> Detections2D:
        """Car / Pedestrian / Cyclist detections of one (3, H, W) sRGB image in [0, 1], image
        pixels, labels indexing :attr:`classes`."""
        img = torch.as_tensor(np.asarray(image_srgb, dtype=np.float32))
        if img.ndim != 3 or img.shape[0] != 3:
            raise ValueError(f"image_srgb must be (3, H, W), got {tuple(img.shape)}")
        h, w = img.shape[1:]
        side = min(h, w)
        windows = [(x0, y0, x0 + side, y0 + side)
                   for x0 in tile_starts(w, side) for y0 in tile_starts(h, side)]  # fmt: skip
        parts = [self._pass(img, win) for win in windows]
        if self.cfg.global_pass:
            parts.append(self._pass(img, None))
        boxes = np.concatenate([p[0] for p in parts]).reshape(-1, 4)
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, w - 1)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, h - 1)
        scores = np.concatenate([p[1] for p in parts])
        labels = np.concatenate([p[2] for p in parts])
        keep = nms_per_class(boxes, scores, labels, self.cfg.nms_iou)
        return self._to_kitti(boxes[keep], scores[keep], labels[keep])

    def _to_kitti(self, boxes, scores, coco_labels) -> Detections2D:
        """COCO-labelled boxes -> KITTI classes (module docstring), NMS, best first."""
        cfg = self.cfg
        rider = np.flatnonzero(coco_labels == COCO_CLASSES.index(cfg.cyclist_rider))
        bike = np.flatnonzero((coco_labels == COCO_CLASSES.index(cfg.cyclist_vehicle))
                              & (scores >= cfg.cyclist_min_score))  # fmt: skip
        pairs = pair_cyclists(boxes[rider], boxes[bike], scores[bike], cfg.cyclist_min_overlap)
        out_b, out_s, out_l = [], [], []
        for i, j in pairs:
            p, b = boxes[rider[i]], boxes[bike[j]]
            out_b.append([min(p[0], b[0]), min(p[1], b[1]), max(p[2], b[2]), max(p[3], b[3])])
            out_s.append(min(scores[rider[i]], scores[bike[j]]))
            out_l.append(2)
        paired = {int(rider[i]) for i, _ in pairs}
        car_ids = [COCO_CLASSES.index(n) for n in cfg.car_classes]
        ped_ids = [COCO_CLASSES.index(n) for n in cfg.pedestrian_classes]
        for k, lab in enumerate(coco_labels):
            kitti = 0 if lab in car_ids else 1 if lab in ped_ids and k not in paired else None
            if kitti is not None:
                out_b.append(list(boxes[k]))
                out_s.append(scores[k])
                out_l.append(kitti)
        b = np.asarray(out_b, dtype=np.float64).reshape(-1, 4)
        s, lab = np.asarray(out_s, dtype=np.float64), np.asarray(out_l, dtype=np.int64)
        keep = nms_per_class(b, s, lab, cfg.nms_iou)[: cfg.max_detections]
        return Detections2D(b[keep].astype(np.float32), s[keep].astype(np.float32), lab[keep])


def load_nanodet_detector2d(path: str | Path) -> NanoDetKitti:
    """The detector a ``task: detector2d_nanodet`` YAML describes."""
    return NanoDetKitti(load_config(path, Detector2DNanoDetConfig))
