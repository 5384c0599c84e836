"""Task of the HDR stage's camera-response estimator (``task: crf``,
``configs/isp/train_hdr_crf.yaml``; :class:`perception3d.isp.crf.CrfEstimator`).

Whole-frame HDR captures of the training scenes
(:func:`perception3d.isp.conditions.make_hdr_sample`, which draws the sRGB curve or a power
law) give feature vectors with known responses; an MLP learns the sRGB-vs-power-law
probability (cross entropy) and the power law's gamma (L1), and with ``loss.pixel_weight`` the
mu-law error of its linearization on sampled pixels (what a wrong estimate costs the HDR
metric). The convolutional part of the HDR
stage (highlight restoration) comes unchanged from ``train.init_weights``; the result is an
``isp_hdr`` checkpoint with ``crf: stats``. The last 10 % of the scenes are held out and the
estimator's accuracy on them is the validation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from perception3d.checkpoint import CheckpointError, read_checkpoint
from perception3d.engine.distributed import DistInfo
from perception3d.engine.isp_config import CrfExperiment
from perception3d.engine.task import Task, random_batch_steps, unwrap
from perception3d.errors import ConfigError
from perception3d.isp import conditions as cond
from perception3d.isp.crf import crf_features
from perception3d.isp.data import build_pool
from perception3d.isp.losses import crf_pixel_loss
from perception3d.isp.weights import build_isp_model


def capture_features(scenes, captures: int, rng: np.random.Generator, pixels: int = 0):
    """(features (N, F), sRGB flags (N,), gammas (N,)) of ``captures`` whole-frame HDR captures
    of each scene, and with ``pixels`` > 0 each capture's
    :func:`perception3d.isp.conditions.sample_hdr_pixels`: (ldr (N, K), reference (N, K),
    peak (N,)), else None."""
    feats, is_srgb, gammas, px = [], [], [], []
    for sc in scenes:
        rad = torch.from_numpy(sc.radiance)[None]
        for _ in range(captures):
            s = cond.make_hdr_sample(rad, rng)
            g = float(s.extras["crf_gamma"][0])
            feats.append(crf_features(s.input_srgb))
            is_srgb.append(g == 0.0)
            gammas.append(g)
            if pixels:
                px.append(cond.sample_hdr_pixels(s, pixels, rng))
    samples = tuple(torch.stack([p[i] for p in px]) for i in range(3)) if px else None
    return torch.cat(feats), torch.tensor(is_srgb), torch.tensor(gammas), samples


def estimator_loss(model, feats, is_srgb, gammas, pixels=None, pixel_weight: float = 0.0):
    """Cross entropy of sRGB vs power law + 5 x L1 of gamma on the power-law captures, plus
    ``pixel_weight`` x :func:`perception3d.isp.losses.crf_pixel_loss` on the captures' pixel
    samples ``pixels`` (ldr, reference, peak) when given."""
    logit, gamma = model.from_features(feats)
    bce = F.binary_cross_entropy_with_logits(logit[:, 0], is_srgb.float())
    power = ~is_srgb
    l1 = (gamma[power, 0] - gammas[power]).abs().mean() if power.any() else logit.sum() * 0
    loss = bce + 5.0 * l1
    if pixels is not None and pixel_weight > 0:
        loss = loss + pixel_weight * crf_pixel_loss(torch.sigmoid(logit), gamma, *pixels)
    return loss


@torch.no_grad()
def estimator_accuracy(model, feats, is_srgb, gammas, pixels=None) -> dict:
    """Share of captures whose curve family is right, gamma mean absolute error (power law),
    and with ``pixels`` the mean :func:`perception3d.isp.losses.crf_pixel_loss`."""
    logit, gamma = model.from_features(feats)
    right = ((logit[:, 0] > 0) == is_srgb).float().mean()
    power = ~is_srgb
    mae = (gamma[power, 0] - gammas[power]).abs().mean() if power.any() else torch.tensor(0.0)
    out = {"family_accuracy": float(right), "gamma_mae": float(mae), "captures": len(is_srgb)}
    if pixels is not None:
        out["pixel_mu_l1"] = float(crf_pixel_loss(torch.sigmoid(logit), gamma, *pixels))
    return out


class CrfTask(Task):
    """Training of the camera-response estimator (see the module docstring)."""

    distributed = False  # the loss calls the estimator, not the network's forward

    def __init__(self, cfg: CrfExperiment) -> None:
        if cfg.train.init_weights is None:
            raise ConfigError("task crf: train.init_weights must name the HDR stage weights to "
                              "extend")  # fmt: skip
        self.config = cfg
        self.model: torch.nn.Module | None = None
        self.features: list = []
        self.held_out: list = []
        self.pixels: tuple | None = None
        self.held_out_pixels: tuple | None = None
        self.held_out_scenes: list[str] = []

    def build_model(self) -> torch.nn.Module:
        self.model = build_isp_model(self.config.model)
        return self.model

    def load_init(self, model: torch.nn.Module, path: Path) -> None:
        state = read_checkpoint(path, "isp_hdr")["model"]
        missing, _ = model.load_state_dict(state, strict=False)
        if any(not k.startswith("crf_estimator.") for k in missing):
            width = self.config.model.width
            raise CheckpointError(f"{path}: not an HDR stage of width {width} (missing "
                                  f"{missing})")  # fmt: skip

    def trainable(self, model: torch.nn.Module):
        return unwrap(model).crf_estimator.parameters()

    def prepare(self, progress: bool) -> None:
        d, seed = self.config.data, self.config.train.seed
        pool = build_pool(d.root, d.train_split, d.max_train_frames, d.procedural, seed + 1)
        if len(pool) < 2:
            raise ValueError(f"task crf: needs at least 2 scenes, got {len(pool)}")
        n_val = max(1, len(pool) // 10)
        rng = np.random.default_rng(seed)
        px = d.pixels_per_capture if self.config.loss.pixel_weight > 0 else 0
        *self.features, self.pixels = capture_features(pool[:-n_val], d.captures_per_scene,
                                                       rng, px)  # fmt: skip
        *self.held_out, self.held_out_pixels = capture_features(
            pool[-n_val:], d.captures_per_scene, rng, px
        )
        self.held_out_scenes = [sc.name for sc in pool[-n_val:]]
        est = self.model.crf_estimator
        est.feature_mean.copy_(self.features[0].mean(0))
        est.feature_std.copy_(self.features[0].std(0).clamp_min(1e-3))

    def describe(self) -> dict:
        return {"captures": len(self.features[0]), "held_out_captures": len(self.held_out[0]),
                "held_out_scenes": self.held_out_scenes}  # fmt: skip

    def steps_per_epoch(self, shard: DistInfo) -> int:
        return random_batch_steps(self.config)

    def batches(self, epoch: int, shard: DistInfo):
        tc = self.config.train
        steps, count = self.steps_per_epoch(shard), len(self.features[0])
        for i in range(steps):
            rng = np.random.default_rng([tc.seed, epoch * steps + i])
            idx = torch.from_numpy(rng.integers(0, count, tc.batch_size))
            pixels = None if self.pixels is None else tuple(t[idx] for t in self.pixels)
            yield (*(t[idx] for t in self.features), pixels)

    def loss(self, model, batch):
        *features, pixels = batch
        est = unwrap(model).crf_estimator
        return estimator_loss(est, *features, pixels, self.config.loss.pixel_weight), {}

    def evaluate(self, model: torch.nn.Module, out_dir: Path, progress: bool) -> dict:
        est = unwrap(model).crf_estimator
        held_out = estimator_accuracy(est, *self.held_out, self.held_out_pixels)
        return {
            "held_out_accuracy": held_out,
            "train_accuracy": estimator_accuracy(est, *self.features, self.pixels),
            "summary": f"held-out family {held_out['family_accuracy']:.3f}, gamma MAE "
            f"{held_out['gamma_mae']:.3f}",
        }
