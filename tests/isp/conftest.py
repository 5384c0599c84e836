"""ISP test fixtures."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _keep_numpy_print_options():
    """Importing colour-demosaicing (through colour) switches numpy to legacy="1.13" printing
    for the whole process, which breaks other modules' doctests run in the same worker."""
    options = np.get_printoptions()
    yield
    np.set_printoptions(**options)


def train_tiny_stage(stage: str, out_dir, steps: int = 1, crop: int = 32, **data):
    """Train a width-4 ``stage`` for ``steps`` steps of batch 1 on one procedural scene (the
    stage's training recipe otherwise); returns the released ``model.pt``."""
    import dataclasses

    from perception3d.engine.isp_config import IspData, IspExperiment
    from perception3d.engine.train import train
    from perception3d.isp.weights import IspModelConfig

    base = IspExperiment(model=IspModelConfig(stage, width=4))
    cfg = dataclasses.replace(
        base,
        data=IspData(procedural=1, crop=crop, **data),
        train=dataclasses.replace(base.train, epochs=1, steps_per_epoch=steps, batch_size=1),
    )
    train(cfg, out_dir, progress=False)
    return out_dir / "model.pt"
