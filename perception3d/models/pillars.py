"""PointPillars encoder (Lang et al., CVPR 2019): a PointNet over the points of each pillar,
scattered to a bird's-eye-view pseudo-image.

Each point of a pillar is decorated with its offset from the pillar's point mean (x_c, y_c,
z_c) and from the pillar's geometric centre (x_p, y_p, z_p; the paper uses x_p, y_p, OpenPCDet
adds z), then a shared linear layer + batch norm + ReLU and a max over the pillar's points
give one feature vector per pillar.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from perception3d.lidar.voxelize import VoxelGridConfig


class PillarFeatureNet(nn.Module):
    """Pillar points -> one feature per pillar.

    Args:
        grid: the pillar grid (voxel size and range give the pillar centres).
        in_channels: channels per input point (``[x, y, z, intensity, ...]``).
        channels: widths of the per-point layers; the last is the output size.
        norm_eps: batch-norm epsilon.
        first_xyz: ``absolute`` (the decorated point starts with its x, y, z) or
            ``pillar_offset`` (with its offset from the pillar centre instead, as
            mmdetection3d's legacy ``PillarFeatureNet``).
        read_intensity: False sets every point's intensity (channel 3) to 0 before the first
            layer, so the detector sees geometry (and any painted scores) only.

    ``forward(points (V, P, C), num_points (V,), coords (V, 4) [batch, z, y, x])`` returns
    (V, channels[-1]). Each point's decorated input is ``[x, y, z, intensity, ..., x - x_mean,
    y - y_mean, z - z_mean, x - x_centre, y - y_centre, z - z_centre]`` (OpenPCDet's
    ``PillarVFE`` order), padded slots zero.
    """

    def __init__(
        self,
        grid: VoxelGridConfig,
        in_channels: int = 4,
        channels: Sequence[int] = (64,),
        norm_eps: float = 1e-5,
        first_xyz: str = "absolute",
        read_intensity: bool = True,
    ) -> None:
        super().__init__()
        if first_xyz not in ("absolute", "pillar_offset"):
            raise ValueError(f"first_xyz must be absolute or pillar_offset, got {first_xyz!r}")
        self.first_xyz, self.read_intensity = first_xyz, read_intensity
        widths = [in_channels + 6, *channels]
        layers = []
        for c_in, c_out in itertools.pairwise(widths):
            layers.append(
                nn.ModuleList(
                    [nn.Linear(c_in, c_out, bias=False), nn.BatchNorm1d(c_out, eps=norm_eps)]
                )
            )
        self.layers = nn.ModuleList(layers)
        self.out_channels = widths[-1]
        size = torch.tensor(grid.voxel_size_m, dtype=torch.float32)
        lo = torch.tensor(grid.point_range_m[:3], dtype=torch.float32)
        self.register_buffer("voxel_size", size, persistent=False)
        self.register_buffer("centre_offset", lo + size / 2, persistent=False)

    def decorate(
        self, points: torch.Tensor, num_points: torch.Tensor, coords: torch.Tensor
    ) -> torch.Tensor:
        """(V, P, C) points -> (V, P, C + 6) decorated inputs of the first layer."""
        if points.ndim != 3 or coords.shape != (points.shape[0], 4):
            raise ValueError(
                f"points must be (V, P, C) and coords (V, 4), got {tuple(points.shape)}, "
                f"{tuple(coords.shape)}"
            )
        v, p, _ = points.shape
        valid = torch.arange(p, device=points.device)[None, :] < num_points[:, None]  # (V, P)
        mask = valid.unsqueeze(-1).to(points.dtype)  # (V, P, 1)
        count = num_points.clamp(min=1).to(points.dtype).view(v, 1, 1)
        mean = (points[..., :3] * mask).sum(dim=1, keepdim=True) / count  # (V, 1, 3)
        # pillar centre from its (x, y, z) index; coords are [batch, z, y, x]
        centre = coords[:, [3, 2, 1]].to(points.dtype) * self.voxel_size + self.centre_offset
        offset = points[..., :3] - centre[:, None, :]  # (V, P, 3)
        if not self.read_intensity:
            points = torch.cat(
                [points[..., :3], torch.zeros_like(points[..., 3:4]), points[..., 4:]], -1
            )
        first = points if self.first_xyz == "absolute" else torch.cat([offset, points[..., 3:]], -1)
        x = torch.cat([first, points[..., :3] - mean, offset], -1)
        return x * mask  # padded slots stay zero

    def forward(
        self, points: torch.Tensor, num_points: torch.Tensor, coords: torch.Tensor
    ) -> torch.Tensor:
        x = self.decorate(points, num_points, coords)
        for linear, norm in self.layers:
            x = linear(x)  # (V, P, C'); V may be 0 (no pillar in range)
            x = torch.relu(norm(x.flatten(0, 1)).view_as(x))
        return x.max(dim=1).values


def scatter_to_bev(
    features: torch.Tensor, coords: torch.Tensor, batch_size: int, grid_hw: tuple[int, int]
) -> torch.Tensor:
    """Place pillar features on a dense BEV canvas.

    Args:
        features: (V, C) per-pillar features.
        coords: (V, 4) int ``[batch, z, y, x]``.
        batch_size: B.
        grid_hw: (H, W) = (y cells, x cells).

    Returns:
        (B, C, H, W); empty cells are 0.

    Example:
        >>> f = torch.tensor([[1.0], [2.0]]); c = torch.tensor([[0, 0, 1, 2], [1, 0, 0, 0]])
        >>> scatter_to_bev(f, c, 2, (2, 3))[:, 0].tolist()
        [[[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]], [[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]
    """
    h, w = grid_hw
    c = features.shape[1]
    canvas = features.new_zeros(batch_size, h * w, c)
    flat = coords[:, 2].long() * w + coords[:, 3].long()
    canvas[coords[:, 0].long(), flat] = features
    return canvas.transpose(1, 2).reshape(batch_size, c, h, w)  # from (B, HW, C) to (B, C, H, W)


class PillarEncoder(nn.Module):
    """Voxelized points -> BEV pseudo-image: :class:`PillarFeatureNet` then
    :func:`scatter_to_bev`. ``forward(points, num_points, coords, batch_size)`` ->
    (B, C, H, W)."""

    def __init__(self, feature_net: PillarFeatureNet, grid: VoxelGridConfig) -> None:
        super().__init__()
        self.feature_net = feature_net
        nx, ny, _ = grid.grid_size_xyz
        self.grid_hw = (ny, nx)
        self.out_channels = feature_net.out_channels

    def forward(
        self,
        points: torch.Tensor,
        num_points: torch.Tensor,
        coords: torch.Tensor,
        batch_size: int,
    ) -> torch.Tensor:
        features = self.feature_net(points, num_points, coords)
        return scatter_to_bev(features, coords, batch_size, self.grid_hw)
