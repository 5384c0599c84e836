"""Compact learned ISP stages (each runs a KITTI frame on a CPU in tens of milliseconds).

- :class:`RawUNet`: joint denoise + demosaic, packed Bayer raw + noise map -> linear camera RGB
  (a small U-Net as in Chen et al., "Learning to See in the Dark", CVPR 2018; residual over a
  bilinear demosaic; noise-level input as in Brooks et al. 2019).
- :class:`HdrNet`: single-image HDR: learned inverse camera response (a per-image gamma) and
  restoration of clipped highlights with masked features (Santos, Ren, Kalantari, "Single image
  HDR reconstruction using a CNN with masked features and perceptual loss", SIGGRAPH 2020).
- :class:`DehazeNet`: a local affine map (or transmission and airlight) that undoes
  ``I = J t + A (1 - t)``, predicted at quarter resolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from perception3d.isp.bayer import pack, pad_multiple, pad_to_even
from perception3d.isp.color import srgb_to_linear
from perception3d.isp.crf import CrfEstimator
from perception3d.isp.demosaic import demosaic_bilinear
from perception3d.isp.guided import guided_upsample


def set_precision(model: nn.Module, precision: str) -> nn.Module:
    """Run ``model``'s convolutions in ``precision`` (``float32`` or ``bfloat16``, by autocast
    inside its forward; colour response, guided filter and residual additions stay float32).
    On a CPU with AVX512-BF16 it halved the raw U-Net's convolution time and took the full
    learned ISP about 15 % faster (docs/isp.md, with its image-quality cost). Returns
    ``model``."""
    if precision not in ("float32", "bfloat16"):
        raise ValueError(f"precision must be float32 or bfloat16, got {precision!r}")
    model.bf16 = precision == "bfloat16"
    return model


def _low_precision(module: nn.Module, x: torch.Tensor):
    """Autocast context of ``module``'s convolutions (bfloat16 when set by set_precision)."""
    enabled = getattr(module, "bf16", False)
    return torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=enabled)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2, inplace=True))


