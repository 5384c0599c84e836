"""The illumination-map enhancer (perception3d/isp/enhance/illumination.py)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from perception3d.checkpoint import CheckpointError, make_checkpoint, write_checkpoint
from perception3d.isp.enhance.illumination import (
    ENHANCE_KIND,
    EnhanceLoss,
    EnhanceModelConfig,
    IlluminationNet,
    enhance_loss,
    load_enhancer,
)

SMALL = EnhanceModelConfig(width=4, denoise_width=4, denoise_depth=3)


def test_a_constant_illumination_is_divided_out():
    """An image darkened uniformly by 0.25 is recovered exactly when the network predicts a
    constant illumination of 0.25 (head weights zero, bias logit(0.25)); the untrained
    denoiser (last layer zero) passes the division through."""
    torch.manual_seed(0)
    model = IlluminationNet(SMALL)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.fill_(float(torch.logit(torch.tensor(0.25))))
    image = torch.rand(1, 3, 30, 42) * 0.9 + 0.05  # odd-free sizes, below 1
    out, illum = model(image * 0.25)
    torch.testing.assert_close(illum, torch.full_like(illum, 0.25), atol=1e-4, rtol=0)
    torch.testing.assert_close(out, image, atol=1e-3, rtol=0)
    out_odd, _ = model(image[..., :29, :41] * 0.25)  # odd sides: padded and cropped back
    torch.testing.assert_close(out_odd, image[..., :29, :41], atol=1e-3, rtol=0)


def test_illumination_bounds_and_gradients():
    torch.manual_seed(0)
    model = IlluminationNet(SMALL)
    dark = torch.rand(2, 3, 24, 32) * 0.2
    out, illum = model(dark)
    assert out.shape == illum.shape == dark.shape
    assert float(illum.detach().min()) >= SMALL.l_min and float(illum.detach().max()) <= 1.0
    assert (illum >= dark.amax(1, keepdim=True) - 0.05).float().mean() > 0.9  # S <= 1 mostly
    loss, parts = enhance_loss(out, illum, dark, (dark * 3).clamp(0, 1))
    loss.backward()
    assert torch.isfinite(loss) and set(parts) == {"l1", "ssim", "colour_rad"}
    assert model.head.weight.grad.abs().sum() > 0
    assert model.denoiser.body[-1].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        model(torch.rand(1, 1, 16, 16))


def test_the_loss_is_zero_on_the_target_and_weights_are_checked():
    t = torch.rand(1, 3, 16, 16)
    illum = torch.full_like(t, 0.5)
    loss, _ = enhance_loss(t, illum, t * 0.5, t, EnhanceLoss(smooth=0.0))
    assert float(loss) == pytest.approx(0.0, abs=1e-3)
    with pytest.raises(ValueError, match="loss weights"):
        EnhanceLoss(ssim=-1.0)
    with pytest.raises(ValueError, match="l_min"):
        EnhanceModelConfig(l_min=1.5)


def test_weight_file_round_trip(tmp_path):
    model = IlluminationNet(SMALL)
    config = {"task": "lowlight", "model": dataclasses.asdict(SMALL)}
    write_checkpoint(tmp_path / "e.pt", make_checkpoint(ENHANCE_KIND, model.state_dict(), config))
    loaded = load_enhancer(tmp_path / "e.pt")
    x = torch.rand(1, 3, 16, 16)
    torch.testing.assert_close(loaded(x)[0], model.eval()(x)[0])
    with pytest.raises(FileNotFoundError, match="low-light enhancer"):
        load_enhancer(tmp_path / "missing.pt")
    write_checkpoint(tmp_path / "other.pt", make_checkpoint("isp_sr", model.state_dict(), config))
    with pytest.raises(CheckpointError):
        load_enhancer(tmp_path / "other.pt")
