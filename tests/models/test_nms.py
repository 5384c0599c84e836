"""Rotated NMS against a brute-force reference: greedy suppression over shapely polygon IoU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perception3d.geometry.boxes import corners_lidar
from perception3d.models.nms import rotated_nms

shapely = pytest.importorskip("shapely")
from shapely.geometry import Polygon  # noqa: E402


def _reference_nms(boxes: np.ndarray, scores: np.ndarray, thr: float) -> list[int]:
    polys = [Polygon(c[:4, :2]) for c in corners_lidar(boxes)]
    order = sorted(range(len(boxes)), key=lambda i: (-scores[i], i))
    keep = []
    for i in order:
        ok = True
        for j in keep:
            inter = polys[i].intersection(polys[j]).area
            iou = inter / (polys[i].area + polys[j].area - inter)
            if iou > thr:
                ok = False
                break
        if ok:
            keep.append(i)
    return keep


@pytest.mark.parametrize("thr", [0.01, 0.1, 0.3, 0.5, 0.7])
def test_matches_brute_force(thr):
    rng = np.random.default_rng(int(thr * 100))
    n = 150
    centres = rng.uniform(0, 12, (n, 2))  # crowded: many overlaps
    boxes = np.concatenate(
        [
            centres,
            rng.uniform(-1, 0, (n, 1)),
            rng.uniform(0.5, 4, (n, 3)),
            rng.uniform(-np.pi, np.pi, (n, 1)),
        ],
        1,
    )
    scores = rng.uniform(0, 1, n)
    scores[:10] = scores[10:20]  # ties: lower index first
    keep = rotated_nms(torch.from_numpy(boxes), torch.from_numpy(scores), thr)
    assert keep.tolist() == _reference_nms(boxes, scores, thr)


def test_identical_boxes_and_limits():
    box = torch.tensor([[5.0, 1.0, 0.0, 4.0, 2.0, 1.5, 0.3]])
    boxes = box.repeat(3, 1)
    assert rotated_nms(boxes, torch.tensor([0.2, 0.9, 0.5]), 0.99).tolist() == [1]
    far = torch.tensor([[float(i) * 10, 0, 0, 1, 1, 1, 0] for i in range(5)])
    assert rotated_nms(far, torch.arange(5.0), 0.5, max_output=2).tolist() == [4, 3]
    assert rotated_nms(torch.zeros(0, 7), torch.zeros(0), 0.5).tolist() == []


def test_input_errors():
    with pytest.raises(ValueError, match=r"\(N, 7\)"):
        rotated_nms(torch.zeros(3, 5), torch.zeros(3), 0.5)
    with pytest.raises(ValueError, match="scores"):
        rotated_nms(torch.zeros(3, 7), torch.zeros(2), 0.5)


@pytest.mark.parametrize("thr", [0.01, 0.2, 0.6])
def test_greedy_keeps_exactly_what_the_dense_matrix_keeps(thr):
    from perception3d.models.nms import rotated_nms_dense

    g = torch.Generator().manual_seed(int(thr * 100))
    n = 2000
    boxes = torch.cat(
        [
            torch.rand(n, 2, generator=g) * 40,
            torch.zeros(n, 1),
            torch.rand(n, 3, generator=g) * 3 + 0.2,
            (torch.rand(n, 1, generator=g) - 0.5) * 12,  # headings beyond [-pi, pi) too
        ],
        1,
    )
    scores = torch.rand(n, generator=g)
    for limit in (None, 50):
        dense = rotated_nms_dense(boxes, scores, thr, limit)
        assert torch.equal(rotated_nms(boxes, scores, thr, limit), dense)
