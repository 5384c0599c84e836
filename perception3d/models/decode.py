"""Every anchor's decoded box and class scores, before the score threshold and NMS.

The first half of :meth:`perception3d.models.detector.VoxelDetector.postprocess`, on its own:
for parity checks against other frameworks (OpenPCDet's ``batch_box_preds`` and the sigmoid of
its ``batch_cls_preds``) and for debugging a detector (``perception3d detect --dump-head``).
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
        scores = torch.sigmoid(cls_logits.float())  # (A, C)
        boxes = model.box_coder.decode(deltas.float(), model.anchors)  # (A, 7)
        boxes[:, 6] = model.box_coder.apply_direction(boxes[:, 6], dir_logits.argmax(dim=1))
        out.append(DecodedAnchors(boxes, scores))
    return out
