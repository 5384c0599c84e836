"""Photometric and optical domain randomization of sRGB training images (the camera networks'
sim-to-real augmentation).

The synthetic camera (``perception3d/sim/tonemap.py``) is one fixed, noiseless, perfectly sharp
camera; real KITTI frames come from another (Point Grey Flea2, Sony ICX267 CCD) with its own
exposure, white balance, tone curve, noise, lens blur, vignetting and compression. Domain
randomization (Tobin et al., IROS 2017; Tremblay et al., CVPR Workshops 2018) draws each
training image through a random camera so that the network cannot lean on one camera's
signature. :func:`augment_image` applies, each with its own probability and range
(:class:`ImageAugmentConfig`):

1. back to (approximately) linear light: ``x ** 2.2``;
2. exposure gain (log-uniform) and white-balance gains on red and blue;
3. a smooth multiplicative random field (a few octaves of bilinearly upsampled noise): uneven
   illumination, dirt, and surface texture that the flat-shaded renders lack;
4. vignetting ``1 - v r^2`` (r: distance from the centre over the half-diagonal);
5. Poisson-Gaussian sensor noise ``sigma^2 = a x + b`` on the linear values (shot and read
   noise, independent per pixel and channel);
6. a random camera response: gamma ``x ** (1 / g)`` blended with a smoothstep S-curve, then
   contrast about mid-grey and saturation about the luma;
7. optics: Gaussian blur (defocus and lens softness), lateral chromatic aberration (red and
   blue channels scaled about the image centre by ``1 +- c``), resolution loss (down- then
   up-sampling);
8. JPEG compression at a random quality (8 x 8 block and ringing artefacts).

Everything draws from the caller's ``numpy.random.Generator`` in a fixed order, so the same
generator state gives the same bytes. Images are (3, H, W) float32 sRGB in [0, 1].

Example:
    >>> img = np.full((3, 16, 24), 0.5, np.float32)
    >>> out = augment_image(img, ImageAugmentConfig(), np.random.default_rng(0))
    >>> out.shape, out.dtype, bool(out.min() >= 0 and out.max() <= 1)
    ((3, 16, 24), dtype('float32'), True)
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["ImageAugmentConfig", "augment_image"]

_LUMA = np.array([0.299, 0.587, 0.114], np.float32).reshape(3, 1, 1)


def _pair(name: str, pair: tuple[float, float], lo: float, hi: float = np.inf) -> None:
    if not lo <= pair[0] <= pair[1] <= hi:
        raise ValueError(f"{name} must be an increasing pair within [{lo}, {hi}], got {pair}")


@dataclass(frozen=True)
class ImageAugmentConfig:
    """``augment:`` of the camera networks (see the module docstring for the order).

    Attributes:
        enabled: apply the randomization at all (False: only the task's own flip/crop and
            gain/gamma jitter).
        exposure_range: exposure gain on linear values, drawn log-uniformly.
        white_balance_range: red and blue gains (each drawn independently, log-uniformly).
        texture_probability, texture_strength: probability of the smooth random field and its
            maximum relative amplitude.
        vignetting_probability, vignetting_range: probability and strength ``v`` at the corners.
        noise_probability: probability of sensor noise.
        shot_noise_range, read_noise_range: ``a`` and ``b`` of ``sigma^2 = a x + b`` (x linear
            in [0, 1]), drawn log-uniformly.
        gamma_range: display gamma ``g`` of the random camera response.
        s_curve_range: blend weight of the smoothstep S-curve.
        contrast_range, saturation_range: factors about mid-grey / about the luma.
        blur_probability, blur_sigma_range: probability and sigma (pixels) of a Gaussian blur.
        chromatic_probability, chromatic_range: probability and relative scale ``c`` of the
            red/blue channels' lateral aberration.
        downscale_probability, downscale_range: probability and factor of the down/up-sampling.
        jpeg_probability, jpeg_quality_range: probability and quality of JPEG compression.
    """

    enabled: bool = True
    exposure_range: tuple[float, float] = (0.5, 2.0)
    white_balance_range: tuple[float, float] = (0.8, 1.25)
    texture_probability: float = 0.5
    texture_strength: float = 0.25
    vignetting_probability: float = 0.5
    vignetting_range: tuple[float, float] = (0.0, 0.4)
    noise_probability: float = 0.7
    shot_noise_range: tuple[float, float] = (1e-4, 4e-3)
    read_noise_range: tuple[float, float] = (1e-7, 1e-4)
    gamma_range: tuple[float, float] = (1.8, 2.6)
    s_curve_range: tuple[float, float] = (0.0, 1.0)
    contrast_range: tuple[float, float] = (0.7, 1.3)
    saturation_range: tuple[float, float] = (0.5, 1.3)
    blur_probability: float = 0.5
    blur_sigma_range: tuple[float, float] = (0.3, 1.2)
    chromatic_probability: float = 0.3
    chromatic_range: tuple[float, float] = (0.0, 0.003)
    downscale_probability: float = 0.3
    downscale_range: tuple[float, float] = (0.5, 0.9)
    jpeg_probability: float = 0.4
    jpeg_quality_range: tuple[int, int] = (30, 95)

    def __post_init__(self) -> None:
        for name in ("exposure_range", "white_balance_range", "gamma_range", "contrast_range",
                     "shot_noise_range", "read_noise_range"):  # fmt: skip
            _pair(name, getattr(self, name), 1e-12)
        for name in ("vignetting_range", "s_curve_range", "saturation_range",
                     "blur_sigma_range", "chromatic_range"):  # fmt: skip
            _pair(name, getattr(self, name), 0.0)
        _pair("downscale_range", self.downscale_range, 0.05, 1.0)
        _pair("jpeg_quality_range", self.jpeg_quality_range, 1, 100)
        for name in ("texture_probability", "vignetting_probability", "noise_probability",
                     "blur_probability", "chromatic_probability", "downscale_probability",
                     "jpeg_probability"):  # fmt: skip
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


def _log_uniform(rng: np.random.Generator, pair, size=None):
    return np.exp(rng.uniform(np.log(pair[0]), np.log(pair[1]), size))


def _smooth_field(rng: np.random.Generator, hw: tuple[int, int], strength: float) -> np.ndarray:
    """(1, H, W) float32 multiplicative field ``1 + strength * sum of octaves``, each octave
    bilinearly upsampled uniform noise on a coarser grid (cells of 64, 16 and 4 px)."""
    h, w = hw
    total = np.zeros((h, w), np.float32)
    for cell, weight in ((64, 0.5), (16, 0.3), (4, 0.2)):
        grid = rng.uniform(-1, 1, (1, 1, h // cell + 2, w // cell + 2)).astype(np.float32)
        up = F.interpolate(torch.from_numpy(grid), size=(h, w), mode="bilinear",
                           align_corners=False)  # fmt: skip
        total += weight * up[0, 0].numpy()
    return (1.0 + strength * rng.uniform(0, 1) * total)[None]


def _vignetting(hw: tuple[int, int], strength: float) -> np.ndarray:
    h, w = hw
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((yy - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2) / (
        ((h - 1) / 2) ** 2 + ((w - 1) / 2) ** 2 + 1e-6
    )
    return (1.0 - strength * r2)[None].astype(np.float32)


def _gaussian_blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    """(3, H, W) separable Gaussian blur with reflect padding."""
    radius = max(1, int(np.ceil(2.5 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-(x**2) / (2 * sigma**2))
    k = (k / k.sum()).to(img.dtype)
    y = F.pad(img[None], (radius, radius, radius, radius), mode="reflect")
    y = F.conv2d(y, k.view(1, 1, 1, -1).expand(3, 1, 1, -1), groups=3)
    y = F.conv2d(y, k.view(1, 1, -1, 1).expand(3, 1, -1, 1), groups=3)
    return y[0]


def _chromatic(img: torch.Tensor, c: float) -> torch.Tensor:
    """Scale the red channel by ``1 + c`` and the blue one by ``1 - c`` about the centre."""
    out = img.clone()
    for ch, scale in ((0, 1.0 + c), (2, 1.0 - c)):
        theta = torch.tensor([[[1.0 / scale, 0, 0], [0, 1.0 / scale, 0]]], dtype=img.dtype)
        grid = F.affine_grid(theta, [1, 1, *img.shape[1:]], align_corners=False)
        out[ch] = F.grid_sample(img[None, ch : ch + 1], grid, mode="bilinear",
                                padding_mode="border", align_corners=False)[0, 0]  # fmt: skip
    return out


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    u8 = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"), np.float32).transpose(2, 0, 1) / 255.0


def augment_image(
    image_srgb: np.ndarray, cfg: ImageAugmentConfig, rng: np.random.Generator
) -> np.ndarray:
    """One random camera applied to ``image_srgb`` (3, H, W) float32 sRGB in [0, 1].

    Returns:
        (3, H, W) float32 sRGB in [0, 1] (the input itself when ``cfg.enabled`` is False).

    Raises:
        ValueError: the image is not (3, H, W).
    """
    if image_srgb.ndim != 3 or image_srgb.shape[0] != 3:
        raise ValueError(f"image_srgb must be (3, H, W), got {image_srgb.shape}")
    if not cfg.enabled:
        return image_srgb
    hw = image_srgb.shape[1:]
    # Every draw happens whatever the branch, so one option never shifts the others' draws.
    exposure = _log_uniform(rng, cfg.exposure_range)
    wb = _log_uniform(rng, cfg.white_balance_range, 2)
    use = rng.uniform(0, 1, 7) < [cfg.texture_probability, cfg.vignetting_probability,
                                  cfg.noise_probability, cfg.blur_probability,
                                  cfg.chromatic_probability, cfg.downscale_probability,
                                  cfg.jpeg_probability]  # fmt: skip
    vignette = rng.uniform(*cfg.vignetting_range)
    shot, read = _log_uniform(rng, cfg.shot_noise_range), _log_uniform(rng, cfg.read_noise_range)
    gamma, s_curve = rng.uniform(*cfg.gamma_range), rng.uniform(*cfg.s_curve_range)
    contrast, saturation = rng.uniform(*cfg.contrast_range), rng.uniform(*cfg.saturation_range)
    sigma, chroma = rng.uniform(*cfg.blur_sigma_range), rng.uniform(*cfg.chromatic_range)
    down = rng.uniform(*cfg.downscale_range)
    quality = int(rng.integers(cfg.jpeg_quality_range[0], cfg.jpeg_quality_range[1] + 1))

    lin = np.clip(image_srgb, 0, 1).astype(np.float32) ** 2.2  # (3, H, W) ~linear
    gains = np.array([wb[0], 1.0, wb[1]], np.float32).reshape(3, 1, 1) * np.float32(exposure)
    lin = lin * gains
    if use[0]:
        lin = lin * _smooth_field(rng, hw, cfg.texture_strength)
    if use[1]:
        lin = lin * _vignetting(hw, vignette)
    if use[2]:
        lin = np.clip(lin, 0, 1)
        std = np.sqrt(shot * lin + read).astype(np.float32)
        lin = lin + std * rng.standard_normal(lin.shape, dtype=np.float32)
    x = np.clip(lin, 0, 1) ** np.float32(1.0 / gamma)  # camera response: gamma ...
    x = (1 - s_curve) * x + s_curve * x * x * (3 - 2 * x)  # ... blended with an S-curve
    x = 0.5 + contrast * (x - 0.5)
    luma = (x * _LUMA).sum(0, keepdims=True)
    x = np.clip(luma + saturation * (x - luma), 0, 1).astype(np.float32)
    t = torch.from_numpy(np.ascontiguousarray(x))
    if use[3]:
        t = _gaussian_blur(t, sigma)
    if use[4]:
        t = _chromatic(t, chroma)
    if use[5]:
        small = (max(1, round(hw[0] * down)), max(1, round(hw[1] * down)))
        t = F.interpolate(t[None], size=small, mode="bilinear", antialias=True)
        t = F.interpolate(t, size=tuple(hw), mode="bilinear", align_corners=False)[0]
    x = t.clamp(0, 1).numpy()
    if use[6]:
        x = _jpeg(x, quality)
    return np.ascontiguousarray(x, dtype=np.float32)
