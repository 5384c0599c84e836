"""Blind estimation of an 8-bit image's camera response (CRF) from image statistics.

The HDR stage must invert a response it is not told. Our captures use either the sRGB curve or
a power law ``v = h ** (1 / gamma)`` (:func:`perception3d.isp.conditions.make_hdr_sample`), and
guessing wrong is costly: on the held-out frames the exact inverse is 6.8 dB (mu-law PSNR)
above the sRGB guess on average (docs/isp.md). Two kinds of evidence tell the curves apart:

- the distribution of code values, through the scene prior (exposures put the brightest
  percent of a frame at the clip level, so the mid-tones of road, facades and sky land at codes
  set by the response), and the occupancy of the darkest codes (the sRGB curve is linear below
  code 10, a power law is steep there and skips codes);
- the noise: signal-dependent noise of standard deviation ``s(h)`` becomes ``f'(h) s(h)``
  after the response ``f``, so its level against the code value traces ``f'`` (the idea of
  noise-based radiometric calibration, Matsushita and Lin, CVPR 2007).

:func:`crf_features` computes both as a fixed-length vector over the whole frame (on
full-resolution rows: quarter-resolution features lose the noise), and :class:`CrfEstimator`,
a small MLP, maps it to the probability that the curve is sRGB and to the power law's ``gamma``.
"""

from __future__ import annotations

import torch
from torch import nn

HIST_BINS = 32
DARK_CODES = 24
NOISE_BINS = 16
GAMMA_RANGE = (1.5, 3.0)


def _histograms(index: torch.Tensor, bins: int) -> torch.Tensor:
    """Normalized histograms (R, bins) of integer bin indices ``index`` (R, N); indices
    ``>= bins`` are counted in no bin (but in the normalization)."""
    rows, n = index.shape
    flat = index.clamp(0, bins) + (bins + 1) * torch.arange(rows)[:, None]
    counts = torch.bincount(flat.flatten(), minlength=(bins + 1) * rows).view(rows, bins + 1)
    return counts[:, :bins].float() / n


def crf_features(ldr: torch.Tensor) -> torch.Tensor:
    """Response-revealing statistics (B, F) of 8-bit sRGB-like images ``ldr`` (B, 3, H, W) in
    [0, 1], on every fourth row: code histograms of each channel and of the max channel, the
    occupancy of the darkest codes, and the log noise level against the code value (squared
    horizontal second difference ``(v[x] - (v[x-1] + v[x+1]) / 2)^2``, 1.5 x the noise
    variance on flat content, per channel, unclipped triplets only). Row subsampling keeps the
    cost at a few milliseconds per KITTI frame."""
    rows = ldr[:, :, ::4].float().clamp(0.0, 1.0)
    b = rows.shape[0]
    chans = torch.cat([rows, rows.amax(1, keepdim=True)], 1).reshape(b * 4, -1)
    hist = _histograms((chans * HIST_BINS).long().clamp_max(HIST_BINS - 1), HIST_BINS)
    dark = _histograms(torch.round(chans * 255.0).long(), DARK_CODES)
    left, mid, right = rows[..., :-2], rows[..., 1:-1], rows[..., 2:]
    resid2 = (mid - 0.5 * (left + right)).pow(2).reshape(b * 3, -1)
    level = ((left + mid + right) / 3.0).reshape(b * 3, -1)
    top = torch.maximum(torch.maximum(left, mid), right).reshape(b * 3, -1)
    ok = ((top < 0.999) & (level > 0.0)).float()
    idx = (level * NOISE_BINS).long().clamp_max(NOISE_BINS - 1)
    groups = (idx + NOISE_BINS * torch.arange(b * 3)[:, None]).flatten()
    n = b * 3 * NOISE_BINS
    total = torch.bincount(groups, weights=(resid2 * ok).flatten(), minlength=n)
    count = torch.bincount(groups, weights=ok.flatten(), minlength=n)
    noise = torch.log((total / count.clamp_min(1.0)).clamp_min(1e-8)) / 10.0
    occupied = (count > 50).float()
    noise = (noise * occupied).view(b, -1)
    return torch.cat(
        [hist.view(b, -1).sqrt(), (dark.view(b, -1) * 100.0).log1p(), noise,
         occupied.view(b, -1)],
        dim=1,
    )  # fmt: skip


def crf_feature_count() -> int:
    """Length of :func:`crf_features`' vectors."""
    return 4 * HIST_BINS + 4 * DARK_CODES + 2 * 3 * NOISE_BINS


class CrfEstimator(nn.Module):
    """:func:`crf_features` -> (``w_srgb`` (B, 1) probability that the response is sRGB,
    ``gamma`` (B, 1) of the power-law alternative, in ``GAMMA_RANGE``). Features are
    standardized with the training set's mean and spread (buffers saved with the weights)."""

    def __init__(self, hidden: int = 128) -> None:
        super().__init__()
        f = crf_feature_count()
        self.register_buffer("feature_mean", torch.zeros(f))
        self.register_buffer("feature_std", torch.ones(f))
        self.mlp = nn.Sequential(
            nn.Linear(f, hidden),
            nn.LeakyReLU(0.1),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.1),
            nn.Linear(hidden, 2),
        )

    def from_features(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logit of sRGB (B, 1), gamma (B, 1)) of a feature batch."""
        out = self.mlp((feats - self.feature_mean) / self.feature_std)
        lo, hi = GAMMA_RANGE
        return out[:, :1], lo + (hi - lo) * torch.sigmoid(out[:, 1:])

    def forward(self, ldr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(w_srgb (B, 1), gamma (B, 1)) of ``ldr`` (B, 3, H, W)."""
        with torch.autocast(ldr.device.type, enabled=False):
            logit, gamma = self.from_features(crf_features(ldr))
        return torch.sigmoid(logit), gamma
