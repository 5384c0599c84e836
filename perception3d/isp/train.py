"""Training of the learned ISP stages on pairs made on the fly by the sensor model.

``train_stage(cfg)`` builds the scene pool, then for ``cfg.steps`` steps draws random crops,
degrades each with a random camera/condition (:mod:`perception3d.isp.conditions`), and fits the
stage's model with Adam. Same config and seed -> the same run (CPU).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from perception3d.atomic import atomic_write, atomic_write_text
from perception3d.isp import conditions as cond
from perception3d.isp.bayer import cfa_gains
from perception3d.isp.classic import lens_shading_correction
from perception3d.isp.color import apply_color_matrix, linear_to_srgb, smoothstep
from perception3d.isp.data import build_pool, random_crops
from perception3d.isp.losses import l1, log_l1, masked_log_l1, mu_law_l1, srgb_loss
from perception3d.isp.meta import RawMeta
from perception3d.isp.models import DehazeNet, HdrNet, RawUNet
from perception3d.isp.unprocess import (
    add_noise,
    random_unprocess_params,
    unprocess,
    unprocess_meta,
)
from perception3d.runtime import seed_everything, torch_threads

Stage = Literal["raw", "hdr", "dehaze", "crf"]


@dataclasses.dataclass(frozen=True)
class TrainData:
    """Where training scenes come from.

    Attributes:
        synth_root: a ``perception3d synth`` root with ``radiance_2``/``depth_2`` (or null).
        synth_split: ImageSets split to draw from (``train``; null: every frame of the root);
            held-out frames stay out.
        max_synth: at most this many synthetic frames are loaded.
        procedural: number of seeded procedural scenes added to the pool.
        real_images: sRGB photographs unprocessed into raw (e.g. KITTI image_2 PNGs).
        real_fraction: share of crops drawn from the real images (when there are some).
        lowlight_fraction: share of ``raw`` captures at low-light ISO (the rest: normal).
        highlight_fraction: share of crops centred near a scene's brightest pixels.
        frame_exposure: ``hdr``: expose each crop as its whole frame would be (the held-out
            evaluation exposes whole frames), not the crop alone.
    """

    synth_root: Path | None = None
    synth_split: str | None = "train"
    max_synth: int = 200
    procedural: int = 48
    real_images: tuple[Path, ...] = ()
    real_fraction: float = 0.25
    lowlight_fraction: float = 0.6
    highlight_fraction: float = 0.0
    frame_exposure: bool = False


@dataclasses.dataclass(frozen=True)
class ModelOptions:
    """Architecture options of a stage's model, saved with its weights.

    Attributes:
        head: dehaze output head (``affine``, ``guided``, ``transmission``; :class:`DehazeNet`).
        row_coordinate: dehaze: the row position as an extra input.
        global_context: dehaze: the global path of the U-Net.
        crf: hdr: how the camera response is estimated (``conv``, ``stats``; :class:`HdrNet`).
    """

    head: str = "affine"
    row_coordinate: bool = False
    global_context: bool = False
    crf: str = "conv"

    def kwargs(self, stage: str) -> dict:
        """Constructor keyword arguments of ``stage``'s model."""
        if stage == "dehaze":
            return {
                "head": self.head,
                "row_coordinate": self.row_coordinate,
                "global_context": self.global_context,
            }
        if stage == "hdr":
            return {"crf": self.crf}
        if stage == "crf":
            return {"crf": "stats"}
        return {}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """One stage's training run (``configs/isp/train_<stage>.yaml``); ``init``: weights to
    start from (fine-tuning), else random initialization; ``hdr_mu_law_weight``: weight of the
    mu-law L1 term of the HDR loss (with 1, the boost of clipped highlights stayed near the
    median of their log radiance, about 2x the clip level); ``model``: architecture options;
    ``crop_height``: crop height (default ``crop``; larger than a frame: full-height strips);
    ``crf_captures``: ``stage: crf`` (the HDR stage's response estimator, trained on its own:
    :func:`perception3d.isp.train_crf.train_crf`), whole-frame captures per scene."""

    stage: Stage
    out: Path
    width: int = 16
    steps: int = 2000
    batch_size: int = 8
    crop: int = 128
    lr: float = 1e-3
    seed: int = 0
    threads: int = 2
    init: Path | None = None
    hdr_mu_law_weight: float = 4.0
    crop_height: int | None = None
    crf_captures: int = 8
    model: ModelOptions = ModelOptions()
    data: TrainData = TrainData()


