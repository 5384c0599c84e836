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
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
