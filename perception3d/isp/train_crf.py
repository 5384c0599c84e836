"""Training of the HDR stage's camera-response estimator (``stage: crf`` in an ISP training
config; :class:`perception3d.isp.crf.CrfEstimator`).

Whole-frame HDR captures of the training scenes
(:func:`perception3d.isp.conditions.make_hdr_sample`, which draws the sRGB curve or a power
law) give feature vectors with known responses; an MLP learns the sRGB-vs-power-law
probability (cross entropy) and the power law's gamma (L1). The convolutional part of the HDR
stage (highlight restoration) comes unchanged from ``init``; the result is an HDR stage file
with ``crf: stats``. The last 10 % of the scenes are held out and the estimator's accuracy on
them is logged.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from perception3d.atomic import atomic_write_text
from perception3d.isp import conditions as cond
from perception3d.isp.crf import crf_features
from perception3d.isp.data import build_pool
from perception3d.runtime import seed_everything


def capture_features(scenes, captures: int, rng: np.random.Generator):
    """(features (N, F), sRGB flags (N,), gammas (N,)) of ``captures`` whole-frame HDR captures
    of each scene."""
    feats, is_srgb, gammas = [], [], []
    for sc in scenes:
        rad = torch.from_numpy(sc.radiance)[None]
        for _ in range(captures):
            s = cond.make_hdr_sample(rad, rng)
            g = float(s.extras["crf_gamma"][0])
            feats.append(crf_features(s.input_srgb))
            is_srgb.append(g == 0.0)
            gammas.append(g)
    return torch.cat(feats), torch.tensor(is_srgb), torch.tensor(gammas)


def estimator_loss(model, feats, is_srgb, gammas) -> torch.Tensor:
    """Cross entropy of sRGB vs power law + 5 x L1 of gamma on the power-law captures."""
    logit, gamma = model.from_features(feats)
    bce = F.binary_cross_entropy_with_logits(logit[:, 0], is_srgb.float())
    power = ~is_srgb
    l1 = (gamma[power, 0] - gammas[power]).abs().mean() if power.any() else logit.sum() * 0
    return bce + 5.0 * l1


@torch.no_grad()
def estimator_accuracy(model, feats, is_srgb, gammas) -> dict:
    """Share of captures whose curve family is right, gamma mean absolute error (power law)."""
    logit, gamma = model.from_features(feats)
    right = ((logit[:, 0] > 0) == is_srgb).float().mean()
    power = ~is_srgb
    mae = (gamma[power, 0] - gammas[power]).abs().mean() if power.any() else torch.tensor(0.0)
    return {"family_accuracy": float(right), "gamma_mae": float(mae), "captures": len(is_srgb)}


def train_crf(cfg, log=print) -> dict:
    """Train the estimator of ``cfg`` (a :class:`perception3d.isp.train.TrainConfig` with
    ``stage: crf`` and ``init``: the HDR stage to extend); writes ``cfg.out`` and its JSON."""
    from perception3d.isp.train import _read_state, build_model, save_weights

    if cfg.init is None:
        raise ValueError("stage crf: init must name the HDR stage weights to extend")
    seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    d = cfg.data
    pool = build_pool(d.synth_root, d.synth_split, d.max_synth, d.procedural, cfg.seed + 1)
    if len(pool) < 2:
        raise ValueError(f"stage crf: needs at least 2 scenes, got {len(pool)}")
    n_val = max(1, len(pool) // 10)
    t0 = time.time()
    train = capture_features(pool[:-n_val], cfg.crf_captures, rng)
    val = capture_features(pool[-n_val:], cfg.crf_captures, rng)
    log(f"isp train crf: {len(train[0])} + {len(val[0])} captures, {time.time() - t0:.0f} s")
    model = build_model("crf", cfg.width, crf="stats")
    missing, _ = model.load_state_dict(_read_state(cfg.init), strict=False)
    if any(not k.startswith("crf_estimator.") for k in missing):
        raise ValueError(f"{cfg.init}: not an HDR stage of width {cfg.width} (missing {missing})")
    est = model.crf_estimator
    est.feature_mean.copy_(train[0].mean(0))
    est.feature_std.copy_(train[0].std(0).clamp_min(1e-3))
    opt = torch.optim.Adam(est.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps, eta_min=cfg.lr * 0.05)
    history = []
    for step in range(1, cfg.steps + 1):
        idx = torch.from_numpy(rng.integers(0, len(train[0]), cfg.batch_size))
        loss = estimator_loss(est, *(t[idx] for t in train))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % max(1, cfg.steps // 10) == 0 or step == cfg.steps:
            acc = estimator_accuracy(est, *val)
            history.append({"step": step, "loss": float(loss.detach())} | acc)
            log(
                f"  step {step:5d}  loss {history[-1]['loss']:.4f}  held-out family "
                f"{acc['family_accuracy']:.3f}  gamma MAE {acc['gamma_mae']:.3f}"
            )
    meta = {
        "config": json.loads(json.dumps(cfg.__dict__, default=str)),
        "train_time_s": time.time() - t0,
        "held_out_scenes": [sc.name for sc in pool[-n_val:]],
        "train_accuracy": estimator_accuracy(est, *train),
        "held_out_accuracy": estimator_accuracy(est, *val),
        "history": history,
    }
    info = {"stage": "hdr", "width": cfg.width, "options": {"crf": "stats"}}
    save_weights(model.eval(), cfg.out, info)
    atomic_write_text(Path(cfg.out).with_suffix(".json"), json.dumps(meta, indent=2))
    return meta
