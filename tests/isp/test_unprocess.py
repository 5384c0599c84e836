"""Unprocessing (Brooks et al. 2019): parameters in the published ranges, an ideal ISP
recovers the target, the noise has the stated variance."""

from __future__ import annotations

import pytest
import torch

from perception3d.isp.classic import raw_to_linear
from perception3d.isp.unprocess import (
    add_noise,
    random_unprocess_params,
    unprocess,
    unprocess_meta,
)


def test_random_parameters_lie_in_the_published_ranges():
    gen = torch.Generator().manual_seed(0)
    for _ in range(50):
        p = random_unprocess_params(gen)
        assert 1.9 <= p.red_gain <= 2.4 and 1.5 <= p.blue_gain <= 1.9
        assert 1e-4 <= p.shot_noise <= 0.012
        assert torch.allclose(p.rgb_to_cam.sum(1), torch.ones(3), atol=1e-5)


def test_ideal_isp_inverts_unprocessing(kitti_root):
    from perception3d.data.kitti import read_image

    srgb = torch.from_numpy(read_image(kitti_root / "training/image_2/000008.png"))[None]
    srgb = srgb[..., 100:228, 300:556]
    # smooth it so that demosaicing is (nearly) exact and only unprocessing is tested
    srgb = torch.nn.functional.interpolate(
        torch.nn.functional.avg_pool2d(srgb, 8), scale_factor=8, mode="bilinear"
    )
    p = random_unprocess_params(torch.Generator().manual_seed(3))
    raw, target = unprocess(srgb.float(), p)
    out = raw_to_linear(raw, unprocess_meta(p), "malvar")
    ok = target.amax(1, keepdim=True) < 0.5 / p.rgb_gain  # away from protected highlights
    ok = ok[..., 4:-4, 4:-4].expand(-1, 3, -1, -1)
    err = (out[..., 4:-4, 4:-4] - target[..., 4:-4, 4:-4]).abs()[ok]
    assert float(err.median()) < 5e-4


def test_noise_variance_is_shot_times_signal_plus_read():
    raw = torch.full((1, 1, 256, 256), 0.25)
    noisy = add_noise(raw, 0.01, 1e-4, torch.Generator().manual_seed(0))
    assert float(noisy.var()) == pytest.approx(0.01 * 0.25 + 1e-4, rel=0.03)
    with pytest.raises(ValueError, match=r"srgb must be \(B, 3, H, W\)"):
        unprocess(torch.rand(3, 4, 4), random_unprocess_params())
