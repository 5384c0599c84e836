"""Frustum PointNet box coding and loss (perception3d.models.frustum_coder)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from perception3d.geometry.boxes import corners_cam
from perception3d.models.frustum_coder import (
    box_corners,
    compute_frustum_loss,
    decode_boxes,
    decode_heading,
    decode_size,
    encode_heading,
    encode_size,
)

TEMPLATES_LWH = np.array([[3.883, 1.629, 1.526], [0.844, 0.661, 1.763], [1.763, 0.597, 1.737]])
TEMPLATES_LHW = torch.tensor(TEMPLATES_LWH[:, [0, 2, 1]])


def _boxes(rng, n=16):
    return np.column_stack(
        [
            rng.uniform(-5, 5, n),
            rng.uniform(0, 2, n),
            rng.uniform(5, 40, n),
            rng.uniform(0.5, 5, (n, 3)),
            rng.uniform(-math.pi, math.pi, n),
        ]
    )


def test_heading_round_trip(rng):
    angles = np.concatenate([rng.uniform(-math.pi, math.pi, 200), np.arange(12) * math.pi / 6])
    cls, res = encode_heading(angles, 12)
    assert cls.min() >= 0 and cls.max() < 12 and np.abs(res).max() <= 1 + 1e-12
    back = decode_heading(cls, res, 12)
    np.testing.assert_allclose(np.angle(np.exp(1j * (back - angles))), 0, atol=1e-12)


def test_size_round_trip(rng):
    cls = rng.integers(0, 3, 50)
    lhw = rng.uniform(0.3, 6, (50, 3))
    res = encode_size(lhw, cls, TEMPLATES_LWH)
    np.testing.assert_allclose(decode_size(cls, res, TEMPLATES_LHW.numpy()), lhw, atol=1e-12)
    # the template itself encodes to a zero residual
    assert np.abs(encode_size(TEMPLATES_LWH[:, [0, 2, 1]], np.arange(3), TEMPLATES_LWH)).max() == 0


def test_box_corners_match_the_geometry_module(rng):
    boxes = _boxes(rng)
    bottom = boxes.copy()
    bottom[:, 1] += bottom[:, 4] / 2  # geometric centre -> KITTI bottom centre
    np.testing.assert_allclose(
        box_corners(torch.tensor(boxes)).numpy(), corners_cam(bottom), atol=1e-12
    )


def _perfect_output(boxes: torch.Tensor, cls: torch.Tensor, num_points: int = 8) -> dict:
    """Network outputs that encode ``boxes`` exactly (bins and templates chosen with margin)."""
    b = len(boxes)
    h_cls, h_res = encode_heading(boxes[:, 6].numpy(), 12)
    s_res = boxes[:, 3:6] / TEMPLATES_LHW[cls] - 1
    heading_scores = torch.full((b, 12), -20.0, dtype=torch.float64)
    heading_scores[torch.arange(b), torch.from_numpy(h_cls)] = 20.0
    heading_res = torch.zeros(b, 12, dtype=torch.float64)
    heading_res[torch.arange(b), torch.from_numpy(h_cls)] = torch.from_numpy(h_res)
    size_scores = torch.full((b, 3), -20.0, dtype=torch.float64)
    size_scores[torch.arange(b), cls] = 20.0
    size_res = torch.zeros(b, 3, 3, dtype=torch.float64)
    size_res[torch.arange(b), cls] = s_res
    seg = torch.zeros(b, num_points, 2, dtype=torch.float64)
    seg[..., 1] = 20.0
    return {
        "seg_logits": seg,
        "stage1_center": boxes[:, :3].clone(),
        "center": boxes[:, :3].clone(),
        "heading_scores": heading_scores,
        "heading_residual_norm": heading_res,
        "size_scores": size_scores,
        "size_residual_norm": size_res,
    }


def test_loss_is_zero_for_the_true_box_and_decoding_returns_it(rng):
    boxes = torch.tensor(_boxes(rng))
    cls = torch.from_numpy(rng.integers(0, 3, len(boxes)))
    out = _perfect_output(boxes, cls)
    seg_labels = torch.ones(len(boxes), 8, dtype=torch.long)
    _, parts = compute_frustum_loss(out, seg_labels, boxes, cls, TEMPLATES_LHW)
    for name in ("corner", "center", "stage1", "heading_reg", "size_reg"):
        assert parts[name] < 1e-9, (name, parts[name])
    for name in ("seg", "heading_cls", "size_cls"):
        assert parts[name] < 1e-8
    decoded = decode_boxes(out, TEMPLATES_LHW)
    np.testing.assert_allclose(decoded[:, :6].numpy(), boxes[:, :6].numpy(), atol=1e-9)
    np.testing.assert_allclose(
        np.angle(np.exp(1j * (decoded[:, 6] - boxes[:, 6]).numpy())), 0, atol=1e-9
    )


def test_corner_loss_of_a_shifted_centre(rng):
    boxes = torch.tensor(_boxes(rng, 4))
    cls = torch.zeros(4, dtype=torch.long)
    seg_labels = torch.ones(4, 8, dtype=torch.long)
    out = _perfect_output(boxes, cls)
    out["center"] = out["center"] + torch.tensor([0.5, 0.0, 0.0], dtype=torch.float64)
    _, parts = compute_frustum_loss(out, seg_labels, boxes, cls, TEMPLATES_LHW)
    # eight corners each 0.5 m off: distance sum 4.0, Huber(4.0, delta 1) = 4.0 - 0.5 = 3.5
    assert abs(parts["corner"] - 3.5) < 1e-9
    # the centre term: Huber(0.5, delta 2) = 0.5 * 0.5^2
    assert abs(parts["center"] - 0.125) < 1e-12


def test_flipped_true_box_has_the_same_corners_up_to_order(rng):
    # what makes the min over (box, flipped box) in the corner loss legitimate
    boxes = torch.tensor(_boxes(rng, 4))
    flipped = boxes.clone()
    flipped[:, 6] += math.pi
    a, b = box_corners(boxes), box_corners(flipped)
    np.testing.assert_allclose(b.numpy(), a[:, [2, 3, 0, 1, 6, 7, 4, 5]].numpy(), atol=1e-12)


def test_decode_boxes_with_a_given_size_class(rng):
    boxes = torch.tensor(_boxes(rng, 4))
    cls = torch.tensor([0, 1, 2, 1])
    out = _perfect_output(boxes, cls)
    out["size_scores"] = torch.zeros_like(out["size_scores"])
    out["size_scores"][:, 2] = 10.0  # the arg-max says Cyclist for every box
    given = decode_boxes(out, TEMPLATES_LHW, cls)
    np.testing.assert_allclose(given[:, :6].numpy(), boxes[:, :6].numpy(), atol=1e-9)
    argmax = decode_boxes(out, TEMPLATES_LHW)
    assert not np.allclose(argmax[:2, 3:6].numpy(), boxes[:2, 3:6].numpy())
    with pytest.raises(ValueError, match="one class per box"):
        decode_boxes(out, TEMPLATES_LHW, cls[:2])
