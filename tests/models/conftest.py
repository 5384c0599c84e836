"""A tiny PointPillars config for fast model/engine tests: the shipped lite config with a
smaller range and backbone, through the same loader and ``--set`` overrides users have."""

from __future__ import annotations

from pathlib import Path

import pytest

from perception3d.engine.config import ExperimentConfig, load_experiment

CONFIGS = Path(__file__).parents[2] / "configs" / "models"

# A 16-channel pillar encoder and a two-block 16/32-channel backbone (PointPillars configs).
TINY_NETWORK = (
    "model.pillar_encoder.channels=[16]",
    "model.backbone.layers=[1, 1]",
    "model.backbone.strides=[2, 2]",
    "model.backbone.channels=[16, 32]",
    "model.backbone.upsample_strides=[1, 2]",
    "model.backbone.upsample_channels=[32, 32]",
)
# No global flip, rotation or scaling: a model that is to learn its frames sees them as they are.
NO_GLOBAL_AUG = (
    "augmentation.global_transform.flip_x_prob=0.0",
    "augmentation.global_transform.rotation_rad=[0.0, 0.0]",
    "augmentation.global_transform.scale=[1.0, 1.0]",
)
TINY_OVERRIDES = (
    "model.voxel.point_range_m=[0.0, -12.8, -3.0, 25.6, 12.8, 1.0]",
    "model.voxel.voxel_size_m=[0.2, 0.2, 4.0]",
    *TINY_NETWORK,
    "train.num_workers=0",
    "train.num_threads=1",  # results independent of the machine's core count
)


def tiny_config(root: Path | str = ".", *extra: str) -> ExperimentConfig:
    overrides = [*TINY_OVERRIDES, f"data.root={Path(root).resolve()}", *extra]
    return load_experiment(CONFIGS / "pointpillars_lite.yaml", overrides)


@pytest.fixture
def tiny_cfg() -> ExperimentConfig:
    return tiny_config()
