"""Task of the 2D image detector (``task: detector2d``, ``configs/frustum/detector2d.yaml``;
:mod:`perception3d.models.detector2d`) on ``image_2`` + ``label_2`` 2D boxes, evaluated with
the KITTI ``bbox`` metric on the val split (``OUT/val_2d/``).

Targets: Car, Pedestrian, Cyclist boxes are positives; DontCare regions are ignored for every
class, Van for Car and Person_sitting for Pedestrian (the KITTI protocol ignores those
detections rather than counting them false, REFERENCE.md), other types are background.

Augmentation: horizontal flip, crop and brightness/gamma (:func:`augment_2d`), then, with
``augment.enabled``, the photometric and optical camera randomization of
:mod:`perception3d.data.image_augment` on the crop.

Determinism: the frame order of epoch e from ``(seed, e)``, each sample's augmentation
from ``(seed, e, index)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from perception3d.config import require_root
from perception3d.data.image_augment import ImageAugmentConfig, augment_image
from perception3d.data.kitti import Frame, KittiObject, KittiObjectDataset
from perception3d.data.label_boxes import projected_label_boxes
from perception3d.data.zoom_crop import zoom_crop
from perception3d.engine.distributed import DistInfo
from perception3d.engine.frustum_config import Detector2DExperiment
from perception3d.engine.frustum_infer import build_detector2d, evaluate_results, infer_2d
from perception3d.engine.task import Task, count_index_batches, index_batches, unwrap
from perception3d.models.detector2d import (
    STRIDE,
    CenterNet2D,
    compute_loss_2d,
    encode_targets_2d,
    resize_image,
)

# KITTI neighbouring classes whose detections the protocol ignores (not counted as false).
IGNORED_AS = {"Van": "Car", "Person_sitting": "Pedestrian"}


def boxes_2d_targets(
    objects: Sequence[KittiObject], classes: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positive and ignored 2D boxes of one frame's labels (image pixels).

    Returns:
        boxes (M, 4), labels (M,) class indices, ignore_boxes (G, 4), ignore_labels (G,)
        (-1: every class).
    """
    boxes, labels, ign, ign_labels = [], [], [], []
    for o in objects:
        if o.type in classes:
            boxes.append(o.bbox)
            labels.append(classes.index(o.type))
        elif o.is_dontcare:
            ign.append(o.bbox)
            ign_labels.append(-1)
        elif IGNORED_AS.get(o.type) in classes:
            ign.append(o.bbox)
            ign_labels.append(classes.index(IGNORED_AS[o.type]))
    return (
        np.array(boxes, dtype=np.float64).reshape(-1, 4),
        np.array(labels, dtype=np.int64),
        np.array(ign, dtype=np.float64).reshape(-1, 4),
        np.array(ign_labels, dtype=np.int64),
    )


def frame_objects(frame: Frame, box_source: str) -> list[KittiObject]:
    """A training frame's label rows with the ``data.box_source`` 2D box convention."""
    if box_source == "label":
        return frame.objects
    if box_source == "projected_3d":
        return projected_label_boxes(frame.objects, frame.calib, frame.image_shape)
    raise ValueError(f"box_source must be 'label' or 'projected_3d', got {box_source!r}")