def build_model(stage: Stage, width: int, **options) -> torch.nn.Module:
    """The model class of ``stage``; ``options``: keyword arguments of its constructor (e.g.
    the dehaze model's ``head``)."""
    if stage == "raw":
        return RawUNet(width, **options)
    if stage in ("hdr", "crf"):
        return HdrNet(width, **options)
    if stage == "dehaze":
        return DehazeNet(width, **options)
    raise ValueError(f"stage must be raw, hdr, dehaze or crf, got {stage!r}")


def prepare_raw(raw: torch.Tensor, meta: RawMeta) -> tuple[torch.Tensor, torch.Tensor]:
    """Lens-shading corrected, white-balanced raw and its (B, 2) noise variances, the
    :class:`RawUNet` input (green's noise level; red/blue scale with their gains)."""
    x = lens_shading_correction(raw, meta)
    x = x * cfa_gains(meta.wb_gains.to(x), *x.shape[-2:])
    noise = torch.stack([meta.shot_noise, meta.read_noise], 1).to(x)
    return x, noise


def learned_raw_to_linear(model: RawUNet, raw: torch.Tensor, meta: RawMeta) -> torch.Tensor:
    """Raw (B, 1, H, W) -> linear sRGB (B, 3, H, W) with the learned denoise + demosaic."""
    x, noise = prepare_raw(raw, meta)
    return apply_color_matrix(model(x, noise), meta.cam_to_rgb.to(x))


def _raw_batch(crops, rng: np.random.Generator, lowlight_fraction: float = 0.6):
    raws, metas, refs = [], [], []
    for rad, _, real, _ in crops:
        if real and rng.random() < 0.5:  # Brooks' unprocessing and noise model
            gen = torch.Generator().manual_seed(int(rng.integers(0, 2**63)))
            p = random_unprocess_params(gen)
            clean, target = unprocess(smoothstep(rad.clamp(0, 1) ** (1 / 2.2)), p)
            raws.append(add_noise(clean, p.shot_noise, p.read_noise, gen))
            metas.append(unprocess_meta(p))
            refs.append(target)
        else:
            condition = "lowlight" if rng.random() < lowlight_fraction else "normal"
            s = cond.make_raw_sample(rad, rng, condition)
            raws.append(s.raw)
            metas.append(s.meta)
            refs.append(s.reference_linear)
    return torch.cat(raws), RawMeta.cat(metas), torch.cat(refs)


def stage_loss(
    stage: Stage,
    model,
    crops,
    rng: np.random.Generator,
    lowlight_fraction: float = 0.6,
    mu_law_weight: float = 4.0,
    frame_exposure: bool = False,
) -> torch.Tensor:
    """Loss of one batch of ``crops`` (:class:`perception3d.isp.data.Crop`) for ``stage``."""
    if stage == "raw":
        raw, meta, ref = _raw_batch(crops, rng, lowlight_fraction)
        return srgb_loss(learned_raw_to_linear(model, raw, meta), ref)
    if stage == "hdr":
        samples = [
            cond.make_hdr_sample(
                c.radiance, rng, c.scene.max_channel_sample() if frame_exposure else None
            )
            for c in crops
        ]
        ldr = torch.cat([s.input_srgb for s in samples])
        ref = torch.cat([s.reference_linear for s in samples])
        pred = model(ldr)
        sat = model.saturation(ldr)
        mu = mu_law_weight * mu_law_l1(pred, ref)
        return log_l1(pred, ref) + mu + masked_log_l1(pred, ref, sat)
    if stage == "dehaze":
        samples = [cond.make_haze_sample(c.radiance, c.depth, rng) for c in crops]
        hazy = torch.cat([s.input_srgb for s in samples])
        ref = torch.cat([s.reference_linear for s in samples])
        pred = model(hazy)
        # L1 in sRGB (MS-SSIM at 256 px crops cost 5x the model's own step on our CPUs)
        image = l1(linear_to_srgb(pred), linear_to_srgb(ref))
        if model.head != "transmission":
            return image
        t_true = torch.cat([s.extras["transmission"] for s in samples])
        a_true = torch.cat([s.extras["airlight"] for s in samples])
        t, a = model.estimate(hazy)
        return image + 0.5 * l1(t, t_true) + 0.5 * l1(a, a_true.to(a))
    raise ValueError(f"unknown stage {stage!r}")


