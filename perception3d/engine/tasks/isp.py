"""Task of a learned ISP stage (``task: isp``, ``configs/isp/train_*.yaml``): ``raw``
(denoise + demosaic), ``hdr`` or ``dehaze``, on pairs the sensor model makes on the fly.

Each step draws random crops of the scene pool (synthetic frames, procedural scenes, real
photographs), degrades each with a random camera and condition
(:mod:`perception3d.isp.conditions`), and scores the stage's output against the clean
reference. Step s of process r draws from ``default_rng([seed, r, s])``: the same config gives
the same run (CPU), and a resumed run continues exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from perception3d.checkpoint import read_checkpoint
from perception3d.engine.distributed import DistInfo
from perception3d.engine.isp_config import IspExperiment
from perception3d.engine.task import Task, random_batch_rngs, random_batch_steps, unwrap
from perception3d.isp import conditions as cond
from perception3d.isp.color import linear_to_srgb, smoothstep
from perception3d.isp.data import Scene, build_pool, random_crops
from perception3d.isp.losses import hdr_loss, l1, srgb_loss
from perception3d.isp.meta import RawMeta
from perception3d.isp.unprocess import (
    add_noise,
    random_unprocess_params,
    unprocess,
    unprocess_meta,
)
from perception3d.isp.weights import Stage, build_isp_model, learned_raw_to_linear


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
    true_crf: bool = False,
) -> torch.Tensor:
    """Loss of one batch of ``crops`` (:class:`perception3d.isp.data.Crop`) for ``stage``;
    ``true_crf``: ``hdr`` inverts each capture's true response (only the highlight network
    learns)."""
    if stage == "raw":
        raw, meta, ref = _raw_batch(crops, rng, lowlight_fraction)
        return srgb_loss(learned_raw_to_linear(model, raw, meta), ref)
    core = unwrap(model)
    if stage == "hdr":
        samples = [
            cond.make_hdr_sample(
                c.radiance, rng, c.scene.max_channel_sample() if frame_exposure else None
            )
            for c in crops
        ]
        ldr = torch.cat([s.input_srgb for s in samples])
        ref = torch.cat([s.reference_linear for s in samples])
        pred = model(ldr, crf=cond.true_crf(samples) if true_crf else None)
        return hdr_loss(pred, ref, core.saturation(ldr), mu_law_weight)
    if stage == "dehaze":
        samples = [cond.make_haze_sample(c.radiance, c.depth, rng) for c in crops]
        hazy = torch.cat([s.input_srgb for s in samples])
        ref = torch.cat([s.reference_linear for s in samples])
        pred = model(hazy)
        # L1 in sRGB (MS-SSIM at 256 px crops cost 5x the model's own step on our CPUs)
        image = l1(linear_to_srgb(pred), linear_to_srgb(ref))
        if core.head != "transmission":
            return image
        t_true = torch.cat([s.extras["transmission"] for s in samples])
        a_true = torch.cat([s.extras["airlight"] for s in samples])
        t, a = core.estimate(hazy)
        return image + 0.5 * l1(t, t_true) + 0.5 * l1(a, a_true.to(a))
    raise ValueError(f"unknown stage {stage!r}")


class IspTask(Task):
    """Training of one learned ISP stage (see the module docstring)."""

    def __init__(self, cfg: IspExperiment) -> None:
        self.config = cfg
        self.pool: list[Scene] = []
        self.real: list[Scene] = []
        self.crop_height: int | None = None

    def build_model(self) -> torch.nn.Module:
        return build_isp_model(self.config.model)

    def load_init(self, model: torch.nn.Module, path: Path) -> None:
        """Fine-tune: parameters the init file lacks (a newer head) keep their init."""
        state = read_checkpoint(path, self.config.kind)["model"]
        missing, _ = model.load_state_dict(state, strict=False)
        if missing:
            print(f"  {path}: no values for {missing}, initialized")

    def prepare(self, progress: bool) -> None:
        d, seed = self.config.data, self.config.train.seed
        self.pool = build_pool(d.root, d.train_split, d.max_train_frames, d.procedural,
                               seed + 1)  # fmt: skip
        self.real = build_pool(real_images=d.real_images) if d.real_images else []
        if self.config.model.stage == "hdr":
            self.real = []  # 8-bit photographs carry no highlight information to learn from
        if not self.pool:
            raise ValueError("task isp: no training scenes (data.root and data.procedural)")
        self.crop_height = d.crop_height
        if d.crop_height is not None:  # one batch, one height: strips as tall as the shortest
            heights = [sc.depth.shape[0] for sc in [*self.pool, *self.real]]
            self.crop_height = min([d.crop_height, *heights])
        if progress:
            print(f"isp train {self.config.model.stage}: {len(self.pool)} scenes + "
                  f"{len(self.real)} real images")  # fmt: skip

    def describe(self) -> dict:
        return {"scenes": len(self.pool), "real_images": len(self.real)}

    def steps_per_epoch(self, shard: DistInfo) -> int:
        return random_batch_steps(self.config)

    def batches(self, epoch: int, shard: DistInfo):
        tc, d = self.config.train, self.config.data
        for rng in random_batch_rngs(self.config, shard, epoch):
            n_real = int(rng.binomial(tc.batch_size, d.real_fraction)) if self.real else 0
            crops = random_crops(self.pool, tc.batch_size - n_real, d.crop, rng,
                                 self.crop_height, d.highlight_fraction)  # fmt: skip
            if n_real:
                crops += random_crops(self.real, n_real, d.crop, rng, self.crop_height)
            yield crops, rng

    def loss(self, model, batch):
        crops, rng = batch
        d = self.config.data
        loss = stage_loss(self.config.model.stage, model, crops, rng, d.lowlight_fraction,
                          self.config.loss.hdr_mu_law_weight, d.frame_exposure,
                          self.config.loss.hdr_true_crf)  # fmt: skip
        return loss, {}
