"""Permutation-invariant point networks in pure torch: PointNet (Qi et al., CVPR 2017) with its
T-Net spatial transformer, and PointNet++ set abstraction (Qi et al., NeurIPS 2017): farthest
point sampling, ball query, grouping.

A point set is ``(B, N, C)``: batch, points, channels (``[x, y, z, ...]`` first). PointNet's
invariance to the order of the N points comes from a shared per-point MLP followed by a
symmetric function (max over points).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn


def _check_points(points: torch.Tensor, name: str, min_channels: int = 3) -> None:
    if points.ndim != 3 or points.shape[-1] < min_channels:
        raise ValueError(f"{name} must be (B, N, C>={min_channels}), got {tuple(points.shape)}")


def farthest_point_sample(points_xyz: torch.Tensor, num_samples: int) -> torch.Tensor:
    """Indices of ``num_samples`` points spread by farthest point sampling.

    Starts at point 0 (deterministic); each next point is the one farthest from those chosen.

    Args:
        points_xyz: (B, N, 3) coordinates.
        num_samples: S <= N.

    Returns:
        (B, S) int64 indices.

    Example:
        >>> pts = torch.tensor([[[0.0, 0, 0], [0.1, 0, 0], [5, 0, 0], [2, 0, 0]]])
        >>> farthest_point_sample(pts, 3).tolist()
        [[0, 2, 3]]
    """
    _check_points(points_xyz, "points_xyz")
    b, n, _ = points_xyz.shape
    if not 0 < num_samples <= n:
        raise ValueError(f"num_samples must be in 1..{n}, got {num_samples}")
    xyz = points_xyz[..., :3]
    out = torch.zeros(b, num_samples, dtype=torch.long, device=xyz.device)
    min_d2 = torch.full((b, n), float("inf"), device=xyz.device, dtype=xyz.dtype)
    current = torch.zeros(b, dtype=torch.long, device=xyz.device)
    batch = torch.arange(b, device=xyz.device)
    for i in range(num_samples):
        out[:, i] = current
        d2 = ((xyz - xyz[batch, current][:, None, :]) ** 2).sum(-1)  # (B, N)
        min_d2 = torch.minimum(min_d2, d2)
        current = torch.argmax(min_d2, dim=1)
    return out


def ball_query(
    points_xyz: torch.Tensor, centers_xyz: torch.Tensor, radius_m: float, max_samples: int
) -> torch.Tensor:
    """For each centre, the first ``max_samples`` points (in index order) within ``radius_m``.

    Slots beyond the points found repeat the first one found; a centre with no point in the
    ball (only possible when centres are not input points) gets index 0 throughout.

    Args:
        points_xyz: (B, N, 3).
        centers_xyz: (B, S, 3).
        radius_m: ball radius (inclusive).
        max_samples: K.

    Returns:
        (B, S, K) int64 indices into N.
    """
    _check_points(points_xyz, "points_xyz")
    _check_points(centers_xyz, "centers_xyz")
    n = points_xyz.shape[1]
    d2 = torch.cdist(centers_xyz[..., :3], points_xyz[..., :3]) ** 2  # (B, S, N)
    index = torch.arange(n, device=points_xyz.device).expand_as(d2)
    index = torch.where(d2 <= radius_m**2, index, torch.full_like(index, n))
    index = index.sort(dim=-1).values[..., :max_samples]  # (B, S, min(K, N))
    if index.shape[-1] < max_samples:
        pad = index.new_full((*index.shape[:2], max_samples - index.shape[-1]), n)
        index = torch.cat([index, pad], dim=-1)
    first = index[..., :1].clone()
    first[first == n] = 0
    return torch.where(index == n, first.expand_as(index), index)


def group_points(features: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Gather (B, N, C) ``features`` at (B, S, K) ``index`` -> (B, S, K, C)."""
    b, s, k = index.shape
    flat = index.reshape(b, s * k, 1).expand(-1, -1, features.shape[-1])
    return torch.gather(features, 1, flat).reshape(b, s, k, features.shape[-1])


class SharedMLP(nn.Sequential):
    """The same MLP applied to every point: 1x1 convolutions + batch norm + ReLU over
    ``(B, C, N)`` (or ``(B, C, S, K)`` with ``dims=2``)."""

    def __init__(self, channels: Sequence[int], dims: int = 1) -> None:
        conv, norm = (nn.Conv1d, nn.BatchNorm1d) if dims == 1 else (nn.Conv2d, nn.BatchNorm2d)
        layers: list[nn.Module] = []
        for c_in, c_out in itertools.pairwise(channels):
            layers += [conv(c_in, c_out, 1, bias=False), norm(c_out), nn.ReLU(inplace=True)]
        super().__init__(*layers)