def train_stage(cfg: TrainConfig, log=print) -> dict:
    """Train ``cfg.stage`` and write ``cfg.out`` (a state dict + a JSON log beside it)."""
    with torch_threads(cfg.threads):
        if cfg.stage == "crf":
            from perception3d.isp.train_crf import train_crf

            return train_crf(cfg, log)
        return _train_stage(cfg, log)


def _train_stage(cfg: TrainConfig, log=print) -> dict:
    seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    d = cfg.data
    pool = build_pool(d.synth_root, d.synth_split, d.max_synth, d.procedural, cfg.seed + 1)
    real = build_pool(real_images=d.real_images) if d.real_images else []
    if cfg.stage == "hdr":
        real = []  # 8-bit photographs carry no highlight information to learn from
    crop_height = cfg.crop_height
    if crop_height is not None:  # one batch, one height: strips as tall as the shortest frame
        crop_height = min([crop_height] + [sc.depth.shape[0] for sc in [*pool, *real]])
    log(f"isp train {cfg.stage}: {len(pool)} scenes + {len(real)} real images")
    model = build_model(cfg.stage, cfg.width, **cfg.model.kwargs(cfg.stage))
    if cfg.init is not None:  # parameters the init file lacks (a newer head) keep their init
        missing, _ = model.load_state_dict(_read_state(cfg.init), strict=False)
        if missing:
            log(f"  {cfg.init}: no values for {missing}, initialized")
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps, eta_min=cfg.lr * 0.05)
    history, t0, running = [], time.time(), 0.0
    for step in range(1, cfg.steps + 1):
        n_real = int(rng.binomial(cfg.batch_size, d.real_fraction)) if real else 0
        n = cfg.batch_size - n_real
        crops = random_crops(pool, n, cfg.crop, rng, crop_height, d.highlight_fraction)
        if n_real:
            crops += random_crops(real, n_real, cfg.crop, rng, crop_height)
        loss = stage_loss(
            cfg.stage,
            model,
            crops,
            rng,
            d.lowlight_fraction,
            cfg.hdr_mu_law_weight,
            d.frame_exposure,
        )
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        running += loss.item()
        if step % 50 == 0 or step == cfg.steps:
            k = 50 if step % 50 == 0 else step % 50
            history.append({"step": step, "loss": running / k, "time_s": time.time() - t0})
            log(f"  step {step:5d}  loss {running / k:.4f}  {time.time() - t0:7.1f} s")
            running = 0.0
    meta = {
        "stage": cfg.stage,
        "width": cfg.width,
        "steps": cfg.steps,
        "seed": cfg.seed,
        "train_time_s": time.time() - t0,
        "history": history,
    }
    info = {"stage": cfg.stage, "width": cfg.width, "options": cfg.model.kwargs(cfg.stage)}
    save_weights(model, cfg.out, info)
    atomic_write_text(Path(cfg.out).with_suffix(".json"), json.dumps(meta, indent=2))
    return meta


def save_weights(model: torch.nn.Module, path: Path, info: dict) -> None:
    """State dict + plain info (stage, width) in one file readable with weights_only=True."""
    blob = {"info": info, "state_dict": model.state_dict()}
    atomic_write(path, lambda f: torch.save(blob, f))


def _read_state(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def load_weights(path: Path) -> torch.nn.Module:
    """The model saved by :func:`save_weights` (``torch.load(weights_only=True)``), in eval
    mode and channels-last memory format (the same results; oneDNN's CPU convolutions ran the
    raw U-Net 1.7-2.2x faster that way, measured here)."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    info = blob["info"]
    options = info.get("options")
    if options is None:  # files saved before the options (dehaze: only the head was stored)
        options = {"head": info.get("head", "transmission")} if info["stage"] == "dehaze" else {}
    model = build_model(info["stage"], int(info["width"]), **options)
    model.load_state_dict(blob["state_dict"])
    return model.eval().to(memory_format=torch.channels_last)
