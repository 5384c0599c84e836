"""From one frame's head outputs to detections: score threshold, top-k, rotated BEV NMS, in
the three orders of :class:`~perception3d.models.config.PostprocessConfig` (ours, OpenPCDet's
class-agnostic NMS, mmdetection3d's ``Anchor3DHead``).

Only the anchors that can survive the threshold (or the top-k) are decoded; their boxes equal
those :func:`perception3d.models.decode.decode_anchors` gives for every anchor.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from perception3d.models.config import PostprocessConfig
from perception3d.models.decode import decode_at
from perception3d.models.nms import rotated_nms


class FrameDetections(NamedTuple):
    """Kept boxes of one frame by descending score: ``boxes_lidar`` (K, 7) float32,
    ``scores`` (K,) float32, ``labels`` (K,) int64 class index, ``anchor_index`` (K,) int64."""

    boxes_lidar: torch.Tensor
    scores: torch.Tensor
    labels: torch.Tensor
    anchor_index: torch.Tensor


def _finite(boxes: torch.Tensor, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    ok = torch.isfinite(boxes).all(dim=1)
    return boxes[ok], index[ok]


def _top_k(index: torch.Tensor, score: torch.Tensor, k: int) -> torch.Tensor:
    """``index`` restricted to its ``k`` best by ``score`` (all of it if shorter)."""
    if len(index) > k:
        index = index[torch.topk(score[index], k).indices]
    return index


def _sorted(boxes, scores, labels, index, limit: int) -> FrameDetections:
    order = torch.argsort(scores, descending=True, stable=True)[:limit]
    return FrameDetections(boxes[order], scores[order], labels[order], index[order])


def _per_class(scores, decode, cfg: PostprocessConfig, strict: bool, nms) -> FrameDetections:
    """Per class: threshold, (top-k,) NMS; then the best ``max_detections`` over classes.
    ``scores`` (A, C) of the candidate rows; ``decode(rows)`` their boxes."""
    above = scores > cfg.score_threshold if strict else scores >= cfg.score_threshold
    rows = torch.nonzero(above.any(dim=1)).squeeze(1)
    boxes, rows = _finite(decode(rows), rows)
    parts = []
    for c in range(scores.shape[1]):
        s = scores[rows, c]
        sel = torch.nonzero(s > cfg.score_threshold if strict else s >= cfg.score_threshold)
        sel = _top_k(sel.squeeze(1), s, cfg.pre_nms_top_k)
        kept = sel[nms(boxes[sel], s[sel], cfg.nms_iou, cfg.max_detections)]
        parts.append((boxes[kept], s[kept], torch.full_like(kept, c), rows[kept]))
    return _sorted(*(torch.cat(p) for p in zip(*parts)), cfg.max_detections)


def select_detections(
    cls_logits: torch.Tensor,
    box_deltas: torch.Tensor,
    dir_logits: torch.Tensor,
    anchors: torch.Tensor,
    box_coder,
    cfg: PostprocessConfig,
    nms=rotated_nms,
) -> FrameDetections:
    """Detections of one frame.

    Args:
        cls_logits: (A, C) class logits; box_deltas: (A, 7); dir_logits: (A, 2).
        anchors: (A, 7) the detector's anchors.
        box_coder: its box coder.
        cfg: thresholds and the NMS order (``cfg.nms``).
        nms: the NMS function (:func:`~perception3d.models.nms.rotated_nms`; the benchmark
            passes the older dense one as its baseline).
    """
    scores = torch.sigmoid(cls_logits.float())  # (A, C)

    def decode(index: torch.Tensor) -> torch.Tensor:
        return decode_at(box_coder, anchors, box_deltas, dir_logits, index)

    if cfg.nms == "per_class":
        return _per_class(scores, decode, cfg, strict=False, nms=nms)
    elif cfg.nms == "class_agnostic":
        best, label = scores.max(dim=1)
        index = torch.nonzero(best >= cfg.score_threshold).squeeze(1)
        index = _top_k(index, best, cfg.pre_nms_top_k)
        boxes, index = _finite(decode(index), index)
        kept = nms(boxes, best[index], cfg.nms_iou, cfg.max_detections)
        return FrameDetections(boxes[kept], best[index[kept]], label[index[kept]], index[kept])
    elif cfg.nms == "top_k_then_per_class":
        top = _top_k(torch.arange(len(scores)), scores.max(dim=1).values, cfg.pre_nms_top_k)
        det = _per_class(scores[top], lambda rows: decode(top[rows]), cfg, strict=True, nms=nms)
        return det._replace(anchor_index=top[det.anchor_index])
    else:
        raise ValueError(f"unknown postprocess nms {cfg.nms!r}")
