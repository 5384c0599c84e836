"""Camera-response estimation: the features see the response and the noise, the estimator
trains from whole-frame captures into an HDR stage that loads and runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perception3d.checkpoint import read_checkpoint
from perception3d.engine.config import defaults_with
from perception3d.engine.isp_config import CrfExperiment
from perception3d.engine.train import train
from perception3d.isp.color import linear_to_srgb
from perception3d.isp.conditions import quantize8
from perception3d.isp.crf import NOISE_BINS, crf_feature_count, crf_features
from perception3d.isp.models import HdrNet
from perception3d.isp.weights import load_isp_stage
from tests.isp.conftest import train_tiny_stage


def _ramp(noise: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    lin = torch.linspace(0.0, 1.0, 256).repeat(3, 64, 1)[None]
    return (lin + noise * torch.randn(lin.shape, generator=g) * lin.sqrt()).clamp(0, 1)


def test_features_separate_responses_and_see_noise():
    lin = _ramp()
    srgb, power = quantize8(linear_to_srgb(lin)), quantize8(lin.pow(1 / 2.6))
    fs, fp = crf_features(srgb), crf_features(power)
    assert fs.shape == fp.shape == (1, crf_feature_count())
    assert float((fs - fp).abs().max()) > 0.1
    noisy = crf_features(quantize8(linear_to_srgb(_ramp(0.02))))
    # the noise block (log residual power per code-value bin) rises with added noise
    start = crf_feature_count() - 2 * 3 * NOISE_BINS
    block = slice(start, start + 3 * NOISE_BINS)
    assert float(noisy[0, block].sum()) > float(fs[0, block].sum())


@pytest.mark.slow
def test_crf_stage_trains_into_a_loadable_hdr_stage(tmp_path):
    hdr = train_tiny_stage("hdr", tmp_path / "hdr")
    sets = [
        "model.width=4",
        "train.epochs=1",
        "train.steps_per_epoch=20",
        "train.batch_size=16",
        "data.captures_per_scene=3",
        "data.procedural=3",
        f"train.init_weights={hdr}",
    ]
    meta = train(defaults_with(CrfExperiment, sets), tmp_path / "crf", progress=False)
    meta = meta.history["epochs"][-1]["val"]
    assert meta["held_out_accuracy"]["captures"] == 3
    model = load_isp_stage(tmp_path / "crf" / "model.pt", "hdr")
    assert isinstance(model, HdrNet) and model.crf_estimator is not None
    ldr = torch.rand(1, 3, 40, 64)
    with torch.no_grad():
        assert model(ldr).shape == (1, 3, 40, 64)
    # the highlight network is the init's, unchanged
    before = read_checkpoint(hdr, "isp_hdr")["model"]
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    with pytest.raises(ValueError, match="init"):
        train(defaults_with(CrfExperiment, ["model.width=4"]), tmp_path / "x", progress=False)
    np.testing.assert_equal(model.crf_estimator.feature_std.min().item() >= 1e-3, True)
