"""Pools of training/evaluation scenes and the random crops the learned stages train on.

A :class:`ScenePool` holds full-size (radiance, depth) pairs from the synthetic dataset
(``radiance_2`` / ``depth_2``), seeded procedural scenes, and optionally real sRGB photographs
(KITTI ``image_2``) that stand in as radiance after Brooks et al.'s inverse tone curve and gamma
(their depth is a flat road seen from KITTI's camera).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from perception3d.config import DataSection, require_root
from perception3d.data.kitti import read_image
from perception3d.isp.color import inverse_smoothstep
from perception3d.isp.scenes import (
    ground_plane_depth,
    load_radiance_frame,
    map_radiance_frame,
    procedural_scene,
)


@dataclasses.dataclass
class Scene:
    """radiance (3, H, W) float32 linear, depth (H, W) float32 metres (inf = sky)."""

    name: str
    radiance: np.ndarray
    depth: np.ndarray
    real: bool = False
    _bright: np.ndarray | None = dataclasses.field(default=None, repr=False)
    _max_sample: torch.Tensor | None = dataclasses.field(default=None, repr=False)

    def max_channel_sample(self) -> torch.Tensor:
        """About 200,000 evenly strided values of the per-pixel maximum channel (1-D), cached,
        for exposures set on the whole frame (what
        :func:`perception3d.isp.conditions.make_hdr_sample` does on a full frame) while
        training on crops."""
        if self._max_sample is None:
            flat = self.radiance.max(axis=0).reshape(-1)
            step = max(1, flat.size // 200_000)
            self._max_sample = torch.from_numpy(np.ascontiguousarray(flat[::step]))
        return self._max_sample

    def bright_pixels(self, top: float = 0.01) -> np.ndarray:
        """(N, 2) (row, col) of the brightest ``top`` share of pixels (max channel), cached."""
        if self._bright is None:
            m = self.radiance.max(axis=0)
            thr = np.quantile(m[::2, ::2], 1.0 - top)
            self._bright = np.argwhere(m >= thr)
        return self._bright


class Crop(NamedTuple):
    """A training crop: radiance (1, 3, h, w), depth (1, 1, h, w), whether it comes from a
    real photograph, and the scene it was cut from."""

    radiance: torch.Tensor
    depth: torch.Tensor
    real: bool
    scene: Scene


def synth_ids(root: str | Path, split: str | None) -> list[str]:
    """Frame ids with radiance under ``root/training/radiance_2`` (restricted to
    ``ImageSets/<split>.txt`` when it exists)."""
    root = Path(root)
    ids = sorted(p.stem for p in (root / "training" / "radiance_2").glob("*.npy"))
    split_file = root / "ImageSets" / f"{split}.txt"
    if split and split_file.is_file():
        keep = set(split_file.read_text().split())
        ids = [i for i in ids if i in keep]
    return ids


def build_pool(
    synth_root: Path | None = None,
    synth_split: str | None = None,
    max_synth: int | None = 0,
    procedural: int = 0,
    seed: int = 0,
    real_images: Sequence[Path] = (),
    size_hw: tuple[int, int] = (375, 1242),
    memory_map: bool = False,
) -> list[Scene]:
    """Load/generate the scenes: the first ``max_synth`` frames of ``synth_root``'s split (None:
    all of them), ``procedural`` procedural ones seeded by ``seed``, the ``real_images``.
    ``memory_map``: the synthetic frames stay in their files (as stored, e.g. float16; the
    page cache holds what is read), for sets larger than memory; crops come out the same."""
    scenes: list[Scene] = []
    load = map_radiance_frame if memory_map else load_radiance_frame
    if synth_root is not None and (max_synth is None or max_synth > 0):
        for fid in synth_ids(synth_root, synth_split)[:max_synth]:
            rad, depth = load(synth_root, fid)
            scenes.append(Scene(f"synth/{fid}", rad, depth))
    rng = np.random.default_rng(seed)
    for i in range(procedural):
        rad, depth = procedural_scene(*size_hw, rng)
        scenes.append(Scene(f"procedural/{seed}/{i}", rad, depth))
    for path in real_images:
        srgb = torch.from_numpy(read_image(path))
        linear = inverse_smoothstep(srgb).clamp_min(1e-8).pow(2.2).numpy()
        h, w = linear.shape[1:]
        depth = ground_plane_depth(h, w, horizon=0.45 * h)
        scenes.append(Scene(f"real/{Path(path).stem}", linear.astype(np.float32), depth, True))
    return scenes


@dataclasses.dataclass(frozen=True)
class CropData(DataSection):
    """``data:`` of a task trained on crops of scenes (:func:`train_val_scenes` reads it; the
    SR networks' and the low-light enhancer's sections add to it).

    Attributes:
        root: a ``perception3d synth`` root with ``radiance_2`` (its ``train_split`` frames,
            the first ``max_train_frames``).
        crop: side of the training crops, pixels.
        val_root: a root of another generator seed for the validation (null: no validation;
            the first ``max_val_frames`` frames of its ``val_split``, every frame when that
            split file is missing).
        val_crop_hw: (height, width) of the centred crop of each validation frame.
        memory_map: keep the training frames memory-mapped instead of loaded (a set of
            thousands of frames does not fit in memory as float32: 5.6 MB each).
    """

    crop: int = 128
    val_root: Path | None = None
    max_val_frames: int | None = 8
    val_crop_hw: tuple[int, int] = (256, 512)
    memory_map: bool = False


def train_val_scenes(
    data: CropData, task: str, procedural: int = 0, seed: int = 0
) -> tuple[list[Scene], list[Scene]]:
    """The scenes of a crop-trained task's ``data:`` section: the training pool (the first
    ``max_train_frames`` of ``root``'s ``train_split``, plus ``procedural`` procedural scenes
    seeded by ``seed``) and the validation scenes (the first ``max_val_frames`` of
    ``val_root``'s ``val_split``; none without a ``val_root``).

    Raises:
        ConfigError: ``data.root`` is not set.
        ValueError: no training frame has ``radiance_2``.
    """
    root = require_root(data, task)
    pool = build_pool(
        root, data.train_split, data.max_train_frames, procedural, seed, memory_map=data.memory_map
    )
    if not pool:
        raise ValueError(
            f"task {task}: no frame with radiance_2 in {root} (split {data.train_split})"
        )
    if data.val_root is None:
        return pool, []
    return pool, build_pool(data.val_root, data.val_split, data.max_val_frames)


def clean_radiance(radiance: np.ndarray) -> np.ndarray:
    """A contiguous float32 copy of a radiance crop with NaN -> 0, +inf -> 65504 and negatives
    -> 0 (what :func:`perception3d.isp.scenes.load_radiance_frame` does to a whole frame; a
    no-op on loaded frames, needed on memory-mapped ones)."""
    out = np.nan_to_num(np.array(radiance, dtype=np.float32), nan=0.0, posinf=65504.0)
    return np.maximum(out, 0.0, out=out)


def centre_crop(scene: Scene, height: int, width: int) -> torch.Tensor:
    """(1, 3, height, width) float32 radiance of the centre of ``scene`` (corner rounded down to
    even pixels, so the Bayer phase is kept): the fixed crop of a validation frame.

    Raises:
        ValueError: the crop is larger than the scene.
    """
    h, w = scene.radiance.shape[1:]
    if height > h or width > w:
        raise ValueError(f"crop {height} x {width} larger than {scene.name} ({h} x {w})")
    y, x = (h - height) // 4 * 2, (w - width) // 4 * 2
    return torch.from_numpy(clean_radiance(scene.radiance[:, y : y + height, x : x + width]))[None]


def random_crops(
    scenes: Sequence[Scene],
    count: int,
    size: int,
    rng: np.random.Generator,
    height: int | None = None,
    highlight_fraction: float = 0.0,
) -> list[Crop]:
    """``count`` random crops of ``height`` x ``size`` pixels (``height`` default ``size``;
    capped at the scene's height: full-height strips) with random horizontal flips; crop
    corners are even so the Bayer phase is kept. A ``highlight_fraction`` share of the crops
    is centred near one of the scene's brightest pixels (sun, lamps, glints), which random
    crops rarely contain."""
    out = []
    for _ in range(count):
        sc = scenes[int(rng.integers(len(scenes)))]
        h, w = sc.depth.shape
        ch, cw = min(h, height or size), min(w, size)
        if highlight_fraction > 0 and rng.random() < highlight_fraction:
            bright = sc.bright_pixels()
            r, c = bright[int(rng.integers(len(bright)))]
            jy, jx = rng.integers(-ch // 4, ch // 4 + 1), rng.integers(-cw // 4, cw // 4 + 1)
            y = int(np.clip(r - ch // 2 + jy, 0, h - ch)) // 2 * 2
            x = int(np.clip(c - cw // 2 + jx, 0, w - cw)) // 2 * 2
        else:
            y = int(rng.integers(0, (h - ch) // 2 + 1)) * 2
            x = int(rng.integers(0, (w - cw) // 2 + 1)) * 2
        rad = sc.radiance[:, y : y + ch, x : x + cw]
        depth = sc.depth[y : y + ch, x : x + cw]
        if rng.random() < 0.5:
            rad, depth = rad[:, :, ::-1], depth[:, ::-1]
        out.append(
            Crop(
                torch.from_numpy(clean_radiance(rad))[None],
                torch.from_numpy(np.ascontiguousarray(depth, dtype=np.float32))[None, None],
                sc.real,
                sc,
            )
        )
    return out
