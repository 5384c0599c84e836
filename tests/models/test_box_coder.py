"""Box coder: encode/decode round trip, zero deltas for a box equal to its anchor, and the
direction bins resolving the r / r + pi ambiguity."""

from __future__ import annotations

import math

import pytest
import torch

from perception3d.models.box_coder import (
    ResidualBoxCoder,
    apply_direction,
    decode_boxes,
    direction_targets,
    encode_boxes,
)


def _boxes(gen, n):
    xyz = torch.rand(n, 3, generator=gen, dtype=torch.float64) * 40 - 20
    size = torch.rand(n, 3, generator=gen, dtype=torch.float64) * 4 + 0.3
    heading = torch.rand(n, 1, generator=gen, dtype=torch.float64) * 2 * math.pi - math.pi
    return torch.cat([xyz, size, heading], dim=1)


def test_round_trip():
    gen = torch.Generator().manual_seed(0)
    boxes, anchors = _boxes(gen, 500), _boxes(gen, 500)
    back = decode_boxes(encode_boxes(boxes, anchors), anchors)
    torch.testing.assert_close(back, boxes, rtol=0, atol=1e-10)


def test_hand_computed_deltas():
    anchor = torch.tensor([[10.0, 0.0, -1.0, 3.0, 4.0, 2.0, 0.0]])  # BEV diagonal 5
    box = torch.tensor([[15.0, -2.5, 0.0, 6.0, 4.0, 1.0, 0.5]])
    expected = torch.tensor([[1.0, -0.5, 0.5, math.log(2), 0.0, math.log(0.5), 0.5]])
    torch.testing.assert_close(encode_boxes(box, anchor), expected)


def test_direction_resolves_flipped_heading():
    gen = torch.Generator().manual_seed(1)
    heading = torch.rand(1000, generator=gen, dtype=torch.float64) * 2 * math.pi - math.pi
    coder = ResidualBoxCoder()
    bins = coder.direction_targets(heading)
    for ambiguous in (heading, heading + math.pi, heading - math.pi):
        out = coder.apply_direction(ambiguous, bins)
        diff = torch.remainder(out - heading + math.pi, 2 * math.pi) - math.pi
        assert diff.abs().max() < 1e-9
    assert set(bins.tolist()) == {0, 1}


def test_direction_bins_hand_computed():
    assert direction_targets(
        torch.tensor([0.0, math.pi / 2, -math.pi / 2]), math.pi / 4
    ).tolist() == [1, 0, 1]
    h = apply_direction(torch.tensor([0.2]), torch.tensor([0]), math.pi / 4)
    assert h.item() == pytest.approx(0.2 + math.pi - 2 * math.pi)  # bin 0: [pi/4, 5 pi/4), wrapped


def test_shape_error():
    with pytest.raises(ValueError, match=r"\(\.\.\., 7\)"):
        encode_boxes(torch.zeros(3, 6), torch.zeros(3, 7))
