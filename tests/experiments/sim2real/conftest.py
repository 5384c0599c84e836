"""A tiny real + synthetic pair: KITTI 000008 (the real camera crop) and altered copies of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from perception3d.data.kitti import read_velodyne, write_velodyne
from perception3d.experiments.sim2real.divergence import histogram
from perception3d.experiments.sim2real.objects import HEIGHT_EDGES, INTENSITY_EDGES

# The shipped LiDAR detector (trained on synthetic frames): the teacher / the model to adapt.
WEIGHTS = "perception3d/assets/weights/pointpillars_lite_synth.pt"


def object_record(cls: str = "Car", **fields) -> dict:
    """One labelled object's row as ``stats.py`` records it, with plain values (a car at 15 m,
    200 returns, nothing near or over it, alone); ``fields`` replace them."""
    row = {
        "class": cls,
        "distance_m": 15.0,
        "points": 200,
        "intensity": histogram([0.3], INTENSITY_EDGES),
        "height_in_box": histogram([0.5], HEIGHT_EDGES),
        "clearance_m": 1.0,
        "clutter": 10,
        "overhead": 0,
        "neighbours": 0,
        "side_by_side": float("nan"),
    }
    return {**row, **fields}


def copy_frame(src_root: Path, dst_root: Path, frame_id: str = "000008") -> Path:
    """A KITTI root holding one frame of ``src_root`` (velodyne, calib, label, image)."""
    for folder, suffix in (
        ("velodyne", "bin"),
        ("calib", "txt"),
        ("label_2", "txt"),
        ("image_2", "png"),
    ):
        src = src_root / "training" / folder / f"{frame_id}.{suffix}"
        if src.is_file():
            (dst_root / "training" / folder).mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dst_root / "training" / folder / src.name)
    return dst_root


def unlabelled_root(kitti_root: Path, tmp_path: Path) -> Path:
    """A KITTI root of one real sweep (004139) without labels, calib or image."""
    root = tmp_path / "unlabelled"
    (root / "training" / "velodyne").mkdir(parents=True)
    shutil.copy(kitti_root / "training/velodyne/004139.bin", root / "training/velodyne")
    return root


@pytest.fixture
def tiny_pair(tmp_path: Path, kitti_root: Path) -> tuple[Path, Path, Path]:
    """(real root, identical synthetic root, synthetic root with every intensity set to 0.9)."""
    real = copy_frame(kitti_root, tmp_path / "real")
    same = copy_frame(kitti_root, tmp_path / "synth_same")
    bright = copy_frame(kitti_root, tmp_path / "synth_bright")
    velo = bright / "training" / "velodyne" / "000008.bin"
    points = read_velodyne(velo)
    points[:, 3] = np.float32(0.9)
    write_velodyne(velo, points)
    return real, same, bright
