"""Fixtures of the visualization tests: the real frames and a synthetic one."""

from __future__ import annotations

import pytest

from perception3d.data.kitti import KittiObjectDataset
from tests.viz.helpers import write_synthetic_root

pytest.importorskip("matplotlib")


@pytest.fixture(scope="session")
def frame8(kitti_root):
    """Real KITTI 000008: camera-FOV crop, image_2, 6 cars and 4 DontCare."""
    return KittiObjectDataset(kitti_root).frame("000008")


@pytest.fixture(scope="session")
def sweep_frame(kitti_root):
    """Real KITTI 004139: a full 360-degree sweep, no image."""
    return KittiObjectDataset(kitti_root).frame("004139")


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory):
    return write_synthetic_root(tmp_path_factory.mktemp("synth"))


@pytest.fixture(scope="session")
def synth_frame(synth_root):
    """The synthetic frame (tests/viz/helpers.py): 2 cars and a pedestrian on a ground grid."""
    return KittiObjectDataset(synth_root).frame("000001")


@pytest.fixture(params=["real", "synthetic"])
def any_frame(request, frame8, synth_frame):
    """Each view is checked on a real and on a synthetic frame."""
    return frame8 if request.param == "real" else synth_frame
