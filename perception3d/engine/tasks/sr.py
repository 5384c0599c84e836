"""Task of the super-resolution networks (``task: sr``, ``configs/isp/train_sr_*.yaml``;
:mod:`perception3d.isp.sr`).

Each step cuts ``train.batch_size`` random ``data.crop`` x ``data.crop`` crops of the
synthetic frames' linear radiance, makes each crop's low-resolution capture with the sensor
model (:func:`perception3d.isp.sr_data.degrade`: PSF, pixel integration, daylight noise,
classical ISP) and its full-resolution reference, and scores the network's upscaled image
against the reference with L1 in sRGB. Step s of process r draws from
``default_rng([seed, r, s])``: the same config gives the same run (CPU), and a resumed run
continues exactly. The validation: PSNR / SSIM of the network and of bicubic on centred crops
of held-out frames (``data.val_root``, another generator seed), one fixed capture each.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from perception3d.engine.crop_task import CropPairTask
from perception3d.isp.data import train_val_scenes
from perception3d.isp.losses import l1
from perception3d.isp.metrics import psnr, ssim
from perception3d.isp.sr import bicubic_upscale, build_sr_model
from perception3d.isp.sr_data import SrPair, degrade

VAL_SEED = 1234  # the validation captures' seed (fixed, whatever the training seed)


@torch.no_grad()
def score_pairs(model: torch.nn.Module, pairs: list[SrPair], scale: int) -> dict:
    """Mean PSNR (dB) / SSIM of ``model`` and of bicubic over ``pairs``, and the gain."""
    rows = {"model": [], "bicubic": []}
    for p in pairs:
        for name, out in (
            ("model", model(p.lr_srgb)),
            ("bicubic", bicubic_upscale(p.lr_srgb, scale)),
        ):
            out = out.clamp(0, 1)
            rows[name].append((float(psnr(out, p.hr_srgb)), float(ssim(out, p.hr_srgb))))
    mean = {k: np.mean(v, axis=0).tolist() for k, v in rows.items()}
    return {
        "psnr": mean["model"][0],
        "ssim": mean["model"][1],
        "bicubic_psnr": mean["bicubic"][0],
        "bicubic_ssim": mean["bicubic"][1],
        "gain_db": mean["model"][0] - mean["bicubic"][0],
        "frames": len(pairs),
    }


class SrTask(CropPairTask):
    """Training of one SR network (see the module docstring)."""

    val_seed = VAL_SEED

    def build_model(self) -> torch.nn.Module:
        return build_sr_model(self.config.model)

    def make_pair(self, radiance: torch.Tensor, rng: np.random.Generator) -> SrPair:
        return degrade(radiance, self.config.model.scale, rng, self.config.degradation)

    def prepare(self, progress: bool) -> None:
        cfg = self.config
        self.use_scenes(*train_val_scenes(cfg.data, "sr"))
        if progress:
            print(f"sr train {cfg.model.arch} x{cfg.model.scale}: {len(self.pool)} frames, "
                  f"{len(self.val_pairs)} validation crops")  # fmt: skip

    def describe(self) -> dict:
        return {"frames": len(self.pool), "validation_frames": self.val_names}

    def loss(self, model, batch: SrPair):
        return l1(model(batch.lr_srgb), batch.hr_srgb), {}

    def evaluate(self, model: torch.nn.Module, out_dir: Path, progress: bool) -> dict:
        if not self.val_pairs:
            return {}
        result = score_pairs(model, self.val_pairs, self.config.model.scale)
        psnr_db, base, gain = result["psnr"], result["bicubic_psnr"], result["gain_db"]
        result["summary"] = f"val PSNR {psnr_db:.2f} dB (bicubic {base:.2f}, {gain:+.2f})"
        result["scalars"] = {"psnr": result["psnr"], "gain_db": result["gain_db"]}
        return result
