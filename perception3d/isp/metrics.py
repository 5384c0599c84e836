"""Image-quality metrics: PSNR, SSIM, MS-SSIM (on sRGB in [0, 1]) and the HDR metrics
mu-law PSNR / SSIM and log PSNR. Each returns one value per image, shape (B,)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from perception3d.isp.color import mu_law

# Wang, Simoncelli, Bovik, "Multi-scale structural similarity", 2003: scale weights.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(
            f"images must be two (B, C, H, W) tensors of one shape, got "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image.

    Example:
        >>> round(float(psnr(torch.zeros(1, 1, 2, 2), torch.full((1, 1, 2, 2), 0.1))), 2)
        20.0
    """
    _check_pair(x, y)
    mse = (x - y).pow(2).flatten(1).mean(1)
    return 10.0 * torch.log10(data_range**2 / mse.clamp_min(1e-20))


def _gaussian_window(size: int, sigma: float, device, dtype) -> torch.Tensor:
    r = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    return g / g.sum()


def _ssim_terms(x, y, data_range, size=11, sigma=1.5):
    """Mean SSIM and mean contrast-structure term per image ('valid' Gaussian windows, as
    Wang et al. 2004 and scikit-image with gaussian_weights=True)."""
    c = x.shape[1]
    g = _gaussian_window(size, sigma, x.device, x.dtype)
    gx = g.view(1, 1, 1, size).expand(5 * c, 1, 1, size)
    gy = g.view(1, 1, size, 1).expand(5 * c, 1, size, 1)
    # the five maps blurred in one grouped convolution: from 5 x (B, C, H, W) to (B, 5 C, H, W)
    maps = torch.cat([x, y, x * x, y * y, x * y], dim=1)
    blurred = F.conv2d(F.conv2d(maps, gx, groups=5 * c), gy, groups=5 * c)
    mx, my, exx, eyy, exy = blurred.chunk(5, dim=1)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    sxx = exx - mx**2
    syy = eyy - my**2
    sxy = exy - mx * my
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    lum = (2 * mx * my + c1) / (mx**2 + my**2 + c1)
    return (lum * cs).flatten(1).mean(1), cs.flatten(1).mean(1)


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004; 11 x 11 Gaussian window, sigma 1.5), mean over
    channels and valid pixels, per image."""
    _check_pair(x, y)
    if min(x.shape[-2:]) < 11:
        raise ValueError(f"SSIM needs images of at least 11 x 11, got {tuple(x.shape[-2:])}")
    return _ssim_terms(x, y, data_range)[0]


def ms_ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, scales: int | None = None):
    """Multi-scale SSIM (Wang et al. 2003) per image; ``scales`` defaults to as many of the
    five as the image size allows (each scale halves it; 11 px needed at the coarsest)."""
    _check_pair(x, y)
    max_scales = 1
    while max_scales < 5 and min(x.shape[-2:]) // 2**max_scales >= 11:
        max_scales += 1
    n = max_scales if scales is None else scales
    if n > max_scales or n < 1:
        raise ValueError(f"{n} scales need images of {11 * 2 ** (n - 1)} px, got {x.shape[-2:]}")
    w = torch.tensor(MS_SSIM_WEIGHTS[:n], device=x.device, dtype=x.dtype)
    w = w / w.sum()
    out = torch.ones(x.shape[0], device=x.device, dtype=x.dtype)
    for i in range(n):
        s, cs = _ssim_terms(x, y, data_range)
        term = s if i == n - 1 else cs
        out = out * term.clamp_min(1e-6) ** w[i]
        if i < n - 1:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    return out


def hdr_normalizer(reference_hdr: torch.Tensor) -> torch.Tensor:
    """(B, 1, 1, 1) scale that maps each reference HDR image's maximum to 1."""
    return reference_hdr.flatten(1).amax(1).clamp_min(1e-8).view(-1, 1, 1, 1)


def mu_psnr(pred_hdr: torch.Tensor, reference_hdr: torch.Tensor, mu: float = 5000.0):
    """PSNR of mu-law tone-mapped HDR images, both divided by the reference's maximum
    (the usual HDR-reconstruction protocol, Kalantari and Ramamoorthi 2017)."""
    n = hdr_normalizer(reference_hdr)
    return psnr(mu_law((pred_hdr / n).clamp(0, 1), mu), mu_law(reference_hdr / n, mu))


def mu_ssim(pred_hdr: torch.Tensor, reference_hdr: torch.Tensor, mu: float = 5000.0):
    """SSIM of the mu-law tone-mapped images of :func:`mu_psnr`."""
    n = hdr_normalizer(reference_hdr)
    return ssim(mu_law((pred_hdr / n).clamp(0, 1), mu), mu_law(reference_hdr / n, mu))


def log_psnr(pred_hdr: torch.Tensor, reference_hdr: torch.Tensor, eps: float = 1e-4):
    """PSNR of log10 radiance, with the reference's log range as the peak (a stand-in for
    PU-PSNR, which needs absolute luminance)."""
    lp = torch.log10(pred_hdr.clamp_min(0) + eps)
    lr = torch.log10(reference_hdr.clamp_min(0) + eps)
    rng = (lr.flatten(1).amax(1) - lr.flatten(1).amin(1)).clamp_min(1e-6)
    mse = (lp - lr).pow(2).flatten(1).mean(1)
    return 10.0 * torch.log10(rng**2 / mse.clamp_min(1e-20))
