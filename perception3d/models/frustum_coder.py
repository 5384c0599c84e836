"""Box coding and losses of Frustum PointNets v1 (Qi et al., CVPR 2018, Sec. 4.2-4.3).

Boxes are frustum-frame ``(cx, cy, cz, l, h, w, ry)``: geometric centre, KITTI size order
(l along the heading, h along y, w across), ry about +y (KITTI rotation_y convention), see
:mod:`perception3d.models.frustum`.

- Heading: NH bins of width 2 pi / NH centred at k 2 pi / NH; a bin class plus a residual in
  [-pi / NH, pi / NH), regressed normalised by pi / NH.
- Size: one template (l, w, h) per class; a template class plus a residual, regressed
  normalised by the template.
- Loss: the paper's ``L_seg + lambda (L_c1-reg + L_c2-reg + L_h-cls + L_h-reg + L_s-cls +
  L_s-reg + gamma L_corner)`` with lambda 1; the normalised residual terms are weighted 20 as
  in the authors' released training code; Huber losses (delta 2 on the box centre distance,
  1 elsewhere). The corner loss takes the smaller of the distances to the true corners and
  to the corners of the heading-flipped box (the paper's Eq. 1).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

# Unit corners in the box frame (x front = along l, y up, z left), the order of
# perception3d.geometry.boxes (bottom face first, front-left, rear-left, rear-right,
# front-right; then the top face).
_UNIT = torch.tensor(
    [
        [0.5, -0.5, 0.5],
        [-0.5, -0.5, 0.5],
        [-0.5, -0.5, -0.5],
        [0.5, -0.5, -0.5],
        [0.5, 0.5, 0.5],
        [-0.5, 0.5, 0.5],
        [-0.5, 0.5, -0.5],
        [0.5, 0.5, -0.5],
    ],
    dtype=torch.float64,
)


def encode_heading(ry: np.ndarray, num_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Heading angle(s) -> (bin class int64, residual normalised by pi / NH).

    Example:
        >>> c, r = encode_heading(np.array([0.1, -0.1, np.pi]), 12)
        >>> c.tolist(), np.round(r * np.pi / 12, 3).tolist()
        ([0, 0, 6], [0.1, -0.1, 0.0])
    """
    width = 2 * np.pi / num_bins
    a = np.mod(np.asarray(ry, dtype=np.float64), 2 * np.pi)
    cls = np.floor((a + width / 2) / width).astype(np.int64) % num_bins
    residual = a - cls * width
    residual = np.mod(residual + np.pi, 2 * np.pi) - np.pi
    return cls, residual / (width / 2)


def decode_heading(cls, residual_norm, num_bins: int):
    """Inverse of :func:`encode_heading`: angle in [-pi, pi) (numpy or torch)."""
    width = 2 * math.pi / num_bins
    if isinstance(cls, torch.Tensor):  # integer bins would compute in the default float dtype
        cls = cls.to(residual_norm.dtype)
    a = cls * width + residual_norm * (width / 2)
    return (a + math.pi) % (2 * math.pi) - math.pi


def encode_size(lhw_m: np.ndarray, cls: np.ndarray, templates_lwh_m: np.ndarray) -> np.ndarray:
    """Sizes (M, 3) ``(l, h, w)`` of class ``cls`` -> residual to the class template,
    normalised by it, ``(l, h, w)`` order. ``templates_lwh_m``: (K, 3) ``(l, w, h)``."""
    t = np.asarray(templates_lwh_m, dtype=np.float64)[:, [0, 2, 1]]  # to (l, h, w)
    return (np.asarray(lhw_m, dtype=np.float64) - t[cls]) / t[cls]


def decode_size(cls, residual_norm, templates_lhw):
    """Inverse of :func:`encode_size` with ``templates_lhw`` (K, 3) in ``(l, h, w)`` order."""
    return templates_lhw[cls] * (1 + residual_norm)


def box_corners(boxes: torch.Tensor) -> torch.Tensor:
    """(B, 7) frustum/camera-frame boxes ``(cx, cy, cz, l, h, w, ry)`` (geometric centre) ->
    (B, 8, 3) corners, differentiable; the corners of
    :func:`perception3d.geometry.boxes.corners_cam` for the same box (tested)."""
    unit = _UNIT.to(boxes)
    size = torch.stack([boxes[:, 3], boxes[:, 4], boxes[:, 5]], dim=1)  # (l, h, w)
    local = unit[None] * size[:, None, :]  # (B, 8, 3): front, up, left
    c, s = torch.cos(boxes[:, 6])[:, None], torch.sin(boxes[:, 6])[:, None]
    # front = (cos ry, 0, -sin ry), left = (sin ry, 0, cos ry), up = -y (KITTI rect frame)
    x = local[..., 0] * c + local[..., 2] * s
    z = -local[..., 0] * s + local[..., 2] * c
    y = -local[..., 1]
    return torch.stack([x, y, z], dim=-1) + boxes[:, None, :3]


