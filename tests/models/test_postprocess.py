"""Post-processing orders: ours (per class), OpenPCDet's class-agnostic NMS, mmdetection3d's
top-k-then-per-class NMS, on hand-made head outputs whose answers are known."""

from __future__ import annotations

import math

import torch

from perception3d.models.box_coder import ResidualBoxCoder
from perception3d.models.config import PostprocessConfig
from perception3d.models.decode import decode_at
from perception3d.models.postprocess import select_detections

# five anchors: 0-2 on top of each other, 3 and 4 far apart
ANCHORS = torch.tensor(
    [[0.0, 0, 0, 4, 2, 1.5, 0]] * 3 + [[20.0, 0, 0, 4, 2, 1.5, 0], [40.0, 0, 0, 4, 2, 1.5, 0]]
)
CODER = ResidualBoxCoder(math.pi / 4)


def _logit(p):
    return math.log(p / (1 - p))


def _head(probs):
    cls = torch.tensor([[_logit(p) for p in row] for row in probs])
    return cls, torch.zeros(5, 7), torch.zeros(5, 2)


# per anchor, the probability of classes 0 and 1
PROBS = [[0.9, 0.05], [0.05, 0.8], [0.6, 0.05], [0.05, 0.3], [0.2, 0.25]]


def _select(nms, **kw):
    cfg = PostprocessConfig(score_threshold=0.1, nms_iou=0.1, nms=nms, **kw)
    return select_detections(*_head(PROBS), ANCHORS, CODER, cfg)


def test_per_class_keeps_overlapping_boxes_of_different_classes():
    det = _select("per_class")
    assert det.anchor_index.tolist() == [0, 1, 3, 4, 4]
    assert det.labels.tolist() == [0, 1, 1, 1, 0]


def test_class_agnostic_suppresses_across_classes():
    det = _select("class_agnostic")
    assert det.anchor_index.tolist() == [0, 3, 4]  # anchor 1 (class 1) falls to anchor 0
    assert det.labels.tolist() == [0, 1, 1]
    assert torch.allclose(det.scores, torch.tensor([0.9, 0.3, 0.25]))
    top = _select("class_agnostic", pre_nms_top_k=2)  # only the 2 best enter NMS
    assert top.anchor_index.tolist() == [0]


def test_top_k_then_per_class_cuts_before_the_threshold():
    det = _select("top_k_then_per_class", pre_nms_top_k=3)  # anchors 0, 1, 2 by best score
    assert sorted(det.anchor_index.tolist()) == [0, 1]
    assert set(zip(det.anchor_index.tolist(), det.labels.tolist())) == {(0, 0), (1, 1)}
    assert len(_select("top_k_then_per_class", max_detections=1).scores) == 1


def test_selected_boxes_are_the_decoded_ones():
    cls, _, dirs = _head(PROBS)
    deltas = torch.randn(5, 7, generator=torch.Generator().manual_seed(0)) * 0.1
    dirs = torch.randn(5, 2, generator=torch.Generator().manual_seed(1))
    det = select_detections(cls, deltas, dirs, ANCHORS, CODER, PostprocessConfig(nms_iou=0.9))
    all_boxes = decode_at(CODER, ANCHORS, deltas, dirs)
    assert torch.equal(det.boxes_lidar, all_boxes[det.anchor_index])
