"""Bayer RGGB colour filter array: mosaic, channel masks, packing to four half-size planes.

Layout (row, column) of the 2 x 2 tile: (0, 0) R, (0, 1) G, (1, 0) G, (1, 1) B. Raw images are
``(B, 1, H, W)``; packed raw is ``(B, 4, H/2, W/2)`` with planes ordered R, Gr, Gb, B.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PATTERN = "RGGB"
# colour index (0 R, 1 G, 2 B) of the tile positions (0,0), (0,1), (1,0), (1,1)
TILE_COLORS = (0, 1, 1, 2)


def _check_raw(raw: torch.Tensor) -> None:
    if not isinstance(raw, torch.Tensor):
        raise TypeError(f"raw must be a torch.Tensor, got {type(raw).__name__}")
    if raw.dim() != 4 or raw.shape[1] != 1:
        raise ValueError(f"raw must be (B, 1, H, W), got {tuple(raw.shape)}")


def bayer_masks(height: int, width: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """(3, H, W) 0/1 masks of the R, G and B sites of an RGGB mosaic.

    Example:
        >>> bayer_masks(2, 2)[:, 0, 0].tolist(), bayer_masks(2, 2)[2, 1, 1].item()
        ([1.0, 0.0, 0.0], 1.0)
    """
    rows = torch.arange(height, device=device) % 2
    cols = torch.arange(width, device=device) % 2
    r = (rows[:, None] == 0) & (cols[None, :] == 0)
    b = (rows[:, None] == 1) & (cols[None, :] == 1)
    g = ~(r | b)
    return torch.stack([r, g, b]).to(dtype)


def mosaic(rgb: torch.Tensor) -> torch.Tensor:
    """RGGB mosaic ``(B, 1, H, W)`` of ``rgb`` ``(B, 3, H, W)``: each pixel keeps one colour."""
    if rgb.dim() != 4 or rgb.shape[1] != 3:
        raise ValueError(f"rgb must be (B, 3, H, W), got {tuple(rgb.shape)}")
    masks = bayer_masks(rgb.shape[2], rgb.shape[3], rgb.device, rgb.dtype)
    return (rgb * masks).sum(dim=1, keepdim=True)


def cfa_gains(gains_rgb: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Per-pixel map ``(B, 1, H, W)`` of per-colour ``gains_rgb`` ``(B, 3)`` on the mosaic."""
    if gains_rgb.dim() != 2 or gains_rgb.shape[1] != 3:
        raise ValueError(f"gains_rgb must be (B, 3), got {tuple(gains_rgb.shape)}")
    masks = bayer_masks(height, width, gains_rgb.device, gains_rgb.dtype)
    return torch.einsum("bc,chw->bhw", gains_rgb, masks)[:, None]


def pack(raw: torch.Tensor) -> torch.Tensor:
    """Pack ``(B, 1, H, W)`` (H, W even) into ``(B, 4, H/2, W/2)`` planes R, Gr, Gb, B.

    Example:
        >>> pack(torch.arange(16.).view(1, 1, 4, 4))[0, :, 0, 0].tolist()
        [0.0, 1.0, 4.0, 5.0]
    """
    _check_raw(raw)
    b, _, h, w = raw.shape
    if h % 2 or w % 2:
        raise ValueError(f"raw height and width must be even to pack, got {(h, w)}")
    # from (B, 1, H, W) to (B, H/2, 2, W/2, 2) to (B, 2, 2, H/2, W/2) to (B, 4, H/2, W/2)
    x = raw.view(b, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3)
    return x.reshape(b, 4, h // 2, w // 2)


def unpack(packed: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`pack`: ``(B, 4, h, w)`` -> ``(B, 1, 2h, 2w)``."""
    if packed.dim() != 4 or packed.shape[1] != 4:
        raise ValueError(f"packed must be (B, 4, h, w), got {tuple(packed.shape)}")
    b, _, h, w = packed.shape
    # from (B, 4, h, w) to (B, 2, 2, h, w) to (B, h, 2, w, 2) to (B, 1, 2h, 2w)
    x = packed.view(b, 2, 2, h, w).permute(0, 3, 1, 4, 2)
    return x.reshape(b, 1, 2 * h, 2 * w)


def pad_to_even(raw: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad an odd-sized mosaic to even size keeping the RGGB phase (the added row/column copies
    the one two before it). Returns the padded raw and the original (H, W)."""
    _check_raw(raw)
    h, w = raw.shape[-2:]
    out = raw
    if h % 2:
        out = torch.cat([out, out[:, :, -2:-1]], dim=2)
    if w % 2:
        out = torch.cat([out, out[:, :, :, -2:-1]], dim=3)
    return out, (h, w)


def pad_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Replicate-pad ``(B, C, H, W)`` at the bottom/right to multiples of ``multiple``."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x, (h, w)
