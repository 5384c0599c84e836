"""Optical flow for temporal ISP stages: warping an image by a flow field, inverting the drives'
forward flow into a backward one, and the temporal warping error.

Flows are ``(B, 2, H, W)`` float32 (du, dv) in pixels on the grid they are defined on. A
*forward* flow ``F`` of frame k (the synthetic drives' ``flow_02``, :mod:`perception3d.sim.drive`)
sends pixel p of frame k to ``p + F(p)`` in frame k+1; a *backward* flow ``G`` of frame k+1
sends its pixel q to ``q + G(q)`` in frame k, which is what a causal filter needs to bring its
previous output onto the current frame (:func:`warp`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _grid(flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sampling positions ``(x + du, y + dv)`` (B, H, W) each, pixels."""
    _, _, h, w = flow.shape
    ys = torch.arange(h, dtype=flow.dtype, device=flow.device).view(1, h, 1)
    xs = torch.arange(w, dtype=flow.dtype, device=flow.device).view(1, 1, w)
    return xs + flow[:, 0], ys + flow[:, 1]


def warp(image: torch.Tensor, flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``image`` (B, C, H, W) sampled bilinearly at ``p + flow(p)`` for every pixel p of the
    flow's grid (B, 2, H', W'): ``out(p) = image(p + flow(p))``.

    Returns:
        warped (B, C, H', W') (0 outside ``image``) and ``inside`` (B, 1, H', W') float, 1 where
        the sampling position lies within the image (pixel centres 0 .. W-1, 0 .. H-1).

    Example:
        >>> img = torch.arange(12.0).view(1, 1, 3, 4)
        >>> flow = torch.zeros(1, 2, 3, 4); flow[:, 0] = 1.0  # read the right neighbour
        >>> out, inside = warp(img, flow)
        >>> out[0, 0, 0].tolist(), inside[0, 0, 0].tolist()
        ([1.0, 2.0, 3.0, 0.0], [1.0, 1.0, 1.0, 0.0])
    """
    if image.dim() != 4 or flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(f"image (B, C, H, W) and flow (B, 2, H, W), got {tuple(image.shape)} "
                         f"and {tuple(flow.shape)}")  # fmt: skip
    h, w = image.shape[-2:]
    x, y = _grid(flow)
    inside = ((x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)).to(image.dtype)[:, None]
    grid = torch.stack([2 * x / max(w - 1, 1) - 1, 2 * y / max(h - 1, 1) - 1], dim=-1)
    out = F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return out * inside, inside


def invert_flow(
    forward: torch.Tensor, iterations: int = 12, tolerance_px: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor]:
    """Backward flow of frame k+1 from the forward flow of frame k, by the fixed point
    ``G(q) = -F(q + G(q))`` (starting at ``-F(q)``; converges where the flow's local
    expansion is below 1 px per px, as driving gives everywhere but at occlusion edges).

    Args:
        forward: (B, 2, H, W) forward flow F of frame k.
        iterations: fixed-point iterations.
        tolerance_px: consistency ``|q + G(q) + F(q + G(q)) - q|`` required of a valid pixel.

    Returns:
        backward flow G (B, 2, H, W) on frame k+1's grid and ``valid`` (B, 1, H, W) float: the
        source lies inside frame k and the round trip closes within ``tolerance_px``.
        Occlusions are not tested here (:func:`source_visible`).

    Example:
        >>> fwd = torch.zeros(1, 2, 4, 6); fwd[:, 0] = 2.0  # everything moves 2 px right
        >>> g, ok = invert_flow(fwd)
        >>> g[0, 0, 0].tolist(), ok[0, 0, 0].tolist()
        ([-2.0, -2.0, -2.0, -2.0, -2.0, -2.0], [0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    """
    g = -forward
    for _ in range(iterations):
        f_at, inside = warp(forward, g)
        g = torch.where(inside > 0, -f_at, g)
    f_at, inside = warp(forward, g)
    residual = (g + f_at).norm(dim=1, keepdim=True)
    return g, inside * (residual <= tolerance_px).to(forward.dtype)


def source_visible(
    backward: torch.Tensor,
    depth_next: torch.Tensor,
    forward_depth: torch.Tensor,
    rel_tol: float = 0.03,
    abs_tol_m: float = 0.1,
) -> torch.Tensor:
    """Occlusion test of a backward flow by depth: pixel q of frame k+1 is valid where the
    point its source carries into frame k+1 (``forward_depth``, the drives' third flow channel,
    sampled at ``q + G(q)``) has q's own depth (``depth_next``) within ``abs_tol_m`` plus
    ``rel_tol`` of it; sky (inf) matches sky.

    Args:
        backward: (B, 2, H, W) backward flow of frame k+1.
        depth_next: (B, 1, H, W) frame k+1's depth, metres (inf: sky).
        forward_depth: (B, 1, H, W) frame k's points' depth in frame k+1's camera (inf: sky).

    Returns:
        (B, 1, H, W) float, 1 where visible.
    """
    finite = torch.isfinite(forward_depth)
    sky_src, _ = warp((~finite).to(backward.dtype), backward)
    depth_src, _ = warp(torch.where(finite, forward_depth, 0.0), backward)
    sky_next = ~torch.isfinite(depth_next)
    close = (depth_src - depth_next).abs() <= abs_tol_m + rel_tol * depth_next
    both_sky = sky_next & (sky_src > 0.999)
    return (both_sky | (~sky_next & (sky_src < 1e-3) & close)).to(backward.dtype)


def warping_error(
    outputs: torch.Tensor, forward: torch.Tensor, visible: torch.Tensor
) -> torch.Tensor:
    """Temporal warping error of an output sequence under the ground-truth flow (Lai et al.,
    "Learning blind video temporal consistency", ECCV 2018): per consecutive pair, the mean
    over the non-occluded pixels p of frame k of ``||O_{k+1}(p + F(p)) - O_k(p)||^2`` (squared
    norm over the channels).

    Args:
        outputs: (T, C, H, W) frames, e.g. sRGB in [0, 1].
        forward: (T-1, 2, H, W) forward flow of frames 0 .. T-2.
        visible: (T-1, 1, H, W) 1 where p is seen in frame k+1 (e.g.
            :func:`perception3d.geometry.flow.flow_visible`).

    Returns:
        (T-1,) error per pair (a static scene with identical outputs gives 0).

    Example:
        >>> still = torch.rand(1, 3, 8, 8).expand(3, -1, -1, -1)  # a static scene, 3 frames
        >>> flow, vis = torch.zeros(2, 2, 8, 8), torch.ones(2, 1, 8, 8)
        >>> [round(e, 9) for e in warping_error(still, flow, vis).tolist()]
        [0.0, 0.0]
    """
    if len(outputs) != len(forward) + 1 or len(forward) != len(visible):
        raise ValueError(f"{len(outputs)} outputs need {len(outputs) - 1} flows and masks, "
                         f"got {len(forward)} and {len(visible)}")  # fmt: skip
    nxt, inside = warp(outputs[1:], forward)
    mask = visible * inside
    err = (nxt - outputs[:-1]).pow(2).sum(dim=1, keepdim=True) * mask
    return err.flatten(1).sum(1) / mask.flatten(1).sum(1).clamp_min(1.0)
