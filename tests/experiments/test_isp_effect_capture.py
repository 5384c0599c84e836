"""Captures of the ISP-effect experiment: every condition's display gain brings an ideal ISP's
output back to the clean image's exposure; conditions check their levels; seeded noise."""

from __future__ import annotations

import pytest
import torch

from perception3d.experiments.isp_effect_capture import Condition, capture_condition
from perception3d.isp.lowlight import MAX_ISO


def _scene():
    g = torch.Generator().manual_seed(0)
    radiance = torch.rand(1, 3, 16, 24, generator=g) * 0.5 + 0.05
    depth = torch.full((1, 1, 16, 24), 30.0)
    return radiance, depth


@pytest.mark.parametrize(
    "condition",
    [
        Condition("clean", "clean"),
        Condition("dark", "lowlight", 0.01),
        Condition("darker", "lowlight", 1e-4),  # beyond the ISO cap: digital gain
        Condition("capped", "lowlight", 0.01, max_iso=1600.0),  # the camera's own cap
        Condition("hdr", "hdr", 0.1),
        Condition("fog", "haze", 50.0),
    ],
)
def test_display_gain_restores_the_clean_exposure(condition):
    radiance, depth = _scene()
    exposure = 2.0
    raw, meta, reference, gain = capture_condition(radiance, depth, exposure, condition, 0, 3)
    assert raw.shape == (1, 1, 16, 24) and 0 <= float(raw.min()) <= float(raw.max()) <= 1
    torch.testing.assert_close(reference, radiance * exposure)
    level = condition.level if condition.kind == "lowlight" else 1.0
    # an ideal ISP returns (scene radiance) x linear_scale, scene = radiance x level
    assert gain * float(meta.linear_scale[0]) * level == pytest.approx(exposure, rel=1e-4)
    assert float(meta.iso[0]) <= (MAX_ISO if condition.max_iso is None else condition.max_iso)
    again = capture_condition(radiance, depth, exposure, condition, 0, 3)[0]
    assert torch.equal(raw, again)  # same seed and frame index, same raw
    assert not torch.equal(raw, capture_condition(radiance, depth, exposure, condition, 1, 3)[0])


def test_hdr_capture_clips_about_the_requested_fraction():
    radiance, depth = _scene()
    raw, *_ = capture_condition(radiance, depth, 2.0, Condition("hdr", "hdr", 0.2), 0, 0)
    assert 0.05 < float((raw >= 0.999).float().mean()) < 0.4


def test_condition_levels_are_checked():
    with pytest.raises(ValueError, match="lowlight level"):
        Condition("x", "lowlight", 2.0)
    with pytest.raises(ValueError, match="MOR"):
        Condition("x", "haze", 0.0)
    with pytest.raises(ValueError, match="kind must be"):
        Condition("x", "rain", 1.0)


def test_an_iso_cap_stores_a_darker_capture_by_the_missing_gain():
    radiance, depth = _scene()
    free = capture_condition(radiance, depth, 2.0, Condition("d", "lowlight", 0.01), 0, 3)
    capped = Condition("d", "lowlight", 0.01, max_iso=1600.0)
    raw, meta, _, gain = capture_condition(radiance, depth, 2.0, capped, 0, 3)
    assert float(meta.iso[0]) == pytest.approx(1600.0)
    assert float(free[1].iso[0]) > 1600.0 and free[3] == pytest.approx(1.0, rel=1e-4)
    # same exposure time, so the display makes up exactly the ISO the cap withheld
    assert gain == pytest.approx(float(free[1].iso[0]) / 1600.0, rel=1e-4)
    assert float(raw.mean()) < 0.6 * float(free[0].mean())
    with pytest.raises(ValueError, match="max_iso is for lowlight"):
        Condition("x", "haze", 50.0, max_iso=1600.0)
