"""Dark-channel-prior dehazing (He, Sun, Tang, CVPR 2009 / TPAMI 2011) with guided-filter
refinement of the transmission (He, Sun, Tang, ECCV 2010; kornia's ``guided_blur``).

Works on linear images ``(B, 3, H, W)``, where the scattering model ``I = J t + A (1 - t)``
holds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from perception3d.isp.color import luminance


def dark_channel(image: torch.Tensor, patch: int = 15) -> torch.Tensor:
    """Minimum over colour channels and a ``patch`` x ``patch`` window, (B, 1, H, W).

    Example:
        >>> x = torch.ones(1, 3, 5, 5); x[0, 1, 2, 2] = 0.25
        >>> float(dark_channel(x, 3)[0, 0, 1, 1]), float(dark_channel(x, 3)[0, 0, 0, 0])
        (0.25, 1.0)
    """
    if image.dim() != 4 or image.shape[1] != 3:
        raise ValueError(f"image must be (B, 3, H, W), got {tuple(image.shape)}")
    if patch < 1 or patch % 2 == 0:
        raise ValueError(f"patch must be a positive odd number, got {patch}")
    m = image.min(dim=1, keepdim=True).values
    r = patch // 2
    return -F.max_pool2d(F.pad(-m, (r, r, r, r), mode="replicate"), patch, stride=1)


def estimate_airlight(image: torch.Tensor, dark: torch.Tensor, top: float = 0.001):
    """Atmospheric light (B, 3): mean colour of the ``top`` fraction of pixels with the
    brightest dark channel (He et al. pick the most haze-opaque region)."""
    b = image.shape[0]
    flat_dark = dark.reshape(b, -1)
    k = max(1, int(top * flat_dark.shape[1]))
    idx = flat_dark.topk(k, dim=1).indices  # (B, k)
    flat = image.reshape(b, 3, -1)
    return torch.gather(flat, 2, idx[:, None].expand(b, 3, k)).mean(-1)


def dehaze_dcp(
    linear: torch.Tensor,
    patch: int = 15,
    omega: float = 0.95,
    t_min: float = 0.1,
    guide_radius: int = 30,
    guide_eps: float = 1e-3,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Recover the haze-free image from ``linear`` (B, 3, H, W).

    Returns:
        (dehazed (B, 3, H, W), transmission (B, 1, H, W), airlight (B, 3)).
    """
    from kornia.filters import guided_blur

    a = estimate_airlight(linear, dark_channel(linear, patch)).clamp_min(1e-6)
    normalized = linear / a[:, :, None, None]
    t = 1.0 - omega * dark_channel(normalized, patch)
    guide = luminance(linear)
    guide = guide / guide.flatten(1).amax(1).clamp_min(1e-6)[:, None, None, None]
    k = 2 * guide_radius + 1
    t = guided_blur(guide, t, k, guide_eps).clamp(t_min, 1.0)
    aa = a[:, :, None, None]
    return ((linear - aa) / t + aa).clamp_min(0.0), t, a
