"""Fixtures: the ground-truth database of the real sample frames, the KITTI scanner."""

from __future__ import annotations

import pytest

from perception3d.data.gt_database import GtDatabase, create_gt_database
from perception3d.data.kitti import KittiObjectDataset
from perception3d.data.sample import sample_from_frame
from perception3d.lidar.scanner import ScannerModel


@pytest.fixture(scope="session")
def real_database(kitti_root, tmp_path_factory) -> GtDatabase:
    out = tmp_path_factory.mktemp("gtdb") / "db"
    return GtDatabase.load(create_gt_database(kitti_root, "training", out, progress=False))


@pytest.fixture(scope="session")
def scanner() -> ScannerModel:
    return ScannerModel.kitti_hdl64e()


@pytest.fixture(scope="session")
def sweep_004139(kitti_root):
    """The full 360-degree sweep (123,266 points, 22 labelled objects) as a LidarSample."""
    return sample_from_frame(KittiObjectDataset(kitti_root).frame("004139"))


@pytest.fixture(scope="session")
def crop_000008(kitti_root):
    """The camera-field-of-view crop (17,238 points, 6 cars) as a LidarSample."""
    return sample_from_frame(KittiObjectDataset(kitti_root).frame("000008"))


@pytest.fixture(scope="session")
def generated_sweep(tmp_path_factory):
    """A sweep of the project's synthetic generator (`perception3d synth`: KITTI's beam table,
    2000 firings per turn) with its labels, as a LidarSample; small camera to save time."""
    pytest.importorskip("open3d")
    from perception3d.sim.config import load_synth_config
    from perception3d.sim.writer import generate_dataset

    out = tmp_path_factory.mktemp("synth")
    cfg = load_synth_config(None, ["frames=1", "seed=5", "camera.image_scale=0.25"])
    generate_dataset(out, cfg, workers=1, progress=False)
    return sample_from_frame(KittiObjectDataset(out).frame(0))