def load_resized_images(
    dataset: KittiObjectDataset, input_hw: tuple[int, int], progress: bool = True
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """All images of ``dataset`` resized to ``input_hw`` as (F, 3, H, W) uint8, and each
    frame's original (H, W)."""
    images = np.zeros((len(dataset), 3, *input_hw), dtype=np.uint8)
    sizes = []
    for i, frame in enumerate(tqdm(dataset, desc="load images", disable=not progress)):
        img = torch.from_numpy(frame.image)
        sizes.append(tuple(img.shape[1:]))
        images[i] = (resize_image(img, input_hw)[0] * 255 + 0.5).clamp(0, 255).byte().numpy()
    return images, sizes


def _flip(image, boxes, ign):
    w = image.shape[2]
    boxes, ign = boxes.copy(), ign.copy()
    boxes[:, [0, 2]] = w - boxes[:, [2, 0]]
    ign[:, [0, 2]] = w - ign[:, [2, 0]]
    return image[:, :, ::-1], boxes, ign


def crop_boxes_2d(boxes, labels, ign, ign_labels, x0: int, crop_width: int):
    """Boxes of the horizontal crop ``[x0, x0 + crop_width)``: shifted, clipped; a box cut to
    less than half its width becomes an ignore region of its class."""
    boxes, ign = boxes.copy(), ign.copy()
    boxes[:, [0, 2]] -= x0
    ign[:, [0, 2]] -= x0
    clipped = boxes.copy()
    clipped[:, [0, 2]] = clipped[:, [0, 2]].clip(0, crop_width - 1)
    width = np.maximum(boxes[:, 2] - boxes[:, 0], 1e-6)
    keep = (clipped[:, 2] - clipped[:, 0]) >= 0.5 * width
    ign = np.concatenate([ign, clipped[~keep]])
    ign_labels = np.concatenate([ign_labels, labels[~keep]])
    return clipped[keep], labels[keep], ign, ign_labels


def augment_2d(
    image_u8: np.ndarray,
    boxes_in: np.ndarray,
    labels: np.ndarray,
    ign_in: np.ndarray,
    ign_labels: np.ndarray,
    crop_width: int,
    rng: np.random.Generator,
    crop_step: int = STRIDE,
):
    """Random flip, horizontal crop and brightness/gamma of one resized image and its boxes.

    A box cut by the crop to less than half its width becomes an ignore region of its class;
    crops start at multiples of ``crop_step`` pixels. Returns ``(image float32 (3, H, Wc) in
    [0, 1], boxes, labels, ign_boxes, ign_labels)``.
    """
    img = image_u8.astype(np.float32) / 255.0
    w = img.shape[2]
    boxes, ign = boxes_in.copy(), ign_in.copy()
    if rng.random() < 0.5:
        img, boxes, ign = _flip(img, boxes, ign)
    if 0 < crop_width < w:
        x0 = int(rng.integers(0, (w - crop_width) // crop_step + 1)) * crop_step
        img = img[:, :, x0 : x0 + crop_width]
        boxes, labels, ign, ign_labels = crop_boxes_2d(boxes, labels, ign, ign_labels, x0,
                                                       crop_width)  # fmt: skip
    gain = rng.uniform(0.6, 1.4)
    gamma = rng.uniform(0.7, 1.4)
    img = np.clip(np.clip(img, 0, 1) ** gamma * gain, 0, 1)
    return np.ascontiguousarray(img), boxes, labels, ign, ign_labels


@torch.no_grad()
def cache_features(model: CenterNet2D, images_u8: np.ndarray, targets: list, variants: int,
                   cfg: ImageAugmentConfig, seed: int, progress: bool = True):  # fmt: skip
    """Encode every image ``variants`` times, each with its own flip, brightness/gamma and
    camera randomization (from ``default_rng([seed, 1_000_000 + v, i])``), with the model's
    (frozen) encoder.

    Returns:
        features: per variant and image, (f2, f3, f4) float16 tensors at strides 4, 8, 16;
        targets: per variant and image, the (flipped) ``(boxes, labels, ign, ign_labels)``.
    """
    feats, tgts = [], []
    model.eval()
    for v in range(variants):
        for i in tqdm(range(len(images_u8)), desc=f"encode variant {v + 1}/{variants}",
                      disable=not progress):  # fmt: skip
            rng = np.random.default_rng([seed, 1_000_000 + v, i])
            img, b, lab, ign, ign_lab = augment_2d(images_u8[i], *targets[i], 0, rng)
            img = augment_image(img, cfg, rng)
            f = model.encode(torch.from_numpy(img)[None])
            feats.append(tuple(x[0].to(torch.float16) for x in f))
            tgts.append((b, lab, ign, ign_lab))
    return feats, tgts


@torch.no_grad()
def cache_zoomed_features(model: CenterNet2D, dataset: KittiObjectDataset, classes, data,
                          cfg: ImageAugmentConfig, seed: int, input_hw: tuple[int, int],
                          progress: bool = True):  # fmt: skip
    """Encode ``data.cache_variants`` rescaled windows of every image (``data.scale_range``,
    ``data.cache_crop_width``; :func:`perception3d.data.zoom_crop.zoom_crop`), each then
    flipped, brightness/gamma-jittered and camera-randomized, drawn from
    ``default_rng([seed, 1_000_000 + v, i])``.

    Returns the same ``(features, targets)`` lists as :func:`cache_features` (variant-major),
    the targets in pixels of the windows.
    """
    n, variants = len(dataset), data.cache_variants
    feats: list = [None] * (n * variants)
    tgts: list = [None] * (n * variants)
    lo, hi = np.log(data.scale_range[0]), np.log(data.scale_range[1])
    window_hw = (input_hw[0], data.cache_crop_width)
    model.eval()
    for i, frame in enumerate(tqdm(dataset, desc="encode zoomed windows", disable=not progress)):
        image = frame.image
        targets = boxes_2d_targets(frame_objects(frame, data.box_source), classes)
        for v in range(variants):
            rng = np.random.default_rng([seed, 1_000_000 + v, i])
            scale = float(np.exp(rng.uniform(lo, hi)))
            win, *t = zoom_crop(image, *targets, input_hw, scale, window_hw, rng,
                                data.object_crop_probability)  # fmt: skip
            win_u8 = (win * 255 + 0.5).clip(0, 255).astype(np.uint8)
            img, b, lab, ign, ign_lab = augment_2d(win_u8, *t, 0, rng)
            img = augment_image(img, cfg, rng)
            f = model.encode(torch.from_numpy(img)[None])
            feats[v * n + i] = tuple(x[0].to(torch.float16) for x in f)
            tgts[v * n + i] = (b, lab, ign, ign_lab)
    return feats, tgts


class Detector2DTask(Task):
    """2D detector training (see the module docstring)."""

    def __init__(self, cfg: Detector2DExperiment) -> None:
        self.config = cfg
        self.images = np.zeros((0, 3, 1, 1), np.uint8)
        self.num_frames = 0
        self.targets: list = []
        self.features: list = []  # with data.cache_variants: per (variant, image) features
        self.cached_targets: list = []
        self._model: CenterNet2D | None = None

    def build_model(self) -> CenterNet2D:
        model = build_detector2d(self.config)
        if self.config.model.pretrained_backbone:
            model.load_imagenet()
        self._model = model  # encodes the feature cache in prepare() (after load_init)
        return model

    def prepare(self, progress: bool) -> None:
        data, mc = self.config.data, self.config.model
        root = require_root(data, self.config.task)
        ds = KittiObjectDataset(root, data.train_split, max_frames=data.max_train_frames)
        if len(ds) == 0:
            raise ValueError(f"{data.root}: training split {data.train_split!r} is empty")
        self.num_frames = len(ds)
        if data.zooms:  # rescaled windows of the full-size images, encoded once
            self.features, self.cached_targets = cache_zoomed_features(
                self._model, ds, mc.classes, data, self.config.augment, self.config.train.seed,
                mc.input_hw, progress,
            )  # fmt: skip
            self._model.train()
            return
        self.images, sizes = load_resized_images(ds, mc.input_hw, progress)
        self.targets = []
        for frame, (h, w) in zip(ds, sizes):
            scale = np.array([mc.input_hw[1] / w, mc.input_hw[0] / h] * 2)
            b, lab, ign, ign_lab = boxes_2d_targets(frame_objects(frame, data.box_source),
                                                    mc.classes)  # fmt: skip
            self.targets.append((b * scale, lab, ign * scale, ign_lab))
        if data.cache_variants:
            # encode once with the frozen encoder; the steps train the top-down path and head
            self.features, self.cached_targets = cache_features(
                self._model, self.images, self.targets, data.cache_variants, self.config.augment,
                self.config.train.seed, progress,
            )  # fmt: skip
            self._model.train()

    def steps_per_epoch(self, shard: DistInfo) -> int:
        return count_index_batches(self.num_frames, self.config.train.batch_size, shard)

    def batches(self, epoch: int, shard: DistInfo):
        tc, data, mc = self.config.train, self.config.data, self.config.model
        crop = data.crop_width if data.crop_width else mc.input_hw[1]
        out_hw = (mc.input_hw[0] // STRIDE, crop // STRIDE)
        for idx in index_batches(self.num_frames, tc.batch_size, tc.seed, epoch, shard):
            images, targets = [], []
            for i in idx:
                rng = np.random.default_rng([tc.seed, epoch, int(i)])
                if data.cache_variants:
                    img, b, lab, ign, ign_lab = self._cached_sample(int(i), crop, rng)
                else:
                    img, b, lab, ign, ign_lab = augment_2d(self.images[i], *self.targets[i],
                                                           crop, rng)  # fmt: skip
                    img = augment_image(img, self.config.augment, rng)
                images.append(img)
                targets.append(encode_targets_2d(b, lab, ign, ign_lab, len(mc.classes), out_hw,
                                                 data.gaussian_alpha,
                                                 data.regression_beta))  # fmt: skip
            if data.cache_variants:
                yield tuple(torch.stack([f[k] for f in images]).float() for k in range(3)), targets
            else:
                yield torch.from_numpy(np.stack(images)), targets

    def _cached_sample(self, i: int, crop: int, rng: np.random.Generator):
        """Cached features of a random variant of image ``i``, cropped at a 16-px step."""
        v = int(rng.integers(self.config.data.cache_variants))
        f2, f3, f4 = self.features[v * self.num_frames + i]
        b, lab, ign, ign_lab = self.cached_targets[v * self.num_frames + i]
        w = f2.shape[-1] * STRIDE
        if crop < w:
            x0 = int(rng.integers(0, (w - crop) // 16 + 1)) * 16
            f2, f3, f4 = (
                f[..., x0 // s : (x0 + crop) // s] for f, s in ((f2, 4), (f3, 8), (f4, 16))
            )
            b, lab, ign, ign_lab = crop_boxes_2d(b, lab, ign, ign_lab, x0, crop)
        return (f2, f3, f4), b, lab, ign, ign_lab

    def loss(self, model, batch):
        images, targets = batch
        if isinstance(images, tuple):  # cached encoder features
            return compute_loss_2d(unwrap(model).head_forward(*images), targets)
        return compute_loss_2d(model(images), targets)

    def evaluate(self, model: CenterNet2D, out_dir: Path, progress: bool) -> dict:
        """2D detections of the val split (``out_dir/val_2d/``) and their KITTI AP."""
        data = self.config.data
        val_dir = out_dir / "val_2d"
        infer_2d(model, data.root, data.val_split, val_dir, max_frames=data.max_val_frames,
                 progress=progress, overwrite=True)  # fmt: skip
        return evaluate_results(data.root, val_dir, data.val_split, data.max_val_frames)