class UNet(nn.Module):
    """Three-level U-Net: widths (c, 2c, 4c), strided-conv downsampling, bilinear upsampling,
    concatenated skips. (B, in_ch, H, W) -> (B, out_ch, H, W); H, W multiples of 4.

    ``global_context``: the image mean of the bottleneck features, through a linear layer, is
    added to every bottleneck position (the global path of Gharbi et al.'s HDRNet, 2017), so
    that image-wide quantities (airlight, fog density) reach every pixel."""

    def __init__(self, in_ch: int, out_ch: int, width: int = 16, global_context: bool = False):
        super().__init__()
        c = width
        self.enc1 = nn.Sequential(_conv(in_ch, c), _conv(c, c))
        self.enc2 = nn.Sequential(_conv(c, 2 * c, 2), _conv(2 * c, 2 * c))
        self.enc3 = nn.Sequential(_conv(2 * c, 4 * c, 2), _conv(4 * c, 4 * c), _conv(4 * c, 4 * c))
        self.dec2 = nn.Sequential(_conv(6 * c, 2 * c), _conv(2 * c, 2 * c))
        self.dec1 = nn.Sequential(_conv(3 * c, c), _conv(c, c))
        self.out = nn.Conv2d(c, out_ch, 1)
        self.bottleneck_channels = 4 * c
        self.glob = nn.Linear(4 * c, 4 * c) if global_context else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns the output map and the bottleneck features (B, 4c, H/4, W/4)."""
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        if self.glob is not None:
            e3 = e3 + F.leaky_relu(self.glob(e3.mean(dim=(2, 3))), 0.2)[:, :, None, None]
        up = F.interpolate(e3, size=e2.shape[-2:], mode="bilinear", align_corners=False)
        d2 = self.dec2(torch.cat([up, e2], 1))
        up = F.interpolate(d2, size=e1.shape[-2:], mode="bilinear", align_corners=False)
        d1 = self.dec1(torch.cat([up, e1], 1))
        return self.out(d1), e3


class RawUNet(nn.Module):
    """Joint denoise + demosaic.

    Input: ``raw`` (B, 1, H, W) white-balanced and lens-shading corrected (so colours are
    neutral), and ``noise_var`` (B, 2): the raw's (shot, read) variances scaled by the white
    balance as applied. Output: linear camera RGB (B, 3, H, W), white balanced (apply the colour
    matrix to get linear sRGB).
    """

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        # packed raw (4) + per-pixel noise std (4) -> 12 = 3 colours x 2 x 2 sub-pixels
        self.unet = UNet(8, 12, width)

    def forward(self, raw: torch.Tensor, noise_var: torch.Tensor) -> torch.Tensor:
        x, (h, w) = pad_to_even(raw)
        x, _ = pad_multiple(x, 8)  # packed planes must be multiples of 4
        packed = pack(x)  # (B, 4, H/2, W/2)
        shot, read = noise_var[:, 0].view(-1, 1, 1, 1), noise_var[:, 1].view(-1, 1, 1, 1)
        std = (shot * packed.clamp_min(0) + read).clamp_min(1e-10).sqrt()
        with _low_precision(self, packed):
            out, _ = self.unet(torch.cat([packed, std * 10.0], 1))
        residual = F.pixel_shuffle(out.float().contiguous(), 2)  # (B, 12, H/2, W/2) -> (B, 3, H, W)
        return (demosaic_bilinear(x) + residual)[..., :h, :w]


class MaskedConv2d(nn.Module):
    """Convolution of masked features: ``y = act(W * (x m) + b)``; the soft validity mask ``m``
    (B, 1, H, W), 1 = well exposed, 0 = saturated, is updated by the normalized absolute kernel
    ``m' = (|W| * m) / sum |W|`` so that features fed by saturated content stay down-weighted.
    """

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride, 1)

    def forward(self, x: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = F.leaky_relu(self.conv(x * m), 0.2)
        k = self.conv.weight.abs().sum(dim=(0, 1), keepdim=True)  # (1, 1, 3, 3)
        m2 = F.conv2d(m, k / k.sum(), stride=self.conv.stride, padding=1)
        return y, m2.clamp(0.0, 1.0)


class HdrNet(nn.Module):
    """LDR sRGB (B, 3, H, W) in [0, 1] -> linear HDR (B, 3, H, W), 1.0 = the clipping level.

    ``hdr = (w srgb^-1(ldr) + (1 - w) ldr^gamma) * exp(s * r)``. The inverse camera response is
    a per-image mix of the sRGB curve and a power law, ``w`` and ``gamma`` in [1.5, 3.0]
    predicted from global features (a pure power law cost 5-10 dB on sRGB-encoded frames,
    whose linear toe it cannot represent): ``crf="conv"``, heads on the pooled
    quarter-resolution features; ``crf="stats"``, a :class:`~perception3d.isp.crf.CrfEstimator`
    on full-resolution code and noise statistics, trained on its own (``stage: crf``). ``s`` is
    the soft saturation mask (max channel above 0.95, as in HDRCNN). ``r`` is the log boost of
    clipped highlights, predicted at quarter resolution by a U-Net whose encoder uses masked
    features; it is unconstrained (a softplus here collapsed to 0 during training and never
    recovered).
    """

    def __init__(self, width: int = 16, threshold: float = 0.95, crf: str = "conv") -> None:
        super().__init__()
        if crf not in ("conv", "stats"):
            raise ValueError(f"crf must be conv or stats, got {crf!r}")
        c = width
        self.threshold = threshold
        # crf="stats": the response from full-resolution image statistics (perception3d.isp.crf)
        # instead of the heads on the quarter-resolution encoder's pooled features
        self.crf_estimator = CrfEstimator() if crf == "stats" else None
        self.enc1 = nn.ModuleList([MaskedConv2d(4, c), MaskedConv2d(c, c)])
        self.enc2 = nn.ModuleList([MaskedConv2d(c, 2 * c, 2), MaskedConv2d(2 * c, 2 * c)])
        self.enc3 = nn.Sequential(_conv(2 * c, 4 * c, 2), _conv(4 * c, 4 * c))
        self.dec2 = nn.Sequential(_conv(6 * c, 2 * c), _conv(2 * c, 2 * c))
        self.dec1 = nn.Sequential(_conv(3 * c, c), _conv(c, c))
        self.out = nn.Conv2d(c, 3, 1)
        self.gamma_head = nn.Linear(4 * c, 1)
        self.crf_head = nn.Linear(4 * c, 1)  # weight of the sRGB curve vs the power law
        nn.init.zeros_(self.crf_head.weight)
        nn.init.zeros_(self.crf_head.bias)

    def saturation(self, ldr: torch.Tensor) -> torch.Tensor:
        m = ldr.amax(dim=1, keepdim=True)
        return ((m - self.threshold) / (1.0 - self.threshold)).clamp(0.0, 1.0)

    def forward(
        self,
        ldr: torch.Tensor,
        linear: torch.Tensor | None = None,
        crf: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """``linear``: ``srgb_to_linear(ldr)`` when the caller has it (saves a conversion);
        ``crf``: ``(w_srgb, gamma)``, each (B, 1), the response to invert instead of the
        estimated one (training the highlight network on the true response)."""
        sat = self.saturation(ldr)
        small = F.avg_pool2d(ldr, 4, ceil_mode=True)
        small, (h, w) = pad_multiple(small, 4)
        m = 1.0 - F.max_pool2d(self.saturation(small), 3, 1, 1)
        x = torch.cat([small, m], 1)
        with _low_precision(self, x):
            for layer in self.enc1:
                x, m = layer(x, m)
            e1 = x
            for layer in self.enc2:
                x, m = layer(x, m)
            e2 = x
            e3 = self.enc3(e2)
            up = F.interpolate(e3, size=e2.shape[-2:], mode="bilinear", align_corners=False)
            d2 = self.dec2(torch.cat([up, e2], 1))
            up = F.interpolate(d2, size=e1.shape[-2:], mode="bilinear", align_corners=False)
            r = self.out(self.dec1(torch.cat([up, e1], 1)))[..., :h, :w].float()
        if crf is not None:
            w_srgb, gamma = crf[0].view(-1, 1, 1, 1).to(ldr), crf[1].to(ldr)
        elif self.crf_estimator is not None:
            w_srgb, gamma = self.crf_estimator(ldr)
            w_srgb = w_srgb.view(-1, 1, 1, 1)
        else:
            pooled = e3.float().mean(dim=(2, 3))  # the camera response in float32 always
            gamma = 1.5 + 1.5 * torch.sigmoid(self.gamma_head(pooled))  # (B, 1)
            w_srgb = torch.sigmoid(self.crf_head(pooled)).view(-1, 1, 1, 1)
        r = F.interpolate(r, size=ldr.shape[-2:], mode="bilinear", align_corners=False)
        power = ldr.clamp(1e-6, 1.0).pow(gamma.view(-1, 1, 1, 1))
        if linear is None:
            linear = srgb_to_linear(ldr)
        linear = w_srgb * linear.clamp(0.0, 1.0) + (1.0 - w_srgb) * power
        return linear * torch.exp(sat * r)


class DehazeNet(nn.Module):
    """Hazy sRGB (B, 3, H, W) -> dehazed linear (B, 3, H, W), predicted at quarter resolution
    and applied at full resolution.

    ``head="affine"``: a per-pixel affine map ``J = alpha I + beta`` with ``alpha >= 1``
    (B, 1) and ``beta`` (B, 3), upsampled bilinearly; the scattering model is exactly this map
    with ``alpha = 1 / t`` and ``beta = -A (1 - t) / t``, but the network may hedge where the
    transmission is too small to invert (a local affine model as in Gharbi et al.'s HDRNet).
    ``head="guided"`` (shipped): the same network and map, but the quarter-resolution result
    ``alpha I_lr + beta`` is brought to full resolution by a trainable fast guided filter with
    the hazy image as guide (Wu et al. 2018; :mod:`perception3d.isp.guided`), its slope pulled
    towards ``alpha`` where the guide is flat, so that edges follow the full-resolution input
    (bilinear upsampling of the affine map left halos and blocks at depth edges).
    ``head="transmission"``: transmission ``t`` and a global airlight ``A``,
    ``J = (I - A) / max(t, t_min) + A`` (kept for comparison: it scored below the affine head).

    ``row_coordinate``: an extra input channel, the row's position in the frame (0 top, 1
    bottom). For a fixed driving camera the row tells much of the depth (the road plane, the
    sky at the top), and depth sets the transmission (CoordConv, Liu et al. 2018); training
    then uses full-height crops. ``global_context``: see :class:`UNet`.
    """

    HEADS = ("affine", "guided", "transmission")

    def __init__(
        self,
        width: int = 16,
        t_min: float = 0.05,
        head: str = "affine",
        radius: int = 1,
        row_coordinate: bool = False,
        global_context: bool = False,
    ) -> None:
        super().__init__()
        if head not in self.HEADS:
            raise ValueError(f"head must be one of {self.HEADS}, got {head!r}")
        self.head = head
        self.row_coordinate = row_coordinate
        n_in = 4 if row_coordinate else 3
        self.unet = UNet(n_in, 1 if head == "transmission" else 4, width, global_context)
        self.airlight_head = nn.Linear(4 * width, 3)
        self.t_min = t_min
        self.radius = radius
        # ridge of the guided filter, log-parametrized (linear intensities: 8-bit steps are
        # ~1e-3, so a variance of 1e-5 separates texture from quantization)
        self.log_eps = nn.Parameter(torch.tensor(-11.5)) if head == "guided" else None

    def _lowres(self, srgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        small = F.avg_pool2d(srgb, 4, ceil_mode=True)
        if self.row_coordinate:
            b, _, h, w = small.shape
            rows = torch.linspace(0.0, 1.0, h, dtype=small.dtype, device=small.device)
            small = torch.cat([small, rows.view(1, 1, h, 1).expand(b, 1, h, w)], 1)
        small, (h, w) = pad_multiple(small, 4)
        with _low_precision(self, small):
            out, feats = self.unet(small)
        return out[..., :h, :w].float(), feats.float()

    def _maps(self, srgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, feats = self._lowres(srgb)
        out = F.interpolate(out, size=srgb.shape[-2:], mode="bilinear")
        return out, feats

    def estimate(self, srgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Transmission head: (t (B, 1, H, W), airlight (B, 3) linear); affine head:
        (alpha (B, 1, H, W), beta (B, 3, H, W)), bilinearly upsampled."""
        out, feats = self._maps(srgb)
        if self.head in ("affine", "guided"):
            return 1.0 + F.softplus(out[:, :1]), out[:, 1:]
        airlight = F.softplus(self.airlight_head(feats.mean(dim=(2, 3))).float()) + 0.05
        return torch.sigmoid(out), airlight

    def forward(self, srgb: torch.Tensor, linear: torch.Tensor | None = None) -> torch.Tensor:
        """``linear``: ``srgb_to_linear(srgb)`` when the caller has it (saves a conversion)."""
        linear = srgb_to_linear(srgb) if linear is None else linear.clamp(0.0, 1.0)
        if self.head == "guided":
            out, _ = self._lowres(srgb)
            alpha, beta = 1.0 + F.softplus(out[:, :1]), out[:, 1:]
            guide_lr = F.avg_pool2d(linear, 4, ceil_mode=True)
            target_lr = alpha * guide_lr + beta
            eps = torch.exp(self.log_eps)
            prior = alpha.expand_as(target_lr)
            return guided_upsample(guide_lr, target_lr, linear, self.radius, eps, prior).clamp_min(
                0.0
            )
        first, second = self.estimate(srgb)
        if self.head == "affine":
            return (first * linear + second).clamp_min(0.0)
        aa = second[:, :, None, None]
        return ((linear - aa) / first.clamp_min(self.t_min) + aa).clamp_min(0.0)
