"""Estimated optical flow (OpenCV DIS): a known sub-pixel shift recovered, the
forward-backward check marking what leaves the frame, bad input named."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("cv2")

from perception3d.isp.flow_estimate import (
    endpoint_error,
    estimate_flow,
    estimated_alignment,
)
from perception3d.isp.flow_warp import warp

H, W = 96, 160
SHIFT = (3.5, -2.25)  # the content moves 3.5 px right and 2.25 px up


def _texture(seed: int = 0) -> torch.Tensor:
    """A smooth random texture (1, 3, H, W) in [0, 1], band-limited so that sub-pixel
    resampling is exact enough."""
    g = torch.Generator().manual_seed(seed)
    x = F.interpolate(torch.rand(1, 3, H // 8, W // 8, generator=g), size=(H, W), mode="bicubic")
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False).clamp(0.0, 1.0)


def _moved(img: torch.Tensor) -> torch.Tensor:
    """``img`` with its content moved by SHIFT: next(q) = img(q - SHIFT)."""
    back = torch.zeros(1, 2, H, W)
    back[:, 0], back[:, 1] = -SHIFT[0], -SHIFT[1]
    return warp(img, back)[0]


def test_dis_recovers_a_known_subpixel_shift_within_0_1_px():
    prev = _texture()
    cur = _moved(prev)
    g = estimate_flow(cur[0], prev[0])  # backward flow of the current frame: -SHIFT
    interior = (slice(None), slice(None), slice(16, -16), slice(16, -16))
    truth = torch.zeros(1, 2, H, W)
    truth[:, 0], truth[:, 1] = -SHIFT[0], -SHIFT[1]
    mask = torch.zeros(1, 1, H, W)
    mask[interior] = 1.0
    assert endpoint_error(g, truth, mask) < 0.1
    assert float(g[0, 0][interior[2:]].median()) == pytest.approx(-SHIFT[0], abs=0.05)
    assert float(g[0, 1][interior[2:]].median()) == pytest.approx(-SHIFT[1], abs=0.05)


def test_estimated_alignment_aligns_and_masks_what_left_the_frame():
    prev = _texture(1)
    frames = torch.cat([prev, _moved(prev)])
    est = estimated_alignment(frames)
    assert est["backward"].shape == (2, 2, H, W) and est["forward"].shape == (1, 2, H, W)
    assert est["aligned"][0].sum() == 0  # a first frame has no past
    # the current frame's left columns came from outside the previous frame: not aligned
    assert float(est["aligned"][1, 0, 20:-20, :2].mean()) < 0.5
    ok = est["aligned"][1:2]
    assert float(ok[..., 16:-16, 16:-16].mean()) > 0.95
    aligned, _ = warp(frames[:1], est["backward"][1:2])
    inner = ok.bool().clone()
    inner[..., :16, :], inner[..., -16:, :], inner[..., :16], inner[..., -16:] = (False,) * 4
    err = (aligned - frames[1:]).abs().mean(dim=1, keepdim=True)[inner]
    # warped with the estimate, the previous frame matches the current one to resampling error
    assert float(err.mean()) < 0.01
    unaligned = (frames[:1] - frames[1:]).abs().mean(dim=1, keepdim=True)[inner]
    assert float(unaligned.mean()) > 5 * float(err.mean())


def test_estimate_flow_rejects_bad_input():
    with pytest.raises(ValueError, match="differ"):
        estimate_flow(torch.rand(3, 8, 8), torch.rand(3, 8, 9))
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        estimate_flow(torch.rand(2, 8, 8), torch.rand(2, 8, 8))
    with pytest.raises(ValueError, match="preset"):
        estimate_flow(torch.rand(3, 8, 8), torch.rand(3, 8, 8), preset="best")
