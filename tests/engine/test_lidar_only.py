"""A LiDAR-only dataset with custom classes (``data.format: lidar``) end to end: train (with
validation), ``perception3d infer`` writes LiDAR-frame prediction files, ``perception3d eval
lidar`` scores them, on a tiny generated dataset the detector overfits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from perception3d.cli import main
from perception3d.data.lidar_folder import LidarFolderDataset, read_lidar_labels
from perception3d.engine.config import DataConfig, load_experiment
from perception3d.engine.train import train
from perception3d.errors import DataFormatError, MissingFrameError
from perception3d.lidar.dataset import LidarDetectionDataset
from tests.lidar_only_scenes import write_lidar_only
from tests.models.conftest import NO_GLOBAL_AUG, TINY_OVERRIDES

CONFIG = Path(__file__).parents[2] / "configs" / "lidar_only" / "pointpillars_custom.yaml"
# the tiny overrides of tests/models, on a range centred on the sensor
TINY = (*TINY_OVERRIDES, "model.voxel.point_range_m=[-12.8, -12.8, -3.0, 12.8, 12.8, 1.0]")


@pytest.fixture(scope="module")
def lidar_root(tmp_path_factory) -> Path:
    return write_lidar_only(tmp_path_factory.mktemp("lidar_only") / "data", 4, seed=3)


def test_the_example_config_loads():
    cfg = load_experiment(CONFIG)
    assert cfg.data.format == "lidar" and cfg.model.classes == ("Crate", "Trailer")


def test_lidar_format_needs_no_camera():
    with pytest.raises(ValueError, match="fov_only: false"):
        DataConfig(root=Path("."), format="lidar")
    with pytest.raises(ValueError, match="'kitti', 'lidar' or 'kitti_raw'"):
        DataConfig(root=Path("."), format="nuscenes", fov_only=False)


def test_dataset_items_carry_the_labels(lidar_root):
    cfg = load_experiment(CONFIG, [*TINY, f"data.root={lidar_root}"])
    with pytest.raises(ValueError, match="no camera"):
        LidarDetectionDataset(lidar_root, "train", cfg.model.voxel, data_format="lidar")
    ds = LidarDetectionDataset(
        lidar_root, "train", cfg.model.voxel, fov_only=False, data_format="lidar"
    )
    assert len(ds) == 4 and ds.ids[1] == "scan_001"
    item = ds[1]
    labels = read_lidar_labels(lidar_root / "labels" / "scan_001.txt")
    np.testing.assert_allclose(item["gt_boxes_lidar"], labels.boxes_lidar, atol=1e-6)
    assert list(item["gt_names"]) == list(labels.names)
    assert len(item["voxel_points"]) > 100


def test_label_files_are_checked(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("Crate 1 2 3 1 1 1 0\n# a comment\n\nCrate 1 2 3 1 1\n")
    with pytest.raises(DataFormatError, match=r"f\.txt, line 4: expected 8 .* got 6"):
        read_lidar_labels(path)
    path.write_text("Crate 1 2 3 1 -1 1 0\n")
    with pytest.raises(DataFormatError, match="sizes >= 0"):
        read_lidar_labels(path)
    path.write_text("Crate 1 2 3 1 1 1 0 0.9\n")
    with pytest.raises(DataFormatError, match=r"expected 8 \(class"):
        read_lidar_labels(path, allow_score=False)
    assert read_lidar_labels(path).scores.tolist() == [0.9]
    with pytest.raises(MissingFrameError, match="no such folder"):
        LidarFolderDataset(tmp_path)


def test_missing_label_file_is_named(lidar_root, tmp_path):
    root = write_lidar_only(tmp_path / "d", 2, seed=1)
    (root / "labels" / "scan_001.txt").unlink()
    ds = LidarFolderDataset(root, "all")
    with pytest.raises(MissingFrameError, match=r"scan_001\.txt not found"):
        ds.frame("scan_001")
    assert len(LidarFolderDataset(root, "all", labelled=False).frame("scan_001").names) == 0


@pytest.mark.slow
def test_train_infer_eval_on_custom_classes(lidar_root, tmp_path, capsys):
    overrides = [*TINY, *NO_GLOBAL_AUG, f"data.root={lidar_root}", "train.epochs=40",
                 "train.lr_max=0.005", "train.validate_every=40"]  # fmt: skip
    cfg = load_experiment(CONFIG, overrides)
    result = train(cfg, tmp_path / "run", progress=False)
    val = result.history["epochs"][-1]["val"]
    assert set(val["scalars"]) == {"Crate_3d_R40", "Crate_bev_R40", "Trailer_3d_R40",
                                   "Trailer_bev_R40"}  # fmt: skip

    sets = [a for o in overrides for a in ("--set", o)]
    pred = tmp_path / "pred"
    ckpt = tmp_path / "run" / "latest.pt"
    rc = main(["infer", str(CONFIG), str(ckpt), "--data-root", str(lidar_root), "--split",
               "val", "--out", str(pred), "--device", "cpu", *sets])  # fmt: skip
    assert rc == 0
    rows = (pred / "scan_000.txt").read_text().splitlines()
    assert rows and all(len(r.split()) == 9 for r in rows)

    metrics = tmp_path / "metrics.json"
    rc = main(["eval", "lidar", "--gt-dir", str(lidar_root), "--pred-dir", str(pred),
               "--score-threshold", "0.5", "--out", str(metrics)])  # fmt: skip
    assert rc == 0
    table = capsys.readouterr().out
    assert "Crate" in table and "Trailer" in table
    result = json.loads(metrics.read_text())
    for name in ("Crate", "Trailer"):
        # every object found with a fitting box: the detector has overfitted its 4 frames
        assert result[name]["num_gt"] >= 4
        assert result[name]["bev"]["all_point"] > 90, result[name]
        assert result[name]["3d"]["all_point"] > 80, result[name]
        assert result[name]["bev"]["at_score"]["recall"] > 0.9
    # training validation used the same evaluator on the same frames
    assert val["scalars"]["Trailer_bev_R40"] == pytest.approx(result["Trailer"]["bev"]["R40"])
