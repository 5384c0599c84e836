"""Frustum PointNets v1 (Qi et al., "Frustum PointNets for 3D Object Detection from RGB-D
Data", CVPR 2018): the 3D stage that turns one 2D detection's frustum of LiDAR points into an
amodal 3D box.

Frame: the *frustum frame*, the rectified camera frame rotated about its y axis so the ray
through the 2D box centre is +z (``perception3d.data.frustums``). x right, y down, z forward,
metres. Boxes here are ``(cx, cy, cz, l, h, w, ry)`` with (cx, cy, cz) the box's *geometric*
centre and ry the heading about +y in that frame (KITTI's rotation_y convention).

Pipeline (v1, Fig. 2 and Sec. 4 of the paper): a PointNet instance segmentation (per-point
features concatenated with the max-pooled global feature and the one-hot class of the 2D box)
-> masking (points classified as the object, their centroid subtracted) -> a T-Net regressing
the residual to the object centre -> the amodal box-estimation PointNet (centre residual,
heading bin scores + residuals, size template scores + residuals). Box coding and losses live
in :mod:`perception3d.models.frustum_coder`. Widths are configurable (``FrustumModelConfig``);
the defaults are narrower than the paper's for CPU training (docs/frustum.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from perception3d.data.kitti_stats import KITTI_SIZE_MEAN_M
from perception3d.models.pointnet import SharedMLP

# one (l, w, h) template per class in metres: the mean KITTI label box (data.kitti_stats)
SIZE_TEMPLATES_M = tuple(KITTI_SIZE_MEAN_M[c] for c in ("Car", "Pedestrian", "Cyclist"))


def _fc(channels: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for c_in, c_out in itertools.pairwise(channels):
        layers += [nn.Linear(c_in, c_out, bias=False), nn.BatchNorm1d(c_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class InstanceSegNet(nn.Module):
    """v1 3D instance segmentation PointNet.

    ``forward(points (B, N, C_in), one_hot (B, K))`` -> (B, N, 2) logits (background, object).
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        local_channels: Sequence[int] = (64, 64),
        global_channels: Sequence[int] = (64, 128, 1024),
        head_channels: Sequence[int] = (512, 256, 128, 128),
    ) -> None:
        super().__init__()
        self.local = SharedMLP([in_channels, *local_channels])
        self.glob = SharedMLP([local_channels[-1], *global_channels])
        concat = local_channels[-1] + global_channels[-1] + num_classes
        self.head = nn.Sequential(SharedMLP([concat, *head_channels]))
        self.out = nn.Conv1d(head_channels[-1], 2, 1)

    def forward(self, points: torch.Tensor, one_hot: torch.Tensor) -> torch.Tensor:
        local = self.local(points.transpose(1, 2))  # from (B, N, C) to (B, C_local, N)
        pooled = self.glob(local).max(dim=2).values  # (B, C_global)
        glob = torch.cat([pooled, one_hot], dim=1)[:, :, None].expand(-1, -1, local.shape[2])
        x = self.head(torch.cat([local, glob], dim=1))
        return self.out(x).transpose(1, 2)  # from (B, 2, N) to (B, N, 2)


class GlobalRegressor(nn.Module):
    """PointNet on xyz -> max-pool -> concat one-hot -> FC layers -> ``out_dim`` numbers. The
    T-Net (``out_dim`` 3, last layer zero-initialised) and the box-estimation net."""

    def __init__(
        self,
        num_classes: int,
        point_channels: Sequence[int],
        fc_channels: Sequence[int],
        out_dim: int,
        zero_init: bool = False,
    ) -> None:
        super().__init__()
        self.points = SharedMLP([3, *point_channels])
        self.fc = _fc([point_channels[-1] + num_classes, *fc_channels])
        self.out = nn.Linear(fc_channels[-1], out_dim)
        if zero_init:
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def forward(self, xyz: torch.Tensor, one_hot: torch.Tensor) -> torch.Tensor:
        """``xyz`` (B, M, 3), ``one_hot`` (B, K) -> (B, out_dim)."""
        pooled = self.points(xyz.transpose(1, 2)).max(dim=2).values  # (B, C)
        return self.out(self.fc(torch.cat([pooled, one_hot], dim=1)))


