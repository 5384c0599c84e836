"""Fixtures of the synthetic-data tests: tiny configs (fast) and the full-size default."""

from __future__ import annotations

from pathlib import Path

import pytest

from perception3d.sim.config import SynthConfig, load_synth_config
from perception3d.sim.writer import generate_dataset

pytest.importorskip("open3d")

# Small frames: 310 x 94 images (P2 scaled), 16 of the 64 lasers, 500 firings per turn.
TINY = (
    "camera.image_scale=0.25",
    "lidar.azimuth_steps=500",
    "lidar.beam_stride=4",
    "labels.min_height_px=3",
)


def tiny_config(frames: int = 3, seed: int = 7, *more: str) -> SynthConfig:
    return load_synth_config(None, [*TINY, f"frames={frames}", f"seed={seed}", *more])


@pytest.fixture(scope="session")
def tiny_cfg() -> SynthConfig:
    return tiny_config()


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory, tiny_cfg) -> Path:
    """Three tiny frames written by one in-process worker."""
    out = tmp_path_factory.mktemp("synth_tiny")
    generate_dataset(out, tiny_cfg, workers=1, progress=False)
    return out


@pytest.fixture(scope="session")
def full_dataset(tmp_path_factory) -> Path:
    """Two frames of the default, full-size config (1242 x 375, 64 beams, 2000 steps)."""
    out = tmp_path_factory.mktemp("synth_full")
    cfg = load_synth_config(None, ["frames=2", "seed=3"])
    generate_dataset(out, cfg, workers=1, progress=False)
    return out
