"""Fixtures of the visualization tests: real KITTI frames and a synthetic one made by
``perception3d synth``."""

from __future__ import annotations

import pytest

from perception3d.cli import main
from perception3d.data.kitti import KittiObjectDataset

pytest.importorskip("matplotlib")

SYNTH_SEED = 105  # frame 000000 of seed 105: three cars, a van, a DontCare row


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
    """One full-size frame of the synthetic generator (about 3 s), through its command."""
    pytest.importorskip("open3d")
    root = tmp_path_factory.mktemp("synth") / "synthkitti"
    assert main(["synth", "--out", str(root), "--frames", "1", "--seed", str(SYNTH_SEED)]) == 0
    return root


@pytest.fixture(scope="session")
def synth_frame(synth_root):
    """The synthetic frame 000000: full 360-degree sweep, image_2, labels."""
    return KittiObjectDataset(synth_root).frame("000000")


@pytest.fixture(params=["real", "synthetic"])
def any_frame(request, frame8, synth_frame):
    """Each view is checked on a real and on a synthetic frame."""
    return frame8 if request.param == "real" else synth_frame
