"""Image sources of the ISP-effect experiment, the ``enhancer`` source above all: selectable
from YAML, unknown names rejected, and on a dark synthetic capture the shipped low-light
enhancer brings the image closer to the well-exposed scene than the camera's own image."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from perception3d.config import ConfigError
from perception3d.experiments.isp_effect import evaluated_weights, load_isp_effect_config
from perception3d.experiments.isp_effect_capture import Condition, capture_condition
from perception3d.experiments.isp_effect_sources import (
    ENHANCER_WEIGHTS,
    camera_srgb,
    display_srgb,
    source_developer,
)
from perception3d.isp.color import srgb_to_linear
from perception3d.isp.metrics import psnr
from perception3d.isp.sensor import SensorParams, auto_exposure_s, capture

ROOT = Path(__file__).parents[2]
CONFIG = ROOT / "configs" / "fusion" / "isp_effect_real_lowlight.yaml"


def _scene(h: int = 96, w: int = 128) -> torch.Tensor:
    """A seeded linear radiance (1, 3, H, W): smooth colour gradients with a few flat
    rectangles (edges), mean about 0.2 (well exposed)."""
    gen = torch.Generator().manual_seed(7)
    y = torch.linspace(0, 1, h).view(1, 1, h, 1)
    x = torch.linspace(0, 1, w).view(1, 1, 1, w)
    tint = torch.rand(1, 3, 1, 1, generator=gen) * 0.5 + 0.5
    scene = (0.1 + 0.3 * x + 0.2 * y) * tint
    for _ in range(5):
        y0, x0 = (
            int(torch.randint(0, h - 24, (1,), generator=gen)),
            int(torch.randint(0, w - 32, (1,), generator=gen)),
        )
        scene[..., y0 : y0 + 24, x0 : x0 + 32] = torch.rand(1, 3, 1, 1, generator=gen) * 0.6
    return scene * (0.2 / scene.mean())


def test_enhancer_is_selectable_from_yaml_and_unknown_sources_fail(tmp_path):
    cfg = load_isp_effect_config(CONFIG)
    assert "enhancer" in cfg.isps and cfg.device == "auto"
    assert ENHANCER_WEIGHTS in evaluated_weights(cfg)  # its weights are held-out checked too
    without = load_isp_effect_config(CONFIG, ["isps=[none,reference]"])
    assert ENHANCER_WEIGHTS not in evaluated_weights(without)
    with pytest.raises(ConfigError, match=r"unknown image source\(s\) \['enhancr'\].*enhancer"):
        load_isp_effect_config(CONFIG, ["isps=[none,enhancr]"])
    with pytest.raises(ValueError, match="unknown image source"):
        source_developer("gamma", Condition("dark", "lowlight", 0.01))
    with pytest.raises(ValueError, match="reference source has no capture"):
        source_developer("reference", Condition("dark", "lowlight", 0.01))


def test_enhancer_source_on_an_experiment_capture_gives_a_displayable_image():
    cond = Condition("lowlight_1e-2", "lowlight", 0.01)
    scene = _scene()
    depth = torch.full((1, 1, *scene.shape[-2:]), 20.0)
    raw, meta, _, gain = capture_condition(scene, depth, 1.0, cond, seed=0, index=3)
    image = source_developer("enhancer", cond, "cpu")(raw, meta, gain)
    assert image.shape == (1, 3, *raw.shape[-2:])
    assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
    assert torch.equal(image, torch.round(image * 255) / 255)  # 8-bit levels, like image_2
    again = source_developer("enhancer", cond, "cpu")(raw, meta, gain)
    assert torch.equal(image, again)  # deterministic: the experiment's caches rely on it


def test_enhancer_source_brightens_a_dark_capture_towards_the_reference():
    reference = _scene()
    params = SensorParams()
    params = dataclasses.replace(params, iso=1600.0)
    params = dataclasses.replace(params, exposure_s=auto_exposure_s(torch.ones(1), params, 1.0))
    dark = reference * 2.0**-3.5  # 3.5 stops under: a camera out of exposure time and gain
    raw, meta = capture(dark, params, torch.Generator().manual_seed(0))

    enhanced = source_developer("enhancer", Condition("dark", "lowlight", 0.01), "cpu")(
        raw, meta, 1.0
    )
    camera = display_srgb(srgb_to_linear(camera_srgb(raw, meta)), 1.0)  # same display, no net
    target = display_srgb(reference, 1.0)
    assert float(enhanced.mean()) > float(camera.mean()) + 0.05
    assert float(psnr(enhanced, target)) > float(psnr(camera, target)) + 1.0


def test_cached_images_are_keyed_on_the_enhancer_weights_and_the_iso_cap():
    import hashlib

    from perception3d.experiments.isp_effect import _source_key

    cfg = load_isp_effect_config(CONFIG)
    free, capped = (c for c in cfg.conditions if c.level == 0.01)
    key = _source_key(cfg, free, "enhancer")
    assert key["enhancer"] == hashlib.sha256(ENHANCER_WEIGHTS.read_bytes()).hexdigest()
    assert "enhancer" not in _source_key(cfg, free, "none")
    # an uncapped condition keeps the key of earlier runs; a capped one gets its own images
    assert "max_iso" not in key and capped.max_iso == 1600
    assert _source_key(cfg, capped, "none") != _source_key(cfg, free, "none")
