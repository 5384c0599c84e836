"""Bayer packing and colour/tone functions: round trips, hand-computed values, gradients."""

from __future__ import annotations

import pytest
import torch

from perception3d.isp import bayer, color


def test_pack_unpack_round_trip_and_plane_order():
    raw = torch.rand(2, 1, 6, 8)
    packed = bayer.pack(raw)
    assert packed.shape == (2, 4, 3, 4)
    assert torch.equal(bayer.unpack(packed), raw)
    assert torch.equal(packed[:, 0], raw[:, 0, ::2, ::2])  # R
    assert torch.equal(packed[:, 3], raw[:, 0, 1::2, 1::2])  # B
    with pytest.raises(ValueError, match="must be even"):
        bayer.pack(torch.rand(1, 1, 5, 8))


def test_pad_to_even_keeps_the_bayer_phase():
    raw = bayer.mosaic(torch.rand(1, 3, 5, 7))
    padded, hw = bayer.pad_to_even(raw)
    assert padded.shape[-2:] == (6, 8) and hw == (5, 7)
    assert torch.equal(padded[..., 5, :7], raw[..., 3, :])  # a row of the same colours


def test_mosaic_keeps_one_colour_per_pixel():
    rgb = torch.rand(1, 3, 4, 4)
    m = bayer.mosaic(rgb)
    assert m[0, 0, 0, 0] == rgb[0, 0, 0, 0] and m[0, 0, 0, 1] == rgb[0, 1, 0, 1]
    assert m[0, 0, 1, 1] == rgb[0, 2, 1, 1]


def test_srgb_round_trip_and_reference_values():
    x = torch.linspace(0, 1, 101)
    assert torch.allclose(color.srgb_to_linear(color.linear_to_srgb(x)), x, atol=1e-6)
    # IEC 61966-2-1: 0.0031308 linear -> 0.04045 encoded, 1 -> 1
    assert float(color.linear_to_srgb(torch.tensor(0.0031308))) == pytest.approx(0.04045, 1e-4)
    assert float(color.linear_to_srgb(torch.tensor(1.0))) == pytest.approx(1.0)


def test_tone_curve_and_mu_law_round_trips():
    y = torch.linspace(0, 1, 51)
    assert torch.allclose(color.smoothstep(color.inverse_smoothstep(y)), y, atol=1e-5)
    assert torch.allclose(color.inverse_mu_law(color.mu_law(y)), y, atol=1e-5)
    assert float(color.mu_law(torch.tensor(1.0))) == pytest.approx(1.0)


def test_colour_matrix_rows_sum_to_one_and_white_stays_white():
    m = color.rgb_to_cam_matrix(torch.tensor([0.25, 0.25, 0.25, 0.25], dtype=torch.float64))
    assert torch.allclose(m.sum(1), torch.ones(3, dtype=torch.float64))
    white = torch.ones(1, 3, 2, 2, dtype=torch.float64)
    assert torch.allclose(color.apply_color_matrix(white, m), white)


def test_white_balance_estimators_remove_a_colour_cast():
    g = torch.Generator().manual_seed(0)
    grey_world = 0.1 + 0.8 * torch.rand(1, 1, 32, 32, generator=g).expand(1, 3, 32, 32)
    cast = grey_world * torch.tensor([0.5, 1.0, 0.6]).view(1, 3, 1, 1)
    for gains in (color.gray_world_gains(cast), color.white_patch_gains(cast)):
        assert torch.allclose(gains, torch.tensor([[2.0, 1.0, 1 / 0.6]]), rtol=1e-4)


def test_reinhard_maps_white_to_one_and_keeps_hue():
    x = torch.tensor([4.0, 4.0, 4.0]).view(1, 3, 1, 1)
    assert torch.allclose(color.tonemap_reinhard(x, white=4.0), torch.ones(1, 3, 1, 1), atol=1e-5)
    y = torch.tensor([0.2, 0.4, 0.1]).view(1, 3, 1, 1)
    out = color.tonemap_reinhard(y)
    assert torch.allclose(out / out.sum(), y / y.sum(), atol=1e-6)


def test_gradcheck_colour_functions():
    x = (0.05 + 0.9 * torch.rand(1, 3, 3, 3, dtype=torch.float64)).requires_grad_()
    m = torch.rand(3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(color.linear_to_srgb, (x,))
    assert torch.autograd.gradcheck(color.srgb_to_linear, (x,))
    assert torch.autograd.gradcheck(color.apply_color_matrix, (x, m))
    assert torch.autograd.gradcheck(color.tonemap_reinhard, (x,))


def test_input_checks():
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, H, W\)"):
        color.apply_color_matrix(torch.rand(1, 4, 2, 2), torch.eye(3))
    with pytest.raises(ValueError, match="tonemap must be"):
        color.render_srgb(torch.rand(1, 3, 2, 2), "filmic")  # type: ignore[arg-type]