def mask_object_points(
    xyz: torch.Tensor, seg_logits: torch.Tensor, num_object_points: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The paper's masking step: keep the points segmented as the object.

    Deterministic: from the M_b masked points of frustum b, ``num_object_points`` are taken
    evenly spaced in index order (repeating cyclically when M_b is smaller); the frustum's
    points arrive in random order, so this is an unbiased subset. A frustum with no masked
    point uses all its points.

    Args:
        xyz: (B, N, 3) frustum-frame coordinates.
        seg_logits: (B, N, 2).
        num_object_points: M.

    Returns:
        object_xyz (B, M, 3) with the mask centroid subtracted, centroid (B, 3),
        mask (B, N) bool (the predicted object points).
    """
    mask = seg_logits[..., 1] > seg_logits[..., 0]
    use = torch.where(mask.any(dim=1, keepdim=True), mask, torch.ones_like(mask))
    count = use.sum(dim=1)  # (B,)
    # Rank of each used point among the used points of its frustum; unused points go last.
    order = torch.argsort((~use).to(torch.int8), dim=1, stable=True)  # (B, N)
    slots = torch.arange(num_object_points, device=xyz.device)[None, :]  # (1, M)
    big = count[:, None] >= num_object_points
    spread = (slots * count[:, None]) // num_object_points  # evenly spaced when enough
    rank = torch.where(big, spread, slots % count[:, None])  # (B, M)
    index = torch.gather(order, 1, rank)
    chosen = torch.gather(xyz, 1, index[..., None].expand(-1, -1, 3))  # (B, M, 3)
    centroid = (xyz * use[..., None]).sum(dim=1) / count[:, None].to(xyz.dtype)
    return chosen - centroid[:, None, :], centroid, mask


class FrustumPointNet(nn.Module):
    """Frustum PointNet v1.

    Args:
        classes: the K classes of the 2D boxes (one-hot input) and of the size templates.
        size_templates_m: (K, 3) one ``(l, w, h)`` template per class, metres (kept as the
            buffer ``templates_lhw`` in ``(l, h, w)`` order).
        num_points: N points sampled per frustum at inference.
        min_frustum_points: frustums with fewer points give no box at inference.
        in_channels: per-point channels (x, y, z, intensity).
        num_heading_bins: NH.
        num_object_points: M points passed on after masking.
        seg_*, center_*, box_*: widths (see ``FrustumModelConfig``).

    ``forward(points (B, N, C), one_hot (B, K))`` returns a dict: ``seg_logits`` (B, N, 2),
    ``mask`` (B, N) bool, ``stage1_center`` (B, 3), ``center`` (B, 3), ``heading_scores``
    (B, NH), ``heading_residual_norm`` (B, NH), ``size_scores`` (B, K),
    ``size_residual_norm`` (B, K, 3), all in the frustum frame.
    """

    def __init__(
        self,
        classes: Sequence[str] = ("Car", "Pedestrian", "Cyclist"),
        size_templates_m: Sequence[Sequence[float]] = SIZE_TEMPLATES_M,
        num_points: int = 1024,
        min_frustum_points: int = 5,
        in_channels: int = 4,
        num_heading_bins: int = 12,
        num_object_points: int = 512,
        seg_local_channels: Sequence[int] = (64, 64),
        seg_global_channels: Sequence[int] = (64, 128, 1024),
        seg_head_channels: Sequence[int] = (512, 256, 128, 128),
        center_channels: Sequence[int] = (128, 128, 256),
        center_head_channels: Sequence[int] = (256, 128),
        box_channels: Sequence[int] = (128, 128, 256, 512),
        box_head_channels: Sequence[int] = (512, 256),
    ) -> None:
        super().__init__()
        self.classes = tuple(classes)
        num_classes = len(self.classes)
        templates = torch.tensor(size_templates_m, dtype=torch.float32)
        if templates.shape != (num_classes, 3):
            raise ValueError(
                f"size_templates_m must be ({num_classes}, 3), got {tuple(templates.shape)}"
            )
        self.register_buffer("templates_lhw", templates[:, [0, 2, 1]].contiguous())
        self.num_points, self.min_frustum_points = num_points, min_frustum_points
        self.num_classes, self.num_heading_bins = num_classes, num_heading_bins
        self.num_object_points = num_object_points
        self.seg = InstanceSegNet(
            in_channels, num_classes, seg_local_channels, seg_global_channels, seg_head_channels
        )
        self.tnet = GlobalRegressor(
            num_classes, center_channels, center_head_channels, 3, zero_init=True
        )
        box_out = 3 + 2 * num_heading_bins + 4 * num_classes
        self.box = GlobalRegressor(num_classes, box_channels, box_head_channels, box_out)

    def forward(self, points: torch.Tensor, one_hot: torch.Tensor) -> dict[str, torch.Tensor]:
        if points.ndim != 3 or points.shape[-1] < 3:
            raise ValueError(f"points must be (B, N, C>=3), got {tuple(points.shape)}")
        if one_hot.shape != (points.shape[0], self.num_classes):
            raise ValueError(f"one_hot must be (B, {self.num_classes}), got {tuple(one_hot.shape)}")
        seg_logits = self.seg(points, one_hot)
        object_xyz, centroid, mask = mask_object_points(
            points[..., :3], seg_logits.detach(), self.num_object_points
        )
        delta = self.tnet(object_xyz, one_hot)
        stage1 = centroid + delta
        out = self.box(object_xyz - delta[:, None, :], one_hot)  # (B, 3 + 2NH + 4K)
        nh, k = self.num_heading_bins, self.num_classes
        return {
            "seg_logits": seg_logits,
            "mask": mask,
            "stage1_center": stage1,
            "center": stage1 + out[:, :3],
            "heading_scores": out[:, 3 : 3 + nh],
            "heading_residual_norm": out[:, 3 + nh : 3 + 2 * nh],
            "size_scores": out[:, 3 + 2 * nh : 3 + 2 * nh + k],
            "size_residual_norm": out[:, 3 + 2 * nh + k :].reshape(-1, k, 3),
        }
