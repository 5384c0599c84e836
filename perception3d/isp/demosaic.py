"""Demosaicing of RGGB raw: bilinear, Malvar-He-Cutler 2004 (torch, differentiable) and Menon
2007 (through colour-demosaicing, numpy, optional reference).

Input ``raw`` is ``(B, 1, H, W)``; output ``(B, 3, H, W)`` in the raw's units. Borders use
reflect padding, which keeps the Bayer phase.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from perception3d.isp.bayer import _check_raw, bayer_masks

_BILINEAR_G = torch.tensor([[0.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 0.0]]) / 4.0
_BILINEAR_RB = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 4.0

# Malvar, He, Cutler, "High-quality linear interpolation for demosaicing of Bayer-patterned
# color images", ICASSP 2004, Fig. 2 (coefficients x 1/8): gradient-corrected bilinear.
_MHC = (
    torch.tensor(
        [
            # G at R and B sites
            [
                [0, 0, -2, 0, 0],
                [0, 0, 4, 0, 0],
                [-2, 4, 8, 4, -2],
                [0, 0, 4, 0, 0],
                [0, 0, -2, 0, 0],
            ],
            # R (B) at a G site whose row holds R (B): horizontal neighbours
            [
                [0, 0, 1, 0, 0],
                [0, -2, 0, -2, 0],
                [-2, 8, 10, 8, -2],
                [0, -2, 0, -2, 0],
                [0, 0, 1, 0, 0],
            ],
            # R (B) at a G site whose column holds R (B): vertical neighbours
            [
                [0, 0, -2, 0, 0],
                [0, -2, 8, -2, 0],
                [1, 0, 10, 0, 1],
                [0, -2, 8, -2, 0],
                [0, 0, -2, 0, 0],
            ],
            # R at B sites and B at R sites
            [
                [0, 0, -3, 0, 0],
                [0, 4, 0, 4, 0],
                [-3, 0, 12, 0, -3],
                [0, 4, 0, 4, 0],
                [0, 0, -3, 0, 0],
            ],
        ],
        dtype=torch.float32,
    )
    / 16.0
)  # written x 2 to keep integers: / 16 = x 1/8 of the paper's halves


def demosaic_bilinear(raw: torch.Tensor) -> torch.Tensor:
    """Bilinear demosaicing of RGGB ``raw`` (B, 1, H, W) -> (B, 3, H, W).

    Example:
        >>> demosaic_bilinear(torch.full((1, 1, 4, 4), 0.5)).unique().tolist()
        [0.5]
    """
    _check_raw(raw)
    h, w = raw.shape[-2:]
    masks = bayer_masks(h, w, raw.device, raw.dtype)
    planes = raw * masks[None]  # (B, 3, H, W), zeros where the colour was not sampled
    kernels = torch.stack([_BILINEAR_RB, _BILINEAR_G, _BILINEAR_RB]).to(raw)[:, None]
    return F.conv2d(F.pad(planes, (1, 1, 1, 1), mode="reflect"), kernels, groups=3)


def demosaic_malvar(raw: torch.Tensor) -> torch.Tensor:
    """Malvar-He-Cutler (2004) demosaicing of RGGB ``raw`` (B, 1, H, W) -> (B, 3, H, W)."""
    _check_raw(raw)
    h, w = raw.shape[-2:]
    if h < 3 or w < 3:
        raise ValueError(f"raw must be at least 3 x 3 for Malvar demosaicing, got {(h, w)}")
    est = F.conv2d(F.pad(raw, (2, 2, 2, 2), mode="reflect"), _MHC.to(raw)[:, None])
    g_rb, c_row, c_col, c_diag = est.unbind(1)  # each (B, H, W)
    x = raw[:, 0]
    rows = (torch.arange(h, device=raw.device) % 2)[:, None]
    cols = (torch.arange(w, device=raw.device) % 2)[None, :]
    r_site = (rows == 0) & (cols == 0)
    b_site = (rows == 1) & (cols == 1)
    g_rrow = (rows == 0) & (cols == 1)  # green in a red row
    g_brow = (rows == 1) & (cols == 0)  # green in a blue row
    red = torch.where(r_site, x, torch.where(b_site, c_diag, torch.where(g_rrow, c_row, c_col)))
    blue = torch.where(b_site, x, torch.where(r_site, c_diag, torch.where(g_brow, c_row, c_col)))
    green = torch.where(r_site | b_site, g_rb, x)
    return torch.stack([red, green, blue], dim=1)


def demosaic_menon(raw: torch.Tensor) -> torch.Tensor:
    """Menon et al. 2007 (DDFAPD) demosaicing via ``colour-demosaicing`` (numpy, not
    differentiable; the ``isp`` extra). (B, 1, H, W) -> (B, 3, H, W)."""
    _check_raw(raw)
    import numpy as np

    options = np.get_printoptions()
    try:
        from colour_demosaicing import demosaicing_CFA_Bayer_Menon2007
    except ImportError as exc:  # pragma: no cover - the isp extra is installed in CI
        raise ImportError("demosaic_menon needs colour-demosaicing (pip install .[isp])") from exc
    finally:
        np.set_printoptions(**options)  # importing colour sets numpy's legacy="1.13" printing
    out = []
    for frame in raw[:, 0].detach().cpu().double().numpy():
        rgb = demosaicing_CFA_Bayer_Menon2007(frame, pattern="RGGB")  # (H, W, 3)
        out.append(torch.from_numpy(rgb).permute(2, 0, 1))
    return torch.stack(out).to(raw)


def demosaic(raw: torch.Tensor, method: str = "malvar") -> torch.Tensor:
    """Demosaic with ``method`` in ``{"bilinear", "malvar", "menon"}``."""
    if method == "bilinear":
        return demosaic_bilinear(raw)
    if method == "malvar":
        return demosaic_malvar(raw)
    if method == "menon":
        return demosaic_menon(raw)
    raise ValueError(f"demosaic method must be bilinear, malvar or menon, got {method!r}")
