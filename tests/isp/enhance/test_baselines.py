"""Gamma and CLAHE baselines (perception3d/isp/enhance/baselines.py)."""

from __future__ import annotations

import pytest
import torch

from perception3d.isp.enhance.baselines import clahe_baseline, gamma_baseline


def test_gamma_reaches_its_target_brightness_and_keeps_hue():
    g = torch.Generator().manual_seed(0)
    dark = torch.rand(2, 3, 32, 32, generator=g) * 0.15
    out = gamma_baseline(dark, 0.45)
    value = out.amax(1).clamp(1e-4, 1)
    # the mean brightness (V) is the target up to the 1e-4 floor of V
    assert value.mean((1, 2)).tolist() == pytest.approx([0.45, 0.45], abs=2e-2)
    ratio = out / dark.clamp_min(1e-6)  # one gain for the three channels of a pixel
    unclipped = out.amax(1) < 1.0
    spread = (ratio.amax(1) - ratio.amin(1))[unclipped] / ratio.amax(1)[unclipped]
    assert float(spread.max()) < 1e-3
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        gamma_baseline(torch.rand(3, 8, 8))


def test_clahe_brightens_within_range():
    dark = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 0.15
    out = clahe_baseline(dark)
    assert out.shape == dark.shape and out.mean() > 2 * dark.mean()
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0
