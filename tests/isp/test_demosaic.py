"""Demosaicing: flat fields stay flat, Malvar/bilinear equal colour-demosaicing's inside the
border, Malvar beats bilinear on a natural image, gradients."""

from __future__ import annotations

import pytest
import torch

from perception3d.isp.bayer import mosaic
from perception3d.isp.demosaic import demosaic, demosaic_bilinear, demosaic_malvar
from perception3d.isp.metrics import psnr


def _natural_image():
    skdata = pytest.importorskip("skimage.data")
    img = torch.from_numpy(skdata.astronaut()[:160, :200].copy()).permute(2, 0, 1)
    return img[None].double() / 255.0


@pytest.mark.parametrize("method", ["bilinear", "malvar"])
def test_flat_field_is_reproduced(method):
    rgb = torch.tensor([0.2, 0.5, 0.7]).view(1, 3, 1, 1).expand(1, 3, 9, 10)
    out = demosaic(mosaic(rgb), method)
    assert torch.allclose(out, rgb, atol=1e-6)


def test_matches_colour_demosaicing_inside_the_border():
    cd = pytest.importorskip("colour_demosaicing")
    img = _natural_image()
    cfa = mosaic(img)[0, 0].numpy()
    for ours, theirs in (
        (demosaic_malvar, cd.demosaicing_CFA_Bayer_Malvar2004),
        (demosaic_bilinear, cd.demosaicing_CFA_Bayer_bilinear),
    ):
        ref = torch.from_numpy(theirs(cfa, "RGGB")).permute(2, 0, 1)
        out = ours(mosaic(img))[0]
        assert torch.allclose(out[:, 4:-4, 4:-4], ref[:, 4:-4, 4:-4], atol=1e-9)


def test_malvar_beats_bilinear_and_menon_beats_malvar():
    pytest.importorskip("colour_demosaicing")
    img = _natural_image()
    m = mosaic(img)
    b = 8
    scores = {
        k: float(psnr(demosaic(m, k)[..., b:-b, b:-b].clamp(0, 1), img[..., b:-b, b:-b]))
        for k in ("bilinear", "malvar", "menon")
    }
    assert scores["malvar"] > scores["bilinear"] + 2.0
    assert scores["menon"] > scores["malvar"]


def test_gradcheck_and_errors():
    raw = torch.rand(1, 1, 6, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(demosaic_malvar, (raw,))
    assert torch.autograd.gradcheck(demosaic_bilinear, (raw,))
    with pytest.raises(ValueError, match=r"raw must be \(B, 1, H, W\)"):
        demosaic_malvar(torch.rand(1, 3, 6, 6))
    with pytest.raises(ValueError, match="demosaic method must be"):
        demosaic(torch.rand(1, 1, 6, 6), "ahd")
