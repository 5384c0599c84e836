"""SR networks (perception3d/isp/sr.py): shapes at x2 / x4, the bicubic baseline, the
residual design (an untrained network is bicubic), configs and weight files."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from perception3d.checkpoint import CheckpointError, make_checkpoint, write_checkpoint
from perception3d.isp.sr import (
    ESPCN,
    SRCNN,
    SrModelConfig,
    bicubic_upscale,
    build_sr_model,
    load_sr_model,
    super_resolve,
)


@pytest.mark.parametrize("arch", ["srcnn", "espcn"])
@pytest.mark.parametrize("scale", [2, 4])
def test_networks_upscale_by_their_factor(arch, scale):
    net = build_sr_model(SrModelConfig(arch, scale, (8, 4)))
    out = net(torch.rand(2, 3, 10, 14))
    assert out.shape == (2, 3, 10 * scale, 14 * scale)


@pytest.mark.parametrize("cls", [SRCNN, ESPCN])
def test_an_untrained_network_is_bicubic(cls):
    x = torch.rand(1, 3, 12, 16, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    net = cls(2, (8, 4))
    ref = F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
    assert torch.allclose(net(x), ref, atol=1e-6)


def test_bicubic_keeps_a_constant_and_clips():
    assert torch.allclose(bicubic_upscale(torch.full((1, 3, 5, 7), 0.3), 4), torch.tensor(0.3))
    edge = torch.zeros(1, 3, 8, 8)
    edge[..., 4:] = 1.0  # bicubic overshoots at a step; the output stays in [0, 1]
    up = bicubic_upscale(edge, 2)
    assert float(up.min()) == 0.0 and float(up.max()) == 1.0


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        bicubic_upscale(torch.rand(3, 4, 4), 2)
    with pytest.raises(ValueError, match="scale"):
        SrModelConfig("espcn", 5)
    with pytest.raises(ValueError, match="arch"):
        SrModelConfig("edsr")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="upscales x2, asked for x4"):
        super_resolve(build_sr_model(SrModelConfig()), torch.rand(1, 3, 4, 4), 4)


def test_weight_files_round_trip_and_refuse_other_kinds(tmp_path):
    cfg = SrModelConfig("espcn", 4, (8, 4))
    torch.manual_seed(1)
    net = build_sr_model(cfg)
    with torch.no_grad():
        net.body[-1].weight.normal_()  # not the bicubic initialisation
    config = {"task": "sr", "model": {"arch": "espcn", "scale": 4, "channels": [8, 4]}}
    write_checkpoint(tmp_path / "sr.pt", make_checkpoint("isp_sr", net.state_dict(), config))
    loaded = load_sr_model(tmp_path / "sr.pt")
    x = torch.rand(1, 3, 6, 6)
    assert torch.allclose(super_resolve(loaded, x), net(x).clamp(0, 1), atol=1e-6)
    write_checkpoint(tmp_path / "other.pt", make_checkpoint("isp_raw", {}, {"model": {}}))
    with pytest.raises(CheckpointError):
        load_sr_model(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="SR stage"):
        load_sr_model(tmp_path / "missing.pt")
