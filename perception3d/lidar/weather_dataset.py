"""A weathered copy of a KITTI-layout split: every sweep through fog, rain or snow of fixed
strength, everything else (calib, labels, images) copied unchanged.

``perception3d weather --data-root DIR --out DIR2 --split val --fog-mor 50`` makes the foggy
validation set of the augmentation ablation (tools/ablation_augment.py). Deterministic: frame k
draws its randomness from ``np.random.default_rng([seed, k])``.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Literal

import numpy as np
from tqdm import tqdm

from perception3d.atomic import atomic_write_bytes, atomic_write_text
from perception3d.data.kitti import KittiObjectDataset, read_velodyne, write_velodyne
from perception3d.data.sample import LidarSample
from perception3d.lidar.precipitation import PrecipitationConfig, add_precipitation
from perception3d.lidar.scanner import ScannerModel
from perception3d.lidar.weather import FogConfig, add_fog

__all__ = ["write_weather_copy"]

_COPIED = ("calib", "label_2", "image_2")


def write_weather_copy(
    data_root: str | Path,
    out_root: str | Path,
    split: str = "val",
    kind: Literal["fog", "rain", "snow"] = "fog",
    strength: float = 50.0,
    seed: int = 0,
    scanner: ScannerModel | None = None,
    progress: bool = True,
) -> Path:
    """Write ``out_root`` with the split's frames in weather.

    Args:
        data_root: KITTI-layout root with ``ImageSets/<split>.txt``.
        out_root: new root (``training/{velodyne,calib,label_2,image_2}``, ``ImageSets``,
            ``training/weather_clutter/<id>.npy`` bool masks, ``weather.json``).
        split: ImageSets name.
        kind: fog (``strength`` = MOR in metres), rain or snow (``strength`` = mm/h).
        seed: base seed.
        scanner: the sensor's rays (default: KITTI's HDL-64E cones).
        progress: show a progress bar.

    Returns:
        ``out_root``.
    """
    if strength <= 0:
        raise ValueError(f"strength must be > 0 (MOR in m or rate in mm/h), got {strength}")
    if kind not in ("fog", "rain", "snow"):
        raise ValueError(f"kind must be fog|rain|snow, got {kind!r}")
    src = KittiObjectDataset(data_root, split=split)
    out_root = Path(out_root)
    scanner = scanner or ScannerModel.kitti_hdl64e()
    fog, precipitation = FogConfig(), PrecipitationConfig()
    counts = {"points_in": 0, "points_out": 0, "clutter": 0}
    for index, frame_id in enumerate(tqdm(src.ids, desc=f"weather {kind}", disable=not progress)):
        frame = src.frame(frame_id)
        points = read_velodyne(frame.velodyne_path)
        sample = LidarSample(frame_id, points, np.zeros((0, 7)), np.array([], dtype=object))
        rng = np.random.default_rng([seed, index])
        if kind == "fog":
            out = add_fog(sample, scanner, np.log(20.0) / strength, fog, rng)
        else:
            out = add_precipitation(sample, scanner, kind, strength, precipitation, rng)
        write_velodyne(out_root / "training" / "velodyne" / f"{frame_id}.bin", out.points[:, :4])
        mask = out.extras["weather_clutter_mask"]
        buffer = io.BytesIO()
        np.save(buffer, mask, allow_pickle=False)
        atomic_write_bytes(out_root / "training" / "weather_clutter" / f"{frame_id}.npy",
                           buffer.getvalue())  # fmt: skip
        for folder in _COPIED:
            for path in (src.split_dir / folder).glob(f"{frame_id}.*"):
                atomic_write_bytes(out_root / "training" / folder / path.name, path.read_bytes())
        counts["points_in"] += len(points)
        counts["points_out"] += len(out.points)
        counts["clutter"] += int(mask.sum())
    image_sets = out_root / "ImageSets"
    image_sets.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(data_root) / "ImageSets" / f"{split}.txt", image_sets / f"{split}.txt")
    meta = {"source": str(data_root), "split": split, "kind": kind, "seed": seed,
            "frames": len(src.ids), **counts}  # fmt: skip
    meta["mor_m" if kind == "fog" else "rate_mm_h"] = strength
    atomic_write_text(out_root / "weather.json", json.dumps(meta, indent=2) + "\n")
    return out_root
