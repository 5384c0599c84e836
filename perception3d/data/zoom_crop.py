"""Scale augmentation of an image and its 2D boxes: rescale, then crop a fixed window.

The 2D detector sees every image resized to one ``base_hw`` (192 x 640). Training only at that
scale leaves it few large objects: near cars, 150-200 px tall in a real KITTI frame, are rare in
the rendered training frames and were found to get no box (docs/frustum.md). :func:`zoom_crop`
resizes the image to ``scale`` times ``base_hw`` (``scale > 1``: a zoom-in that makes every
object larger, as the multi-scale training of SSD and CenterNet does) and cuts an ``out_hw``
window from it, optionally centred near a labelled object so that zoomed objects are in view.
Objects cut by the window are clipped to it, as KITTI clips the labels of objects truncated by
the image border; one cut to less than ``min_visible`` of its width or height becomes an ignore
region of its class. Where the rescaled image is smaller than the window (``scale < 1``), the
window is padded with mid-grey.

Boxes are ``[x1, y1, x2, y2]`` pixels of the image given; the returned ones are pixels of the
window.

Example:
    >>> img = np.zeros((3, 40, 100), np.float32)
    >>> boxes = np.array([[40.0, 10.0, 60.0, 30.0]])
    >>> out = zoom_crop(img, boxes, np.array([0]), np.zeros((0, 4)), np.zeros(0, np.int64),
    ...                 (40, 100), 2.0, (40, 64), np.random.default_rng(0), 1.0)
    >>> out[0].shape, out[1].shape
    ((3, 40, 64), (1, 4))
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

PAD_VALUE = 0.45  # mid-grey (near the ImageNet mean) for windows larger than the image


def _window_start(size: int, window: int, centre: float | None, rng: np.random.Generator) -> int:
    """Start of a ``window``-long span in ``[0, size)``: random, or near ``centre``; negative
    (padding) when the image is smaller than the window."""
    if size <= window:
        return -int(rng.integers(0, window - size + 1))
    if centre is None:
        return int(rng.integers(0, size - window + 1))
    jitter = rng.uniform(-window / 4, window / 4)
    return int(np.clip(round(centre - window / 2 + jitter), 0, size - window))


def _shift_clip(boxes: np.ndarray, x0: int, y0: int, out_hw: tuple[int, int]) -> np.ndarray:
    b = boxes.copy()
    b[:, [0, 2]] = (b[:, [0, 2]] - x0).clip(0, out_hw[1] - 1)
    b[:, [1, 3]] = (b[:, [1, 3]] - y0).clip(0, out_hw[0] - 1)
    return b


def zoom_crop(
    image: np.ndarray,
    boxes: np.ndarray,
    labels: np.ndarray,
    ign: np.ndarray,
    ign_labels: np.ndarray,
    base_hw: tuple[int, int],
    scale: float,
    out_hw: tuple[int, int],
    rng: np.random.Generator,
    object_probability: float = 0.5,
    min_visible: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rescale ``image`` to ``scale * base_hw`` and cut an ``out_hw`` window.

    Args:
        image: (3, H, W) float32 sRGB in [0, 1], any size.
        boxes: (M, 4) positive boxes, image pixels; labels: (M,) class indices.
        ign: (G, 4) ignore regions, image pixels; ign_labels: (G,) (-1: every class).
        base_hw: the detector's input size (the image is first mapped to it).
        scale: factor on ``base_hw`` (1: the detector's own scale).
        out_hw: the window (pixels of the rescaled image).
        rng: draws, in order: whether to centre on an object, which one, the window's x and y.
        object_probability: probability of centring the window (with jitter of a quarter
            window) on a random positive box, when there is one.
        min_visible: a box keeping less than this fraction of its width or height inside the
            window becomes an ignore region of its class.

    Returns:
        (window (3, *out_hw) float32, boxes (K, 4), labels (K,), ign (G', 4), ign_labels (G',)).
    """
    h, w = image.shape[1:]
    hs, ws = max(1, round(base_hw[0] * scale)), max(1, round(base_hw[1] * scale))
    resized = F.interpolate(torch.from_numpy(np.ascontiguousarray(image))[None], size=(hs, ws),
                            mode="bilinear", antialias=True)[0].numpy()  # fmt: skip
    factor = np.array([ws / w, hs / h] * 2)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4) * factor
    ign = np.asarray(ign, np.float64).reshape(-1, 4) * factor
    centre = None
    if len(boxes) and rng.random() < object_probability:
        b = boxes[int(rng.integers(len(boxes)))]
        centre = ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    x0 = _window_start(ws, out_hw[1], None if centre is None else centre[0], rng)
    y0 = _window_start(hs, out_hw[0], None if centre is None else centre[1], rng)
    window = np.full((3, *out_hw), PAD_VALUE, np.float32)
    src = resized[:, max(y0, 0) : y0 + out_hw[0], max(x0, 0) : x0 + out_hw[1]]
    py, px = max(-y0, 0), max(-x0, 0)  # padding above / left of the image
    window[:, py : py + src.shape[1], px : px + src.shape[2]] = src
    clipped = _shift_clip(boxes, x0, y0, out_hw)
    extent = np.maximum(boxes[:, 2:] - boxes[:, :2], 1e-6)
    visible = (clipped[:, 2:] - clipped[:, :2]) / extent  # (M, 2) fraction of width, height
    keep = (visible >= min_visible).all(axis=1)
    ign_c = _shift_clip(ign, x0, y0, out_hw)
    ign_keep = ((ign_c[:, 2:] - ign_c[:, :2]) > 0).all(axis=1)
    lost = (clipped[~keep, 2:] - clipped[~keep, :2] > 0).all(axis=1)
    ign_out = np.concatenate([ign_c[ign_keep], clipped[~keep][lost]])
    ign_labels_out = np.concatenate(
        [np.asarray(ign_labels, np.int64)[ign_keep], np.asarray(labels, np.int64)[~keep][lost]]
    )
    labels = np.asarray(labels, np.int64)
    return window, clipped[keep], labels[keep], ign_out.reshape(-1, 4), ign_labels_out
