"""Low-light sRGB pairs, baselines and the illumination-map enhancer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perception3d.isp.enhance.baselines import clahe_baseline, gamma_baseline
from perception3d.isp.enhance.illumination import IlluminationNet, enhance_loss
from perception3d.isp.enhance.pairs import make_exposure_pair


def test_pairs_are_darker_by_the_stops_and_seeded():
    rad = torch.rand(1, 3, 16, 16) + 0.1
    a = make_exposure_pair(rad, np.random.default_rng(3))
    b = make_exposure_pair(rad, np.random.default_rng(3))
    assert all(torch.equal(x, y) for x, y in zip(a[:2], b[:2]))
    dark, ref, stops = a
    assert 2.0 <= stops <= 5.0 and dark.mean() < 0.6 * ref.mean()
    assert torch.equal(dark, torch.round(dark * 255) / 255)  # 8-bit levels
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        make_exposure_pair(torch.rand(3, 8, 8), np.random.default_rng(0))


def test_baselines_brighten_and_keep_hue():
    dark = torch.rand(2, 3, 32, 32) * 0.15
    for out in (gamma_baseline(dark), clahe_baseline(dark)):
        assert out.shape == dark.shape and out.mean() > 2 * dark.mean()
        assert 0.0 <= out.min() and out.max() <= 1.0
    out = gamma_baseline(dark)
    ratio = out / dark.clamp_min(1e-6)  # one gain for the three channels of a pixel
    unclipped = out.amax(1) < 1.0
    spread = (ratio.amax(1) - ratio.amin(1))[unclipped] / ratio.amax(1)[unclipped]
    assert float(spread.max()) < 1e-3


def test_illumination_net_divides_out_its_map_and_trains():
    torch.manual_seed(0)
    model = IlluminationNet(width=4)
    dark = torch.rand(2, 3, 24, 32) * 0.2
    out, illum = model(dark)
    assert out.shape == illum.shape == dark.shape
    torch.testing.assert_close(out, (dark / illum).clamp(0, 1))
    assert float(illum.detach().min()) >= model.l_min and float(illum.detach().max()) <= 1.0
    loss = enhance_loss(out, illum, dark, (dark * 3).clamp(0, 1))
    loss.backward()
    assert torch.isfinite(loss) and model.head.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        model(torch.rand(1, 1, 8, 8))


def test_train_and_evaluate_tiny(tmp_path):
    from perception3d.experiments.lowlight_enhance import evaluate_enhancer, train_enhancer

    model = train_enhancer(2, seed=0, crop=32, num_scenes=2, width=4, log=lambda _: None)
    result = evaluate_enhancer(model, [900_000])
    assert set(result) == {"input", "gamma", "clahe", "illumination_net"}
    # the baselines brighten the dark input towards the reference
    assert result["gamma"]["psnr"] > result["input"]["psnr"]
