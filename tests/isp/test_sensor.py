"""Forward camera model: noise follows the photon transfer curve, clipping, mosaic, haze,
round trip through the classical ISP, determinism and gradients."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from perception3d.isp.classic import raw_to_linear
from perception3d.isp.color import linear_to_srgb
from perception3d.isp.meta import RawMeta
from perception3d.isp.metrics import psnr
from perception3d.isp.sensor import (
    SensorParams,
    apply_haze,
    auto_exposure_s,
    capture,
    transmission,
    tukey_lambda_noise,
    vignetting_map,
)

QUIET = dict(  # only shot and read noise, no fixed pattern, no vignetting
    row_noise_dn=0.0,
    dark_current_e_per_s=0.0,
    dsnu_e=0.0,
    prnu=0.0,
    vignetting=0.0,
    wb_gains=(1.0, 1.0, 1.0),
    quantize=False,
)


@pytest.mark.parametrize("iso", [100.0, 800.0, 3200.0])
def test_photon_transfer_curve_slope_is_one_over_gain(iso):
    """DN variance vs DN mean of flat fields: slope 1 / (e-/DN) (Janesick's photon transfer)."""
    p = SensorParams(iso=iso, read_noise_e=1.5, read_noise_dn=2.0, **QUIET)
    dn_range = p.white_level_dn - p.black_level_dn
    gen = torch.Generator().manual_seed(0)
    means, variances = [], []
    for level in (0.05, 0.1, 0.2, 0.4):
        scaled = dataclasses.replace(p, exposure_s=p.exposure_s * level / (p.linear_scale * 0.5))
        raw, _ = capture(torch.full((1, 3, 128, 128), 0.5), scaled, gen)
        dn = raw.double() * dn_range
        means.append(float(dn.mean()))
        variances.append(float(dn.var()))
    slope, _ = np.polyfit(means, variances, 1)
    assert slope == pytest.approx(1.0 / p.gain_e_per_dn, rel=0.05)


def test_metadata_noise_model_predicts_raw_variance():
    p = SensorParams(iso=1600.0, **QUIET)
    scene = torch.full((1, 3, 128, 128), 0.3)
    p = dataclasses.replace(p, exposure_s=auto_exposure_s(scene, p, 0.2))
    raw, meta = capture(scene, p, torch.Generator().manual_seed(1))
    assert float(raw.mean()) == pytest.approx(0.2, rel=0.01)
    x = raw.double()
    predicted = float(meta.shot_noise[0]) * float(x.mean()) + float(meta.read_noise[0])
    assert float(x.var()) == pytest.approx(predicted, rel=0.05)


def test_clipping_at_white_level_and_black_level():
    p = SensorParams()
    raw, _ = capture(torch.full((1, 3, 16, 16), 1e4), p, torch.Generator().manual_seed(0))
    assert torch.all(raw == 1.0)
    dark, _ = capture(torch.zeros(1, 3, 64, 64), p, torch.Generator().manual_seed(0))
    assert dark.min() >= 0.0 and dark.mean() < 0.01


def test_quantization_to_the_adc_bit_depth():
    for bits in (12, 14):
        p = SensorParams(bits=bits, black_level_dn=256.0)
        raw, _ = capture(torch.rand(1, 3, 16, 16), p, torch.Generator().manual_seed(0))
        dn = raw.double() * (p.white_level_dn - p.black_level_dn)
        assert torch.allclose(dn, dn.round(), atol=1e-6)


def test_mosaic_pattern_is_rggb():
    p = SensorParams(**QUIET).noiseless()
    red = torch.zeros(1, 3, 4, 4)
    red[:, 0] = 0.5
    raw, _ = capture(red, p)
    expect = torch.tensor([[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])
    assert torch.equal((raw[0, 0] > 0).int(), expect.int())
    blue = torch.zeros(1, 3, 4, 4)
    blue[:, 2] = 0.5
    raw, _ = capture(blue, p)
    assert torch.equal((raw[0, 0] > 0).int(), expect.roll((1, 1), (0, 1)).int())


def test_haze_transmission_follows_depth_and_mor():
    depth = torch.tensor([0.0, 50.0, 100.0, 200.0, math.inf])
    t = transmission(depth, 100.0)
    assert t[0] == 1.0 and t[-1] == 0.0
    assert float(t[2]) == pytest.approx(0.05)  # 5 % contrast at the MOR
    assert float(t[3]) == pytest.approx(0.05**2)  # Beer-Lambert: exponential in depth
    j = torch.zeros(1, 3, 1, 5)
    hazy = apply_haze(j, depth.view(1, 1, 1, 5), 100.0, torch.tensor([0.8, 0.9, 1.0]))
    assert torch.allclose(hazy[0, :, 0, -1], torch.tensor([0.8, 0.9, 1.0]))
    assert torch.allclose(hazy[0, 1, 0], 0.9 * (1 - t))


def _smooth_scene(h=64, w=96):
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    return torch.stack([0.2 + 0.5 * xx, 0.3 + 0.3 * yy, 0.6 - 0.4 * xx * yy])[None]


def test_noiseless_capture_round_trips_through_the_classical_isp():
    scene = _smooth_scene()
    weights = torch.tensor([0.1, 0.5, 0.2, 0.2], dtype=torch.float64)
    from perception3d.isp.color import rgb_to_cam_matrix

    p = SensorParams(
        rgb_to_cam=tuple(rgb_to_cam_matrix(weights).flatten().tolist()),
        wb_gains=(2.2, 1.0, 1.6),
        vignetting=0.3,
    ).noiseless()
    raw, meta = capture(scene, p)
    out = raw_to_linear(raw, meta, "malvar")
    ref = scene * p.linear_scale
    b = 4  # demosaicing border
    err = psnr(linear_to_srgb(out)[..., b:-b, b:-b], linear_to_srgb(ref)[..., b:-b, b:-b])
    assert float(err) > 45.0


def test_same_seed_same_bytes():
    scene = _smooth_scene()
    p = SensorParams(iso=3200.0, read_tukey_lambda=-0.1)
    p = dataclasses.replace(p, exposure_s=auto_exposure_s(scene, p, 0.1))
    a, _ = capture(scene, p, torch.Generator().manual_seed(7))
    b, _ = capture(scene, p, torch.Generator().manual_seed(7))
    c, _ = capture(scene, p, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("lam", [-0.2, 0.0, 0.14])
def test_tukey_lambda_noise_has_unit_variance(lam):
    x = tukey_lambda_noise((200_000,), lam, torch.Generator().manual_seed(0))
    assert float(x.var()) == pytest.approx(1.0, rel=0.05)
    assert abs(float(x.mean())) < 0.02


def test_vignetting_is_one_at_centre_and_falls_to_corners():
    v = vignetting_map(5, 5, 0.3)[0, 0]
    assert float(v[2, 2]) == pytest.approx(1.0) and float(v[0, 0]) == pytest.approx(0.7)


def test_gradcheck_of_the_differentiable_capture():
    p = SensorParams(shot_noise="gaussian", quantize=False, prnu=0.01, dsnu_e=0.5)
    scene = (0.2 + 0.3 * torch.rand(1, 3, 4, 4, dtype=torch.float64)).requires_grad_()

    def f(x):
        return capture(x, p, torch.Generator().manual_seed(0))[0]

    assert torch.autograd.gradcheck(f, (scene,), eps=1e-6, atol=1e-5)
    depth = torch.rand(1, 1, 4, 4, dtype=torch.float64) * 100
    air = torch.tensor([0.7, 0.8, 0.9], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda j, a: apply_haze(j, depth, 80.0, a), (scene, air))


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="bits must be 12 or 14"):
        SensorParams(bits=10)
    with pytest.raises(ValueError, match="exposure_s must be > 0"):
        SensorParams(exposure_s=0.0)
    with pytest.raises(ValueError, match=r"radiance must be \(B, 3, H, W\)"):
        capture(torch.zeros(3, 4, 4), SensorParams())


def test_metadata_travels_and_round_trips_through_json():
    p = SensorParams(iso=400.0, exposure_s=0.02)
    _, meta = capture(torch.rand(2, 3, 8, 8), p, torch.Generator().manual_seed(0))
    assert meta.batch_size == 2 and float(meta.iso[1]) == 400.0
    back = RawMeta.from_json(meta.to_json(1))
    for name in ("wb_gains", "cam_to_rgb", "shot_noise", "read_noise", "linear_scale"):
        assert torch.allclose(getattr(back, name), getattr(meta, name)[1:2])
    assert float(back.black_level_dn[0]) == 256.0 and float(back.white_level_dn[0]) == 4095.0
    with pytest.raises(ValueError, match="lacks"):
        RawMeta.from_json({"pattern": "RGGB"})
