"""Learned stages: shapes at odd KITTI-like sizes, masked features ignore saturated content,
physical structure of the HDR and dehaze outputs, deterministic training."""

from __future__ import annotations

import pytest
import torch

from perception3d.isp.models import DehazeNet, HdrNet, MaskedConv2d, RawUNet
from perception3d.isp.weights import IspModelConfig, load_isp_stage, save_isp_stage
from tests.isp.conftest import train_tiny_stage


def test_output_shapes_at_odd_sizes():
    torch.manual_seed(0)
    raw = torch.rand(2, 1, 37, 62)
    noise = torch.tensor([[1e-3, 1e-5], [1e-2, 1e-4]])
    assert RawUNet(8)(raw, noise).shape == (2, 3, 37, 62)
    img = torch.rand(1, 3, 37, 62)
    assert HdrNet(8)(img).shape == (1, 3, 37, 62)
    assert DehazeNet(8)(img).shape == (1, 3, 37, 62)


def test_masked_conv_ignores_fully_saturated_content():
    torch.manual_seed(0)
    layer = MaskedConv2d(3, 4)
    x = torch.rand(1, 3, 16, 16)
    m = torch.ones(1, 1, 16, 16)
    m[..., 4:12, 4:12] = 0.0
    y = x.clone()
    y[..., 4:12, 4:12] = 1e3  # whatever the clipped area holds
    with torch.no_grad():
        out_x, m2 = layer(x, m)
        out_y, _ = layer(y, m)
    assert torch.allclose(out_x, out_y)
    assert m2.min() >= 0 and m2.max() <= 1 and float(m2[0, 0, 8, 8]) == 0.0
    assert 0 < float(m2[0, 0, 4, 4]) < 1  # the border of the hole is partly valid


def test_hdr_only_boosts_saturated_pixels():
    torch.manual_seed(0)
    net = HdrNet(8)
    ldr = torch.full((1, 3, 32, 32), 0.5)
    ldr[..., 8:16, 8:16] = 1.0
    out = net(ldr)
    gamma_lin = out[0, 0, 24, 24]
    assert torch.allclose(out[..., 24:, 24:], gamma_lin.expand(1, 3, 8, 8))


def test_dehaze_heads_are_identity_without_haze():
    from perception3d.isp.color import srgb_to_linear

    img = torch.rand(1, 3, 32, 32)
    net = DehazeNet(8, head="transmission")
    with torch.no_grad():
        net.unet.out.bias.fill_(20.0)  # sigmoid -> t = 1
    assert torch.allclose(net(img), srgb_to_linear(img), atol=1e-5)
    net = DehazeNet(8, head="affine")
    with torch.no_grad():
        net.unet.out.weight.zero_()
        net.unet.out.bias.copy_(torch.tensor([-30.0, 0.0, 0.0, 0.0]))  # alpha = 1, beta = 0
    assert torch.allclose(net(img), srgb_to_linear(img), atol=1e-5)
    with pytest.raises(ValueError, match="head must be"):
        DehazeNet(8, head="cnn")


def test_training_is_deterministic_and_weights_round_trip(tmp_path):
    outs = []
    for name in ("a", "b"):
        outs.append(load_isp_stage(train_tiny_stage("raw", tmp_path / name, steps=2), "raw"))
    for pa, pb in zip(outs[0].state_dict().values(), outs[1].state_dict().values()):
        assert torch.equal(pa, pb)
    save_isp_stage(outs[0], IspModelConfig("raw", width=4), tmp_path / "c.pt")
    assert isinstance(load_isp_stage(tmp_path / "c.pt"), RawUNet)


def test_guided_dehaze_is_identity_without_haze_and_takes_the_linear_input():
    from perception3d.isp.color import srgb_to_linear

    torch.manual_seed(0)
    img = torch.rand(1, 3, 40, 64)
    net = DehazeNet(8, head="guided", row_coordinate=True, global_context=True)
    with torch.no_grad():
        net.unet.out.weight.zero_()
        net.unet.out.bias.copy_(torch.tensor([-30.0, 0.0, 0.0, 0.0]))  # alpha = 1, beta = 0
        out = net(img)
        # the guided filter keeps an identity map at full resolution, edges included
        assert torch.allclose(out, srgb_to_linear(img), atol=2e-3)
        assert torch.equal(net(img, srgb_to_linear(img)), out)


def test_bfloat16_precision_stays_close_to_float32():
    """bfloat16 convolutions change the outputs by far less than the 8-bit display step."""
    from perception3d.isp.models import set_precision

    torch.manual_seed(0)
    img = torch.rand(1, 3, 48, 64)
    raw, noise = torch.rand(1, 1, 48, 64), torch.tensor([[1e-3, 1e-5]])
    for net, args in (
        (RawUNet(8), (raw, noise)),
        (HdrNet(8), (img,)),
        (DehazeNet(8, head="guided"), (img,)),
    ):
        with torch.no_grad():
            full = net.eval()(*args)
            half = set_precision(net, "bfloat16")(*args)
        assert half.dtype == torch.float32
        assert 0 < float((half - full).abs().max()) < 2e-2
        set_precision(net, "float32")
    with pytest.raises(ValueError, match="precision"):
        set_precision(RawUNet(4), "float16")
