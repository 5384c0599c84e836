"""Engine fixtures: a toy KITTI-layout dataset (tests/toy_scenes.py) and the tiny config."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.toy_scenes import write_toy_kitti


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory) -> Path:
    """4 toy frames with 1-3 cars each; train = val = all."""
    return write_toy_kitti(tmp_path_factory.mktemp("toy") / "kitti", 4, seed=1)
