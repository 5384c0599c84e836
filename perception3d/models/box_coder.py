"""Anchor box coder: LiDAR boxes <-> regression targets relative to anchors, and the heading
direction bins.

The residual encoding is SECOND's (Yan et al., Sensors 2018, eq. 1), used by PointPillars:
with anchor ``(xa, ya, za, dxa, dya, dza, ra)`` and its BEV diagonal ``da = sqrt(dxa^2 +
dya^2)``::

    tx = (x - xa) / da     ty = (y - ya) / da     tz = (z - za) / dza
    tdx = log(dx / dxa)    tdy = log(dy / dya)    tdz = log(dz / dza)    tr = r - ra

The heading residual is learned through ``sin(r_pred - r_gt)`` (in the loss), which cannot tell
r from r + pi; a 2-bin direction classifier restores it (SECOND, section 3.3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

CODE_SIZE = 7


def _check(t: torch.Tensor, name: str) -> None:
    if t.shape[-1] != CODE_SIZE:
        raise ValueError(f"{name} must be (..., {CODE_SIZE}), got {tuple(t.shape)}")


def _components(values: torch.Tensor, name: str, anchors: torch.Tensor):
    """The 7 components of ``values`` and of ``anchors`` (shapes checked) and the anchors'
    BEV diagonal ``sqrt(dxa^2 + dya^2)``."""
    _check(values, name)
    _check(anchors, "anchors")
    a = anchors.unbind(-1)
    return values.unbind(-1), a, torch.sqrt(a[3] ** 2 + a[4] ** 2)


def encode_boxes(boxes_lidar: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """Regression targets of ``boxes_lidar`` w.r.t. ``anchors``.

    Args:
        boxes_lidar: (..., 7) ``[x, y, z, dx, dy, dz, heading]`` LiDAR frame, metres/radians.
        anchors: (..., 7) same layout, broadcastable to ``boxes_lidar``.

    Returns:
        (..., 7) ``[tx, ty, tz, tdx, tdy, tdz, tr]``.

    Example:
        >>> a = torch.tensor([[10.0, 0, -1, 4, 2, 1.5, 0]])
        >>> encode_boxes(a, a).abs().sum().item()
        0.0
    """
    box, anchor, diag = _components(boxes_lidar, "boxes_lidar", anchors)
    (x, y, z, dx, dy, dz, r), (xa, ya, za, dxa, dya, dza, ra) = box, anchor
    return torch.stack(
        [
            (x - xa) / diag,
            (y - ya) / diag,
            (z - za) / dza,
            torch.log(dx / dxa),
            torch.log(dy / dya),
            torch.log(dz / dza),
            r - ra,
        ],
        dim=-1,
    )


def decode_boxes(deltas: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`encode_boxes`: (..., 7) deltas + anchors -> (..., 7) LiDAR boxes."""
    delta, anchor, diag = _components(deltas, "deltas", anchors)
    (tx, ty, tz, tdx, tdy, tdz, tr), (xa, ya, za, dxa, dya, dza, ra) = delta, anchor
    return torch.stack(
        [
            tx * diag + xa,
            ty * diag + ya,
            tz * dza + za,
            torch.exp(tdx) * dxa,
            torch.exp(tdy) * dya,
            torch.exp(tdz) * dza,
            tr + ra,
        ],
        dim=-1,
    )


def limit_period_torch(angle: torch.Tensor, offset: float, period: float) -> torch.Tensor:
    """Wrap angles into ``[-offset * period, (1 - offset) * period)`` (torch twin of
    ``perception3d.geometry.calib.limit_period``)."""
    return angle - torch.floor(angle / period + offset) * period


def direction_targets(heading: torch.Tensor, dir_offset_rad: float) -> torch.Tensor:
    """2-bin direction class of LiDAR headings: 0 when ``heading - dir_offset`` wraps into
    ``[0, pi)``, 1 for ``[pi, 2 pi)``. Returns int64 of the same shape.

    Example:
        >>> direction_targets(torch.tensor([0.0, math.pi]), math.pi / 4).tolist()
        [1, 0]
    """
    rel = limit_period_torch(heading - dir_offset_rad, 0.0, 2 * math.pi)
    return (rel >= math.pi).long()


def apply_direction(
    heading: torch.Tensor, dir_label: torch.Tensor, dir_offset_rad: float, wrap: bool = True
) -> torch.Tensor:
    """Headings with the r / r + pi ambiguity resolved by the direction bin ``dir_label``
    (the inverse of :func:`direction_targets` up to a multiple of pi), wrapped to [-pi, pi)
    (``wrap=False``: left in [dir_offset, dir_offset + 2 pi), as OpenPCDet and mmdetection3d
    leave them; the same float operations as theirs).

    Example:
        >>> h = torch.tensor([0.1, 3.0], dtype=torch.float64)
        >>> out = apply_direction(h + math.pi, direction_targets(h, math.pi / 4), math.pi / 4)
        >>> [round(v, 6) for v in out.tolist()]
        [0.1, 3.0]
    """
    base = limit_period_torch(heading - dir_offset_rad, 0.0, math.pi)  # in [0, pi)
    out = base + dir_offset_rad + math.pi * dir_label.to(heading.dtype)
    return limit_period_torch(out, 0.5, 2 * math.pi) if wrap else out


@dataclass(frozen=True)
class ResidualBoxCoder:
    """The coder as a part to pass to a detector: ``encode``/``decode`` plus its direction
    offset (radians; pi/4 keeps the bin edges off the common headings 0 and pi/2) and whether
    decoded headings are wrapped to [-pi, pi) (see :func:`apply_direction`)."""

    dir_offset_rad: float = math.pi / 4
    code_size: int = CODE_SIZE
    wrap_heading: bool = True

    def encode(self, boxes_lidar: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
        return encode_boxes(boxes_lidar, anchors)

    def decode(self, deltas: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
        return decode_boxes(deltas, anchors)

    def direction_targets(self, heading: torch.Tensor) -> torch.Tensor:
        return direction_targets(heading, self.dir_offset_rad)

    def apply_direction(self, heading: torch.Tensor, dir_label: torch.Tensor) -> torch.Tensor:
        return apply_direction(heading, dir_label, self.dir_offset_rad, self.wrap_heading)