def _huber(x: torch.Tensor, delta: float) -> torch.Tensor:
    return F.huber_loss(x, torch.zeros_like(x), delta=delta, reduction="none")


def compute_frustum_loss(
    out: dict[str, torch.Tensor],
    seg_labels: torch.Tensor,
    boxes: torch.Tensor,
    class_index: torch.Tensor,
    templates_lhw: torch.Tensor,
    corner_loss_weight: float = 10.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The paper's multi-task loss.

    Args:
        out: :class:`~perception3d.models.frustum.FrustumPointNet` output.
        seg_labels: (B, N) int64, 1 for points inside the ground-truth 3D box.
        boxes: (B, 7) ground-truth frustum-frame boxes.
        class_index: (B,) int64 class (= size template) of each box.
        templates_lhw: (K, 3) size templates, ``(l, h, w)`` order.
        corner_loss_weight: gamma.

    Returns:
        (total, parts as floats).
    """
    nh = out["heading_scores"].shape[1]
    batch = torch.arange(len(boxes), device=boxes.device)
    seg = F.cross_entropy(out["seg_logits"].reshape(-1, 2), seg_labels.reshape(-1))
    center = _huber(torch.linalg.norm(out["center"] - boxes[:, :3], dim=1), 2.0).mean()
    stage1 = _huber(torch.linalg.norm(out["stage1_center"] - boxes[:, :3], dim=1), 1.0).mean()
    h_cls_np, h_res_np = encode_heading(boxes[:, 6].detach().cpu().numpy(), nh)
    h_cls = torch.from_numpy(h_cls_np).to(boxes.device)
    h_res = torch.from_numpy(h_res_np).to(boxes)
    heading_cls = F.cross_entropy(out["heading_scores"], h_cls)
    h_pred = out["heading_residual_norm"][batch, h_cls]
    heading_reg = _huber(h_pred - h_res, 1.0).mean()
    t = templates_lhw.to(boxes)
    s_res = boxes[:, 3:6] / t[class_index] - 1
    size_cls = F.cross_entropy(out["size_scores"], class_index)
    s_pred = out["size_residual_norm"][batch, class_index]
    size_reg = _huber(torch.linalg.norm(s_pred - s_res, dim=1), 1.0).mean()
    # Corner loss: the box from the predicted centre, the ground-truth bin's residual and the
    # ground-truth template's residual, against the true corners or their heading-flipped twin.
    pred_box = torch.cat(
        [out["center"], t[class_index] * (1 + s_pred), decode_heading(h_cls, h_pred, nh)[:, None]],
        dim=1,
    )
    flipped = boxes.clone()
    flipped[:, 6] = boxes[:, 6] + math.pi
    pred_c = box_corners(pred_box)
    dist = torch.minimum(
        torch.linalg.norm(pred_c - box_corners(boxes), dim=2).sum(1),
        torch.linalg.norm(pred_c - box_corners(flipped), dim=2).sum(1),
    )
    corner = _huber(dist, 1.0).mean()
    box = center + stage1 + heading_cls + 20 * heading_reg + size_cls + 20 * size_reg
    total = seg + box + corner_loss_weight * corner
    parts = {
        "seg": seg, "center": center, "stage1": stage1, "heading_cls": heading_cls,
        "heading_reg": heading_reg, "size_cls": size_cls, "size_reg": size_reg, "corner": corner,
    }  # fmt: skip
    return total, {k: float(v.detach()) for k, v in parts.items()}


@torch.no_grad()
def decode_boxes(
    out: dict[str, torch.Tensor],
    templates_lhw: torch.Tensor,
    size_class: torch.Tensor | None = None,
) -> torch.Tensor:
    """Network output -> (B, 7) frustum-frame boxes: the arg-max heading bin with its residual
    and a size template with its residual.

    Args:
        out: the network's output for B frustums.
        templates_lhw: (K, 3) size templates, ``(l, h, w)`` order.
        size_class: (B,) int64 template of each box: the class of its 2D box, as the size
            residuals are trained at the true class's template (:func:`compute_frustum_loss`).
            None: the arg-max of ``size_scores``.
    """
    nh = out["heading_scores"].shape[1]
    batch = torch.arange(len(out["center"]), device=out["center"].device)
    h_cls = out["heading_scores"].argmax(dim=1)
    if size_class is None:
        s_cls = out["size_scores"].argmax(dim=1)
    else:
        s_cls = torch.as_tensor(size_class, dtype=torch.int64, device=batch.device).reshape(-1)
        if len(s_cls) != len(batch):
            raise ValueError(f"size_class needs one class per box ({len(batch)}), got {len(s_cls)}")
    ry = decode_heading(h_cls, out["heading_residual_norm"][batch, h_cls], nh)
    size = decode_size(
        s_cls, out["size_residual_norm"][batch, s_cls], templates_lhw.to(out["center"])
    )
    return torch.cat([out["center"], size, ry[:, None]], dim=1)
