"""Dark / well-exposed sRGB pairs from the sensor model (perception3d/isp/enhance/pairs.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perception3d.isp.color import srgb_to_linear
from perception3d.isp.enhance.pairs import LowLight, make_lowlight_pair


def test_pairs_are_seeded_8bit_and_darker():
    rad = torch.rand(2, 3, 32, 48) + 0.1
    a = make_lowlight_pair(rad, np.random.default_rng(3))
    b = make_lowlight_pair(rad, np.random.default_rng(3))
    assert torch.equal(a.dark_srgb, b.dark_srgb) and torch.equal(a.reference_srgb, b.reference_srgb)
    c = make_lowlight_pair(rad, np.random.default_rng(4))
    assert not torch.equal(a.dark_srgb, c.dark_srgb)
    for img in (a.dark_srgb, a.reference_srgb):
        assert img.shape == rad.shape and torch.equal(img, torch.round(img * 255) / 255)
    assert ((2.0 <= a.stops) & (a.stops <= 5.0)).all()
    assert (a.dark_srgb.mean((1, 2, 3)) < 0.7 * a.reference_srgb.mean((1, 2, 3))).all()


def test_a_grey_card_is_exactly_the_stops_darker_and_photon_limited():
    """A flat grey: the dark capture's linear mean is the reference's x 2^-stops (the classical
    ISP undoes vignetting, colour response and white balance), and its noise is about shot
    noise: relative std >= 1 / sqrt(electrons)."""
    grey = torch.full((1, 3, 64, 64), 0.3)
    low = LowLight(stops_under=(3.0, 3.0), iso=(800.0, 800.0), reference_mean=(0.2, 0.2))
    p = make_lowlight_pair(grey, np.random.default_rng(0), low)
    ref_lin = srgb_to_linear(p.reference_srgb).mean()
    dark_lin = srgb_to_linear(p.dark_srgb)
    assert float(ref_lin) == pytest.approx(0.2, rel=0.02)
    assert float(dark_lin.mean()) == pytest.approx(0.2 / 8, rel=0.1)
    rel_std = float(dark_lin[0, 1].std() / dark_lin[0, 1].mean())
    assert rel_std >= 0.9 / float(p.electrons[0]) ** 0.5
    # ISO 800, full well 6000-15000: 0.9 FW / 8 e- per unit linear, times 0.025
    assert 15 < float(p.electrons[0]) < 45


def test_bad_inputs_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        make_lowlight_pair(torch.rand(3, 8, 8), rng)
    with pytest.raises(ValueError, match="even"):
        make_lowlight_pair(torch.rand(1, 3, 9, 8), rng)
    with pytest.raises(ValueError, match="stops_under"):
        LowLight(stops_under=(5.0, 2.0))
