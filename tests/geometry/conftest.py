"""Fixtures shared by the geometry tests: the real 360-degree sweep and its beam table."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.geometry.beams import BeamTable, estimate_beam_table


def _velodyne(kitti_root, frame_id: str) -> np.ndarray:
    path = kitti_root / "training" / "velodyne" / f"{frame_id}.bin"
    return np.fromfile(path, np.float32).reshape(-1, 4)


@pytest.fixture(scope="module")
def sweep(kitti_root) -> np.ndarray:
    """004139: a full 360-degree HDL-64E sweep, 123,266 points, in firing order."""
    return _velodyne(kitti_root, "004139")


@pytest.fixture(scope="module")
def sweep_table(sweep) -> BeamTable:
    return estimate_beam_table(sweep)
