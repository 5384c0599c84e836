"""Camera-response estimation: the features see the response and the noise, the estimator
trains from whole-frame captures into an HDR stage that loads and runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perception3d.isp.color import linear_to_srgb
from perception3d.isp.conditions import quantize8
from perception3d.isp.crf import NOISE_BINS, crf_feature_count, crf_features
from perception3d.isp.models import HdrNet
from perception3d.isp.train import TrainConfig, TrainData, load_weights, train_stage


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
    hdr = tmp_path / "hdr.pt"
    train_stage(
        TrainConfig(
            stage="hdr",
            out=hdr,
            width=4,
            steps=1,
            batch_size=1,
            crop=32,
            data=TrainData(procedural=1),
        ),
        log=lambda *_: None,
    )
    cfg = TrainConfig(
        stage="crf",
        out=tmp_path / "crf.pt",
        init=hdr,
        width=4,
        steps=20,
        batch_size=16,
        crf_captures=3,
        data=TrainData(procedural=3),
    )
    meta = train_stage(cfg, log=lambda *_: None)
    assert meta["held_out_accuracy"]["captures"] == 3
    model = load_weights(cfg.out)
    assert isinstance(model, HdrNet) and model.crf_estimator is not None
    ldr = torch.rand(1, 3, 40, 64)
    with torch.no_grad():
        assert model(ldr).shape == (1, 3, 40, 64)
    # the highlight network is the init's, unchanged
    before = torch.load(hdr, weights_only=True)["state_dict"]
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    with pytest.raises(ValueError, match="init"):
        train_stage(TrainConfig(stage="crf", out=tmp_path / "x.pt", width=4), log=print)
    np.testing.assert_equal(model.crf_estimator.feature_std.min().item() >= 1e-3, True)
