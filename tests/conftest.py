"""Shared fixtures: the real KITTI sample frames shipped in tests/data/kitti_samples."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

KITTI_SAMPLES = Path(__file__).parent / "data" / "kitti_samples"


@pytest.fixture(scope="session")
def kitti_root() -> Path:
    """Read-only root of the real sample frames (000000, 000008, 004139)."""
    return KITTI_SAMPLES


@pytest.fixture
def kitti_copy(tmp_path: Path) -> Path:
    """A writable copy of the sample root, for tests that corrupt files."""
    dst = tmp_path / "kitti"
    shutil.copytree(KITTI_SAMPLES, dst)
    for p in dst.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return dst


@pytest.fixture
def frame8_root(tmp_path: Path) -> Path:
    """A root of one real sample frame (000008, files linked) whose val split is that frame."""
    root = tmp_path / "frame8"
    for sub, ext in (("calib", "txt"), ("image_2", "png"), ("label_2", "txt"), ("velodyne", "bin")):
        (root / "training" / sub).mkdir(parents=True)
        src = KITTI_SAMPLES / "training" / sub / f"000008.{ext}"
        (root / "training" / sub / f"000008.{ext}").symlink_to(src)
    (root / "ImageSets").mkdir()
    (root / "ImageSets" / "val.txt").write_text("000008\n")
    return root


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
