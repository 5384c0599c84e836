"""Engine fixtures: a toy KITTI-layout dataset (tests/toy_scenes.py) and the tiny config; a root
of procedural radiance frames for the camera tasks; the weights of two runs of one config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from perception3d.engine.train import train
from perception3d.isp.scenes import procedural_scene
from tests.toy_scenes import write_toy_kitti


def write_procedural_root(root: Path, height: int, width: int, night: bool | None = None) -> Path:
    """A synthetic-layout root of 3 procedural frames (``radiance_2`` float16, ``depth_2``;
    000000-000001 in ImageSets/train.txt, 000002 in val.txt), seeded."""
    rng = np.random.default_rng(0)
    for name in ("radiance_2", "depth_2"):
        (root / "training" / name).mkdir(parents=True)
    for i in range(3):
        rad, depth = procedural_scene(height, width, rng, night=night)
        np.save(root / "training" / "radiance_2" / f"{i:06d}.npy", rad.astype(np.float16))
        np.save(root / "training" / "depth_2" / f"{i:06d}.npy", depth)
    (root / "ImageSets").mkdir()
    (root / "ImageSets" / "train.txt").write_text("000000\n000001\n")
    (root / "ImageSets" / "val.txt").write_text("000002\n")
    return root


def weights_of_two_runs(config, tmp_path: Path) -> tuple[dict, dict]:
    """The ``model.pt`` state dicts of two training runs of the same ``config``."""
    states = []
    for name in ("a", "b"):
        train(config, tmp_path / name, progress=False)
        states.append(torch.load(tmp_path / name / "model.pt", weights_only=True)["model"])
    return states[0], states[1]


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory) -> Path:
    """4 toy frames with 1-3 cars each; train = val = all."""
    return write_toy_kitti(tmp_path_factory.mktemp("toy") / "kitti", 4, seed=1)
