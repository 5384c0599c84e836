"""The training config's ``augmentation:`` section: the ablation experiments load, build their
transforms in the documented order, and a training dataset with the physical set pastes objects
deterministically."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from perception3d.data.gt_database import create_gt_database
from perception3d.engine.config import load_experiment
from perception3d.lidar.dataset import LidarDetectionDataset
from perception3d.lidar.global_aug import global_transforms
from perception3d.lidar.pipeline import build_augmentation

EXPERIMENTS = Path(__file__).parents[2] / "configs" / "experiments"
PHYSICAL = ["PasteObjects", "IntensityPerturbation", "Weather", "BeamDownsample", "SectorDropout"]


@pytest.fixture(scope="module")
def database(kitti_root, tmp_path_factory) -> Path:
    return create_gt_database(
        kitti_root, "training", tmp_path_factory.mktemp("db") / "db", progress=False
    )


def _arm(name: str, database: Path):
    pastes = name not in ("none", "global_only")
    sets = [f"augmentation.physical.paste.database={database}"] if pastes else []
    return load_experiment(EXPERIMENTS / f"ablation_augment_{name}.yaml", sets)


@pytest.mark.parametrize(
    ("name", "physical"),
    [
        ("none", []),
        ("global_only", []),
        ("naive_paste", ["PasteObjects"]),
        ("physical_paste_only", ["PasteObjects"]),
        ("physical", PHYSICAL),
    ],
)
def test_ablation_arms_build_their_transforms(name, physical, database):
    cfg = _arm(name, database)
    names = [type(t).__name__ for t in build_augmentation(cfg.augmentation)]
    after = [type(t).__name__ for t in global_transforms(cfg.augmentation.global_transform)]
    assert names == physical + after
    if cfg.augmentation.physical is not None and physical:
        assert cfg.augmentation.physical.paste.physical == (name != "naive_paste")


def test_training_dataset_pastes_deterministically(kitti_root, database):
    cfg = _arm("physical_paste_only", database)
    ds = LidarDetectionDataset(
        kitti_root,
        "training",
        cfg.model.voxel,
        transforms=build_augmentation(cfg.augmentation),
        training=True,
        fov_only=True,
        seed=3,
    )
    plain = LidarDetectionDataset(kitti_root, "training", cfg.model.voxel, fov_only=True)
    i = ds.ids.index("000008")
    a, b = ds[i], ds[i]
    assert a["voxel_points"].tobytes() == b["voxel_points"].tobytes()
    assert np.array_equal(a["gt_boxes_lidar"], b["gt_boxes_lidar"])
    # 15 draws per class from the three sample frames' objects: some land in the crop
    assert len(a["gt_boxes_lidar"]) > len(plain[i]["gt_boxes_lidar"])


def test_the_shipped_paste_stage_trains_the_lite_model_with_paste(database):
    """configs/models/pointpillars_lite_paste.yaml (the last stage of row 12's
    pointpillars_lite_synth.pt, docs/sim2real.md) is pointpillars_lite.yaml plus paste, beam
    downsampling and sector dropout, reading intensity as row 12 did (the lite config has read
    none since row 25): the same network, so it can start from the earlier stages' weights."""
    models = EXPERIMENTS.parent / "models"
    paste = load_experiment(
        models / "pointpillars_lite_paste.yaml",
        [f"augmentation.physical.paste.database={database}"],
    )
    lite = load_experiment(models / "pointpillars_lite.yaml")
    assert paste.model.pillar_encoder.read_intensity
    assert not lite.model.pillar_encoder.read_intensity
    reading = replace(lite.model.pillar_encoder, read_intensity=True)
    lite = replace(lite, model=replace(lite.model, pillar_encoder=reading))
    assert (paste.model, paste.data, paste.train) == (lite.model, lite.data, lite.train)
    assert paste.augmentation.global_transform == lite.augmentation.global_transform
    names = [type(t).__name__ for t in build_augmentation(paste.augmentation)]
    after = [type(t).__name__ for t in global_transforms(lite.augmentation.global_transform)]
    assert names == ["PasteObjects", "BeamDownsample", "SectorDropout", *after]
