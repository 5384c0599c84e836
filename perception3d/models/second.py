"""SECOND encoder (Yan et al., Sensors 2018): mean voxel features, then a sparse 3D
convolutional middle encoder (spconv) whose output is flattened over height into a BEV map.

Needs the ``spconv`` extra (``pip install perception3d[spconv]``, spconv 2.3.x).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from perception3d.lidar.voxelize import VoxelGridConfig
from perception3d.runtime import torch_threads


def _import_spconv():
    """Import spconv, patched for CPU-only torch.

    spconv 2.3.8's backward asks for the CUDA stream even for CPU tensors
    (``spconv.pytorch.ops.get_current_stream`` returns ``torch.cuda.current_stream()
    .cuda_stream``), which raises ``AssertionError: Torch not compiled with CUDA enabled`` on a
    CPU-only torch. Its CPU kernels ignore the stream argument, so when CUDA is unavailable we
    make that function return 0 (the null stream). This is the only place perception3d
    patches a third-party library; ``ops`` binds the name at import, so the binding in
    ``spconv.pytorch.ops`` is the one to replace.
    """
    try:
        import spconv.pytorch as spconv
        import spconv.pytorch.ops as spconv_ops
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "the SECOND encoder needs spconv: pip install 'perception3d[spconv]'"
        ) from exc
    if not torch.cuda.is_available():
        spconv_ops.get_current_stream = lambda: 0
    return spconv


class MeanVoxelEncoder(nn.Module):
    """Voxel feature = mean of its points' ``[x, y, z, intensity, ...]`` (SECOND's simple VFE).

    ``forward(points (V, P, C), num_points (V,))`` -> (V, C).
    """

    def forward(self, points: torch.Tensor, num_points: torch.Tensor) -> torch.Tensor:
        count = num_points.clamp(min=1).to(points.dtype)[:, None]
        return points.sum(dim=1) / count  # padded slots are zero


@contextmanager
def spconv_cpu_threads(device: torch.device) -> Iterator[None]:
    """Run the enclosed spconv calls on one torch thread when ``device`` is the CPU.

    spconv 2.3.x's CPU kernels scatter-add into shared output rows from several OpenMP
    threads without synchronisation: with more than one thread the forward (and the backward of
    submanifold convolutions) is wrong, irreproducibly. On 004139 our SECOND's BEV map differed
    between identical 2-thread runs by about 15 % of its maximum; on one thread it is exact.
    The thread count is restored on exit (also after an error). No-op on CUDA.
    """
    with torch_threads(1 if device.type == "cpu" else None):
        yield


def _block(
    spconv, c_in: int, c_out: int, stride: int, key: str, eps: float, padding=1
) -> nn.Module:
    if stride == 1:
        conv = spconv.SubMConv3d(c_in, c_out, 3, padding=1, bias=False, indice_key=key)
    else:
        conv = spconv.SparseConv3d(c_in, c_out, 3, stride=stride, padding=padding, bias=False)
    return spconv.SparseSequential(conv, nn.BatchNorm1d(c_out, eps=eps), nn.ReLU())


class SparseMiddleEncoder(nn.Module):
    """Sparse 3D convolutions over the occupied voxels, then height folded into channels.

    Stage 0 runs submanifold convolutions (output only at occupied voxels) at full resolution;
    each later stage starts with a stride-2 sparse convolution (kernel 3, padding 1) and
    continues with submanifold ones, as in SECOND's middle encoder. On the CPU the convolutions
    run on one thread (:func:`spconv_cpu_threads`).

    Args:
        grid: voxel grid; its (nz, ny, nx) is the input spatial shape.
        in_channels: voxel feature size.
        channels: width per stage.
        blocks: submanifold convolutions per stage (stage 0: all of them; later stages: the
            strided convolution plus ``blocks[i] - 1`` submanifold ones).
        norm_eps: batch-norm epsilon.
        extra_z_cell: one more z cell in the sparse shape than in the grid (OpenPCDet's
            ``VoxelBackBone8x``, mmdetection3d's ``SparseEncoder``).
        last_stage_padding_zyx: padding of the last stage's strided convolution.
        out_channels: width of a final (3, 1, 1)-kernel, (2, 1, 1)-stride sparse convolution
            (their ``conv_out``), or None for none.

    ``forward(voxel_features (V, C), coords (V, 4) [batch, z, y, x], batch_size)`` ->
    (B, C_out * D_out, H_out, W_out), channel ``c * D_out + z``.
    """

    def __init__(
        self,
        grid: VoxelGridConfig,
        in_channels: int = 4,
        channels: Sequence[int] = (16, 32, 64, 64),
        blocks: Sequence[int] = (1, 2, 2, 2),
        norm_eps: float = 1e-5,
        extra_z_cell: bool = False,
        last_stage_padding_zyx: Sequence[int] = (1, 1, 1),
        out_channels: int | None = None,
    ) -> None:
        super().__init__()
        spconv = _import_spconv()
        nx, ny, nz = grid.grid_size_xyz
        self.spatial_shape_zyx = [nz + int(extra_z_cell), ny, nx]
        stages = []
        c_prev = in_channels
        for i, (c, n) in enumerate(zip(channels, blocks)):
            layers = []
            pad = tuple(last_stage_padding_zyx) if i == len(channels) - 1 else 1
            for j in range(max(n, 1)):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(_block(spconv, c_prev, c, stride, f"subm{i}", norm_eps, pad))
                c_prev = c
            stages.append(spconv.SparseSequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.out_conv = None
        if out_channels is not None:
            self.out_conv = spconv.SparseSequential(
                spconv.SparseConv3d(
                    c_prev, out_channels, (3, 1, 1), stride=(2, 1, 1), padding=0, bias=False
                ),
                nn.BatchNorm1d(out_channels, eps=norm_eps),
                nn.ReLU(),
            )
        self.out_channels_3d = channels[-1] if out_channels is None else out_channels

    def forward_sparse(
        self, voxel_features: torch.Tensor, coords: torch.Tensor, batch_size: int
    ) -> list:
        """The sparse tensor after each stage (and after ``out_conv``, when there is one)."""
        x = _import_spconv().SparseConvTensor(
            voxel_features, coords.int(), self.spatial_shape_zyx, batch_size
        )
        outs = []
        with spconv_cpu_threads(voxel_features.device):
            for stage in self.stages:
                x = stage(x)
                outs.append(x)
            if self.out_conv is not None:
                outs.append(self.out_conv(x))
        return outs

    def forward(
        self, voxel_features: torch.Tensor, coords: torch.Tensor, batch_size: int
    ) -> torch.Tensor:
        x = self.forward_sparse(voxel_features, coords, batch_size)[-1]
        return sparse_to_bev(x.features, x.indices, batch_size, tuple(x.spatial_shape))


def sparse_to_bev(
    features: torch.Tensor, indices: torch.Tensor, batch_size: int, shape_zyx: tuple[int, ...]
) -> torch.Tensor:
    """Dense BEV map of sparse features: (N, C) at (N, 4) ``[batch, z, y, x]`` ->
    (B, C * D, H, W), channel index ``c * D + z``.

    Example:
        >>> f = torch.tensor([[1.0, 2.0]]); i = torch.tensor([[0, 1, 0, 2]])
        >>> sparse_to_bev(f, i, 1, (2, 1, 3))[0, :, 0, 2].tolist()
        [0.0, 1.0, 0.0, 2.0]
    """
    d, h, w = shape_zyx
    c = features.shape[1]
    dense = features.new_zeros(batch_size, d, h, w, c)
    idx = indices.long()
    dense[idx[:, 0], idx[:, 1], idx[:, 2], idx[:, 3]] = features
    # from (B, D, H, W, C) to (B, C, D, H, W) to (B, C * D, H, W)
    return dense.permute(0, 4, 1, 2, 3).reshape(batch_size, c * d, h, w)


class SecondEncoder(nn.Module):
    """Voxelized points -> BEV map: :class:`MeanVoxelEncoder` then
    :class:`SparseMiddleEncoder`. ``forward(points, num_points, coords, batch_size)`` ->
    (B, C, H, W)."""

    def __init__(self, voxel_encoder: MeanVoxelEncoder, middle: SparseMiddleEncoder) -> None:
        super().__init__()
        self.voxel_encoder = voxel_encoder
        self.middle = middle

    def forward(
        self,
        points: torch.Tensor,
        num_points: torch.Tensor,
        coords: torch.Tensor,
        batch_size: int,
    ) -> torch.Tensor:
        return self.middle(self.voxel_encoder(points, num_points), coords, batch_size)
