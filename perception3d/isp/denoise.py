"""Classical denoisers for the baseline ISP: bilateral (kornia, torch), non-local means
(scikit-image) and BM3D (the ``bm3d`` package, optional). Inputs are display-referred sRGB
``(B, 3, H, W)`` in [0, 1], where the gamma makes shot noise closer to uniform."""

from __future__ import annotations

from typing import Literal

import torch

DenoiseMethod = Literal["none", "bilateral", "nlmeans", "bm3d"]


def estimate_noise_sigma(image: torch.Tensor) -> torch.Tensor:
    """Per-image Gaussian noise std (B,) by the robust wavelet estimator of Donoho & Johnstone
    (median absolute finest-scale diagonal detail / 0.6745), averaged over channels.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = 0.5 + 0.05 * torch.randn(1, 3, 128, 128, generator=g)
        >>> abs(float(estimate_noise_sigma(x)[0]) - 0.05) < 0.005
        True
    """
    if image.dim() != 4:
        raise ValueError(f"image must be (B, C, H, W), got {tuple(image.shape)}")
    h, w = image.shape[-2:]
    x = image[..., : h // 2 * 2, : w // 2 * 2]
    # Haar diagonal detail: (a - b - c + d) / 2 over each 2 x 2 block
    hh = (x[..., ::2, ::2] - x[..., ::2, 1::2] - x[..., 1::2, ::2] + x[..., 1::2, 1::2]) / 2.0
    mad = hh.abs().flatten(2).median(dim=-1).values  # (B, C)
    return (mad / 0.6745).mean(dim=1)


def denoise_bilateral(
    srgb: torch.Tensor, sigma: torch.Tensor | float | None = None, kernel_size: int = 7
) -> torch.Tensor:
    """Bilateral filter (Tomasi & Manduchi 1998) with range sigma = 2.5 x noise sigma."""
    from kornia.filters import bilateral_blur

    if sigma is None:
        sigma = estimate_noise_sigma(srgb)
    s = torch.as_tensor(sigma, dtype=srgb.dtype).reshape(-1).expand(srgb.shape[0])
    out = [
        bilateral_blur(srgb[i : i + 1], kernel_size, float(2.5 * s[i]) + 1e-4, (2.0, 2.0))
        for i in range(srgb.shape[0])
    ]
    return torch.cat(out)


def denoise_nlmeans(srgb: torch.Tensor, sigma: torch.Tensor | float | None = None):
    """Non-local means (Buades et al. 2005; scikit-image, fast mode) with h = 0.8 sigma."""
    from skimage.restoration import denoise_nl_means

    if sigma is None:
        sigma = estimate_noise_sigma(srgb)
    s = torch.as_tensor(sigma, dtype=torch.float64).reshape(-1).expand(srgb.shape[0])
    out = []
    for i, img in enumerate(srgb.detach().cpu().double().numpy()):
        den = denoise_nl_means(
            img.transpose(1, 2, 0),
            h=0.8 * float(s[i]),
            sigma=float(s[i]),
            patch_size=5,
            patch_distance=6,
            fast_mode=True,
            channel_axis=-1,
        )
        out.append(torch.from_numpy(den.transpose(2, 0, 1).copy()))
    return torch.stack(out).to(srgb).clamp(0.0, 1.0)


def denoise_bm3d(srgb: torch.Tensor, sigma: torch.Tensor | float | None = None):
    """BM3D colour denoising (Dabov et al. 2007) via the ``bm3d`` package (slow: seconds per
    KITTI frame).

    Raises:
        MissingExtraError: ``bm3d`` is not installed: it is an opt-in extra (``pip install
            'perception3d[bm3d]'``), free for non-commercial use only (docs/licences.md).
    """
    try:
        import bm3d
    except ImportError as exc:
        from perception3d.errors import MissingExtraError

        raise MissingExtraError(
            "denoise method 'bm3d' needs the bm3d package, an opt-in extra free for "
            "non-commercial use only: pip install 'perception3d[bm3d]' if its licence fits "
            "(docs/licences.md), or use 'nlmeans' or 'bilateral'"
        ) from exc

    if sigma is None:
        sigma = estimate_noise_sigma(srgb)
    s = torch.as_tensor(sigma, dtype=torch.float64).reshape(-1).expand(srgb.shape[0])
    out = []
    for i, img in enumerate(srgb.detach().cpu().double().numpy()):
        den = bm3d.bm3d_rgb(img.transpose(1, 2, 0), float(s[i]))
        out.append(torch.from_numpy(den.transpose(2, 0, 1).copy()))
    return torch.stack(out).to(srgb).clamp(0.0, 1.0)


def denoise(srgb: torch.Tensor, method: DenoiseMethod = "nlmeans", sigma=None) -> torch.Tensor:
    """Dispatch to one of the denoisers (``"none"`` returns the input)."""
    if method == "none":
        return srgb
    if method == "bilateral":
        return denoise_bilateral(srgb, sigma)
    if method == "nlmeans":
        return denoise_nlmeans(srgb, sigma)
    if method == "bm3d":
        return denoise_bm3d(srgb, sigma)
    raise ValueError(f"denoise method must be none, bilateral, nlmeans or bm3d, got {method!r}")
