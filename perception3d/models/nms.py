"""Rotated non-maximum suppression on CPU, over the exact rotated BEV IoU of
``perception3d.geometry.iou`` (no CUDA op, so it runs wherever the detector does)."""

from __future__ import annotations

import numpy as np
import torch

from perception3d.geometry.iou import bev_iou_lidar


def rotated_nms(
    boxes_lidar: torch.Tensor,
    scores: torch.Tensor,
    iou_threshold: float,
    max_output: int | None = None,
) -> torch.Tensor:
    """Greedy NMS of LiDAR boxes by rotated bird's-eye-view IoU.

    Boxes are visited by descending score (ties: lower index first); a box is kept unless its
    BEV IoU with an already kept box is above ``iou_threshold``.

    Args:
        boxes_lidar: (N, 7) ``[x, y, z, dx, dy, dz, heading]`` LiDAR frame.
        scores: (N,) scores.
        iou_threshold: suppression threshold on the BEV IoU, in [0, 1].
        max_output: keep at most this many boxes.

    Returns:
        (K,) int64 indices into the input of the kept boxes, by descending score.

    Example:
        >>> b = torch.tensor([[0.0, 0, 0, 4, 2, 1, 0], [0.2, 0, 0, 4, 2, 1, 0]])
        >>> b = torch.cat([b, torch.tensor([[9.0, 0, 0, 4, 2, 1, 0]])])
        >>> rotated_nms(b, torch.tensor([0.9, 0.8, 0.7]), 0.5).tolist()
        [0, 2]
    """
    if boxes_lidar.ndim != 2 or boxes_lidar.shape[1] != 7:
        raise ValueError(f"boxes_lidar must be (N, 7), got {tuple(boxes_lidar.shape)}")
    if scores.shape != boxes_lidar.shape[:1]:
        raise ValueError(f"scores must be ({len(boxes_lidar)},), got {tuple(scores.shape)}")
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold}")
    n = len(boxes_lidar)
    if n == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes_lidar.device)
    order = np.argsort(-scores.detach().cpu().double().numpy(), kind="stable")
    boxes = boxes_lidar.detach().cpu().double().numpy()[order]
    iou = bev_iou_lidar(boxes, boxes)  # (N, N), in score order
    suppressed = np.zeros(n, dtype=bool)
    keep = []
    limit = n if max_output is None else max_output
    for i in range(n):
        if suppressed[i]:
            continue
        keep.append(i)
        if len(keep) >= limit:
            break
        suppressed |= iou[i] > iou_threshold
    return torch.as_tensor(order[keep], dtype=torch.long, device=boxes_lidar.device)
