"""Every anchor's decoded box and class scores, before the score threshold and NMS.

The first half of :meth:`perception3d.models.detector.VoxelDetector.postprocess`, on its own:
for parity checks against other frameworks (OpenPCDet's ``batch_box_preds`` and the sigmoid of
its ``batch_cls_preds``) and for debugging a detector (``perception3d detect --dump-head``).
:func:`decode_at` decodes chosen anchors only, with the same float operations, so
post-processing decodes just the boxes it may keep and still returns exactly these values.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from perception3d.models.heads import HeadOutput


class DecodedAnchors(NamedTuple):
    """One frame's head output decoded at every anchor, in the head's anchor order.

    Attributes:
        boxes_lidar: (A, 7) float32 ``[x, y, z, dx, dy, dz, heading]``, LiDAR frame, heading
            resolved by the direction classifier.
        scores: (A, num_classes) float32 sigmoid class scores.
    """

    boxes_lidar: torch.Tensor
    scores: torch.Tensor


def decode_at(
    box_coder,
    anchors: torch.Tensor,
    box_deltas: torch.Tensor,
    dir_logits: torch.Tensor,
    index: torch.Tensor | None = None,
) -> torch.Tensor:
    """Decoded boxes of one frame at the anchors ``index`` (all when None).

    Args:
        box_coder: the detector's :class:`~perception3d.models.box_coder.ResidualBoxCoder`.
        anchors: (A, 7) anchors.
        box_deltas: (A, 7) head box outputs.
        dir_logits: (A, 2) direction-bin logits.
        index: (K,) int64 anchor indices.

    Returns:
        (K, 7) float32 LiDAR boxes, headings resolved by the direction bin with the larger
        logit (the first on a tie).
    """
    if index is not None:
        anchors, box_deltas, dir_logits = anchors[index], box_deltas[index], dir_logits[index]
    boxes = box_coder.decode(box_deltas.float(), anchors)  # (K, 7)
    boxes[:, 6] = box_coder.apply_direction(boxes[:, 6], dir_logits.argmax(dim=1))
    return boxes


@torch.no_grad()
def decode_anchors(model, head_out: HeadOutput) -> list[DecodedAnchors]:
    """Decode every anchor of every frame of a batch, exactly as ``model.postprocess`` does
    before its threshold and NMS.

    Args:
        model: a :class:`~perception3d.models.detector.VoxelDetector` (its ``anchors`` and
            ``box_coder``).
        head_out: ``model(batch)`` with B frames.

    Returns:
        B :class:`DecodedAnchors`, on the head's device.
    """
    out = []
    for cls_logits, deltas, dir_logits in zip(*head_out):
        boxes = decode_at(model.box_coder, model.anchors, deltas, dir_logits)
        out.append(DecodedAnchors(boxes, torch.sigmoid(cls_logits.float())))
    return out