class TNet(nn.Module):
    """Spatial transformer: predicts a (k, k) matrix from the point set, initialised to the
    identity (the last layer starts at zero), applied as ``points @ matrix``.

    Args:
        k: size of the transform (3 for xyz, C for a feature transform).
        in_channels: channels of the input (default ``k``).
        widths: shared-MLP widths before the max-pool (the paper's 64-128-1024).
        hidden: widths of the fully connected layers after it (the paper's 512-256).
    """

    def __init__(
        self,
        k: int = 3,
        in_channels: int | None = None,
        widths: Sequence[int] = (64, 128, 1024),
        hidden: Sequence[int] = (512, 256),
    ) -> None:
        super().__init__()
        self.k = k
        self.features = SharedMLP([in_channels or k, *widths])
        layers: list[nn.Module] = []
        for c_in, c_out in itertools.pairwise([widths[-1], *hidden]):
            layers += [nn.Linear(c_in, c_out, bias=False), nn.BatchNorm1d(c_out), nn.ReLU()]
        layers.append(nn.Linear(hidden[-1] if hidden else widths[-1], k * k))
        self.regressor = nn.Sequential(*layers)
        nn.init.zeros_(self.regressor[-1].weight)
        nn.init.zeros_(self.regressor[-1].bias)

    def forward(self, points_bcn: torch.Tensor) -> torch.Tensor:
        """(B, C, N) -> (B, k, k) transform."""
        pooled = self.features(points_bcn).max(dim=2).values  # (B, widths[-1])
        delta = self.regressor(pooled).view(-1, self.k, self.k)
        return delta + torch.eye(self.k, device=delta.device, dtype=delta.dtype)


def orthogonality_loss(matrix: torch.Tensor) -> torch.Tensor:
    """PointNet's feature-transform regulariser ``|| I - A A^T ||_F^2``, mean over the batch."""
    eye = torch.eye(matrix.shape[-1], device=matrix.device, dtype=matrix.dtype)
    return ((eye - matrix @ matrix.transpose(1, 2)) ** 2).sum(dim=(1, 2)).mean()


class PointNet(nn.Module):
    """PointNet encoder: optional input T-Net on xyz, shared MLP, optional feature T-Net after
    the first layer, max-pool to a global feature.

    Args:
        in_channels: C of the input ``(B, N, C)`` (xyz first).
        channels: widths of the shared MLP; the last is the global feature size.
        input_transform: learn a 3x3 T-Net on xyz.
        feature_transform: learn a T-Net on the features after the first MLP layer.
        tnet_widths, tnet_hidden: sizes of the T-Nets (``TNet``'s ``widths`` and ``hidden``).

    ``forward`` returns ``(global (B, channels[-1]), per_point (B, N, channels[-1]), transforms)``,
    ``transforms`` a dict with ``"input"``/``"feature"`` matrices when used.
    """

    def __init__(
        self,
        in_channels: int = 3,
        channels: Sequence[int] = (64, 128, 1024),
        input_transform: bool = False,
        feature_transform: bool = False,
        tnet_widths: Sequence[int] = (64, 128, 1024),
        tnet_hidden: Sequence[int] = (512, 256),
    ) -> None:
        super().__init__()
        if in_channels < 3:
            raise ValueError(f"in_channels must be >= 3 (xyz first), got {in_channels}")
        tnet = {"widths": tnet_widths, "hidden": tnet_hidden}
        self.input_tnet = TNet(3, **tnet) if input_transform else None
        self.first = SharedMLP([in_channels, channels[0]])
        self.feature_tnet = TNet(channels[0], **tnet) if feature_transform else None
        self.rest = SharedMLP(list(channels))
        self.out_channels = channels[-1]

    def forward(self, points: torch.Tensor):
        _check_points(points, "points")
        transforms: dict[str, torch.Tensor] = {}
        if self.input_tnet is not None:
            matrix = self.input_tnet(points[..., :3].transpose(1, 2))
            xyz = points[..., :3] @ matrix
            points = torch.cat([xyz, points[..., 3:]], dim=-1)
            transforms["input"] = matrix
        x = self.first(points.transpose(1, 2))  # from (B, N, C) to (B, C0, N)
        if self.feature_tnet is not None:
            matrix = self.feature_tnet(x)
            x = (x.transpose(1, 2) @ matrix).transpose(1, 2)
            transforms["feature"] = matrix
        x = self.rest(x)  # (B, C_out, N)
        return x.max(dim=2).values, x.transpose(1, 2), transforms


class SetAbstraction(nn.Module):
    """PointNet++ set abstraction: sample ``num_centers`` points by FPS, group the points within
    ``radius_m`` of each (``max_samples`` each), run a PointNet on each group in the centre's
    local frame.

    ``forward(points_xyz (B, N, 3), features (B, N, C) | None)`` returns
    ``(centers_xyz (B, S, 3), features (B, S, channels[-1]))``.
    """

    def __init__(
        self,
        num_centers: int,
        radius_m: float,
        max_samples: int,
        in_channels: int,
        channels: Sequence[int],
    ) -> None:
        super().__init__()
        self.num_centers, self.radius_m, self.max_samples = num_centers, radius_m, max_samples
        self.mlp = SharedMLP([in_channels + 3, *channels], dims=2)
        self.out_channels = channels[-1]

    def forward(self, points_xyz: torch.Tensor, features: torch.Tensor | None = None):
        _check_points(points_xyz, "points_xyz")
        centers_idx = farthest_point_sample(points_xyz, min(self.num_centers, points_xyz.shape[1]))
        batch = torch.arange(points_xyz.shape[0], device=points_xyz.device)[:, None]
        centers = points_xyz[batch, centers_idx]  # (B, S, 3)
        index = ball_query(points_xyz, centers, self.radius_m, self.max_samples)  # (B, S, K)
        local = group_points(points_xyz, index) - centers[:, :, None, :]  # (B, S, K, 3)
        if features is not None:
            local = torch.cat([local, group_points(features, index)], dim=-1)
        x = self.mlp(local.permute(0, 3, 1, 2))  # from (B, S, K, C) to (B, C, S, K)
        return centers, x.max(dim=3).values.transpose(1, 2)  # (B, S, C_out)
