"""Task of PointPainting's segmentation network (``task: segnet``,
``configs/fusion/segnet.yaml``): :class:`~perception3d.models.segnet.SegNet` on a KITTI-layout
root's ``image_2`` + ``semantic_2`` (the synthetic scenes' pixel-exact labels).

Training draws, at step s, a batch of random crops of the train split's images (downscaled by
the network's ``input_scale``) from ``numpy.random.default_rng([seed, s])``, with a horizontal
flip and a photometric jitter (gamma, gain), then (``augment.enabled``) the camera
randomization of :mod:`perception3d.data.image_augment`, and fits them with a class-weighted
cross entropy.
Same config -> the same weights on CPU; a resumed run continues exactly (the draws depend only
on the step). Evaluation: per-class IoU and mIoU on the val split at full resolution.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from perception3d.checkpoint import CheckpointError, read_checkpoint
from perception3d.config import require_root
from perception3d.data.image_augment import ImageAugmentConfig, augment_image
from perception3d.data.kitti import read_image, read_split_file
from perception3d.engine.distributed import DistInfo
from perception3d.engine.seg_config import SegData, SegExperiment
from perception3d.engine.task import Task, random_batch_steps, unwrap
from perception3d.models.segnet import (
    SEG_CLASSES,
    SegNet,
    predict_scores,
    scaled_size,
    semantic_to_seg_lut,
)


def load_pair(root: Path, fid: str) -> tuple[np.ndarray, np.ndarray]:
    """(image (3, H, W) float32 sRGB, labels (H, W) uint8 SEG_CLASSES index) of a frame."""
    from PIL import Image

    image = read_image(root / "training" / "image_2" / f"{fid}.png")
    with Image.open(root / "training" / "semantic_2" / f"{fid}.png") as im:
        semantic = np.asarray(im)
    return image, semantic_to_seg_lut()[semantic]


def _downscale(image: np.ndarray, labels: np.ndarray, scale: float):
    """uint8 image (3, h, w) and labels (h, w) at the network's resolution (area / nearest)."""
    hw = scaled_size(labels.shape, scale)
    img = F.interpolate(torch.from_numpy(image)[None], size=hw, mode="area")[0]
    img8 = (img.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
    rows = np.minimum((np.arange(hw[0]) + 0.5) / scale, labels.shape[0] - 1).astype(int)
    cols = np.minimum((np.arange(hw[1]) + 0.5) / scale, labels.shape[1] - 1).astype(int)
    return img8, labels[np.ix_(rows, cols)]


def foreground_pixels(labels: np.ndarray, max_per_class: int = 256) -> list[np.ndarray]:
    """Per foreground class (SEG_CLASSES[1:]), up to ``max_per_class`` evenly strided (row,
    col) pixels of ``labels`` (h, w) showing it, (n, 2) int32 each (n = 0: absent)."""
    out = []
    for c in range(1, len(SEG_CLASSES)):
        rc = np.argwhere(labels == c).astype(np.int32)
        out.append(rc[:: max(1, len(rc) // max_per_class)])
    return out


def draw_batch(images, labels, cfg: SegData, batch_size: int, seed: int, step: int,
               foreground=None, augment: ImageAugmentConfig | None = None):  # fmt: skip
    """The ``batch_size`` crops of step ``step`` (images (B, 3, h, w) float32, labels (B, h,
    w) int64, -100 = padding) drawn from ``default_rng([seed, step])``; ``foreground``:
    :func:`foreground_pixels` of each frame (for ``cfg.object_crop_fraction``); ``augment``:
    the camera randomization applied to each crop (None: none)."""
    rng = np.random.default_rng([seed, step])
    ch, cw = cfg.crop_hw
    xs, ys = [], []
    for _ in range(batch_size):
        k = int(rng.integers(len(images)))
        img, lab = images[k], labels[k]
        h, w = lab.shape
        fg = None if foreground is None else foreground[k]
        top, left = _crop_origin(rng, h, w, ch, cw, cfg, fg)
        x = img[:, top : top + ch, left : left + cw].astype(np.float32) / 255.0
        y = lab[top : top + ch, left : left + cw]
        if rng.random() < 0.5:
            x, y = x[:, :, ::-1], y[:, ::-1]
        gamma, gain = rng.uniform(*cfg.gamma_range), rng.uniform(*cfg.gain_range)
        x = np.clip(gain * np.power(x, gamma), 0.0, 1.0)
        if augment is not None:
            x = augment_image(np.ascontiguousarray(x, np.float32), augment, rng)
        pad = ((0, ch - y.shape[0]), (0, cw - y.shape[1]))
        xs.append(np.pad(x, ((0, 0), *pad)))
        ys.append(np.pad(y.astype(np.int64), pad, constant_values=-100))  # -100: ignored
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def _crop_origin(rng, h, w, ch, cw, cfg: SegData, fg) -> tuple[int, int]:
    """A crop's (top, left) as :func:`draw_batch` draws it (object-centred with probability
    ``cfg.object_crop_fraction`` when ``fg`` lists foreground pixels)."""
    top, left = int(rng.integers(max(1, h - ch + 1))), int(rng.integers(max(1, w - cw + 1)))
    if fg is not None and rng.random() < cfg.object_crop_fraction:
        shown = [p for p in fg if len(p)]
        if shown:
            pix = shown[int(rng.integers(len(shown)))]
            r, c = pix[int(rng.integers(len(pix)))]
            jy, jx = rng.integers(-ch // 4, ch // 4 + 1), rng.integers(-cw // 4, cw // 4 + 1)
            top = int(np.clip(r - ch // 2 + jy, 0, max(0, h - ch)))
            left = int(np.clip(c - cw // 2 + jx, 0, max(0, w - cw)))
    return top, left


@torch.no_grad()
def cache_seg_features(net: SegNet, images, labels, variants: int, cfg: SegData,
                       augment: ImageAugmentConfig, seed: int, progress: bool = True):  # fmt: skip
    """Encode every image ``variants`` times with the frozen encoder, each with its own flip,
    gamma/gain and camera randomization (``default_rng([seed, 1_000_000 + v, k])``); images
    are padded (replicate) to multiples of 16 px, labels with -100.

    Returns:
        per (variant, image): features (4 float16 tensors at strides 2, 4, 8, 16), labels
        (Hp, Wp) int64, and :func:`foreground_pixels` of those labels.
    """
    out = []
    net.eval()
    for v in range(variants):
        for k in tqdm(range(len(images)), desc=f"encode variant {v + 1}/{variants}",
                      disable=not progress, leave=False):  # fmt: skip
            rng = np.random.default_rng([seed, 1_000_000 + v, k])
            x, y = images[k].astype(np.float32) / 255.0, labels[k].astype(np.int64)
            if rng.random() < 0.5:
                x, y = x[:, :, ::-1], y[:, ::-1]
            gamma, gain = rng.uniform(*cfg.gamma_range), rng.uniform(*cfg.gain_range)
            x = augment_image(np.ascontiguousarray(np.clip(gain * np.power(x, gamma), 0, 1),
                                                   np.float32), augment, rng)  # fmt: skip
            h, w = y.shape
            ph, pw = (-h) % 16, (-w) % 16
            t = F.pad(torch.from_numpy(x)[None], (0, pw, 0, ph), mode="replicate")
            feats = tuple(f[0].to(torch.float16) for f in net.encoder(t))
            y = np.pad(y, ((0, ph), (0, pw)), constant_values=-100)
            out.append((feats, y, foreground_pixels(y)))
    return out


def draw_cached_batch(cache, variants: int, cfg: SegData, batch_size: int, seed: int,
                      step: int):  # fmt: skip
    """The crops of step ``step`` from :func:`cache_seg_features`' output: (features at
    strides 2-16 as float32 batches, labels (B, h, w) int64); crops start at multiples of
    16 px."""
    rng = np.random.default_rng([seed, step])
    ch, cw = cfg.crop_hw
    n = len(cache) // variants
    feats, ys = [[], [], [], []], []
    for _ in range(batch_size):
        k, v = int(rng.integers(n)), int(rng.integers(variants))
        f, lab, fg = cache[v * n + k]
        h, w = lab.shape
        top, left = _crop_origin(rng, h, w, ch, cw, cfg, fg)
        top, left = min(top // 16 * 16, h - ch), min(left // 16 * 16, w - cw)
        for j, s in enumerate((2, 4, 8, 16)):
            feats[j].append(f[j][:, top // s : (top + ch) // s, left // s : (left + cw) // s])
        ys.append(torch.from_numpy(np.ascontiguousarray(lab[top : top + ch, left : left + cw])))
    return tuple(torch.stack(f).float() for f in feats), torch.stack(ys)


def class_weights(labels: list[np.ndarray], num_classes: int, power: float) -> torch.Tensor:
    """Cross-entropy weights ``freq ** -power`` normalised to mean 1 (absent classes: 1)."""
    counts = np.zeros(num_classes, np.float64)
    for lab in labels:
        counts += np.bincount(lab.ravel(), minlength=num_classes)[:num_classes]
    freq = counts / max(counts.sum(), 1.0)
    w = np.where(freq > 0, np.maximum(freq, 1e-12) ** -power, 1.0)
    return torch.tensor(w / w.mean(), dtype=torch.float32)


def confusion_iou(confusion: np.ndarray) -> np.ndarray:
    """Per-class IoU ``TP / (TP + FP + FN)`` of a (C, C) confusion matrix [truth, prediction]
    (NaN for a class absent from both).

    Example:
        >>> confusion_iou(np.array([[3, 1], [0, 2]])).round(3).tolist()
        [0.75, 0.667]
    """
    tp = np.diag(confusion).astype(np.float64)
    denom = confusion.sum(0) + confusion.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, tp / denom, np.nan)


def evaluate_segnet(net: SegNet, root: Path, ids: list[str], progress: bool = False) -> dict:
    """Per-class IoU and mIoU of ``net`` on full-resolution ``image_2`` of ``ids``."""
    c = net.num_classes
    confusion = np.zeros((c, c), np.int64)
    net.eval()
    for fid in tqdm(ids, desc="seg val", disable=not progress, leave=False):
        image, labels = load_pair(root, fid)
        pred = predict_scores(net, image).argmax(0)
        confusion += np.bincount(labels.ravel() * c + pred.ravel(), minlength=c * c).reshape(c, c)
    iou = confusion_iou(confusion)
    return {
        "frames": len(ids),
        "iou": {name: float(v) for name, v in zip(SEG_CLASSES, iou)},
        "miou": float(np.nanmean(iou)),
        "pixel_accuracy": float(np.diag(confusion).sum() / max(confusion.sum(), 1)),
    }


class SegNetTask(Task):
    """Segmentation-net training (see the module docstring)."""

    distributed = False  # the loss calls forward_scaled, which DDP does not wrap

    def __init__(self, cfg: SegExperiment) -> None:
        self.config = cfg
        self.images: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.weights = torch.ones(len(SEG_CLASSES))
        self.foreground = None
        self.cache: list = []
        self._model: SegNet | None = None

    def build_model(self) -> SegNet:
        m = self.config.model
        net = SegNet(len(SEG_CLASSES), m.width, m.input_scale, m.encoder, m.freeze_encoder)
        if m.pretrained_encoder:
            net.load_imagenet()
        self._model = net  # encodes the feature cache in prepare() (after load_init)
        return net

    def load_init(self, model: SegNet, path: Path) -> None:
        """Fine-tune from SegNet weights of the same width and input scale."""
        stored = read_checkpoint(path, self.config.kind)["config"].get("model", {})
        mine = self.config.model
        theirs = (stored.get("width"), stored.get("input_scale"), stored.get("encoder", "unet"))
        if theirs != (mine.width, mine.input_scale, mine.encoder):
            raise CheckpointError(
                f"init {path}: width/input_scale/encoder {'/'.join(map(str, theirs))}, config "
                f"{mine.width}/{mine.input_scale}/{mine.encoder}"
            )
        super().load_init(model, path)

    def prepare(self, progress: bool) -> None:
        data, model = self.config.data, self.config.model
        root = require_root(data, self.config.task)
        ids = read_split_file(root / "ImageSets" / f"{data.train_split}.txt")
        self.images, self.labels = [], []
        for fid in tqdm(ids[: data.max_train_frames], desc="load", disable=not progress,
                        leave=False):  # fmt: skip
            img8, lab = _downscale(*load_pair(root, fid), model.input_scale)
            self.images.append(img8)
            self.labels.append(lab)
        if not self.images:
            raise ValueError(f"{root}: training split {data.train_split!r} is empty")
        self.weights = class_weights(self.labels, len(SEG_CLASSES), model.class_weight_power)
        if data.object_crop_fraction > 0:
            self.foreground = [foreground_pixels(lab) for lab in self.labels]
        if data.cache_variants:
            self.cache = cache_seg_features(self._model, self.images, self.labels,
                                            data.cache_variants, data, self.config.augment,
                                            self.config.train.seed, progress)  # fmt: skip
            self._model.train()

    def describe(self) -> dict:
        return {"train_frames": len(self.images),
                "class_weights": [round(float(w), 4) for w in self.weights]}  # fmt: skip

    def steps_per_epoch(self, shard: DistInfo) -> int:
        return random_batch_steps(self.config)

    def batches(self, epoch: int, shard: DistInfo):
        tc = self.config.train
        steps = self.steps_per_epoch(shard)
        for i in range(steps):
            if self.cache:
                yield draw_cached_batch(self.cache, self.config.data.cache_variants,
                                        self.config.data, tc.batch_size, tc.seed,
                                        epoch * steps + i)  # fmt: skip
                continue
            augment = self.config.augment if self.config.augment.enabled else None
            yield draw_batch(self.images, self.labels, self.config.data, tc.batch_size, tc.seed,
                             epoch * steps + i, self.foreground, augment)  # fmt: skip

    def loss(self, model, batch):
        x, y = batch
        if isinstance(x, tuple):  # cached encoder features
            logits = unwrap(model).decode_features(x)
        else:
            logits = unwrap(model).forward_scaled(x)
        return F.cross_entropy(logits, y, weight=self.weights, ignore_index=-100), {}

    def evaluate(self, model: SegNet, out_dir: Path, progress: bool) -> dict:
        data = self.config.data
        root = require_root(data, self.config.task)
        ids = read_split_file(root / "ImageSets" / f"{data.val_split}.txt")
        return evaluate_segnet(model, root, ids[: data.max_val_frames], progress)
