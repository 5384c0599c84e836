"""Task of the low-light enhancer (``task: lowlight``, ``configs/isp/train_lowlight.yaml``;
:mod:`perception3d.isp.enhance`).

Each step cuts ``train.batch_size`` random ``data.crop`` x ``data.crop`` crops of the
synthetic frames' linear radiance (plus procedural scenes, if any), makes each crop's dark
8-bit sRGB capture and its well-exposed reference with the sensor model
(:func:`perception3d.isp.enhance.pairs.make_lowlight_pair`), and scores the enhancer's output
against the reference (:func:`perception3d.isp.enhance.illumination.enhance_loss`). Step s of
process r draws from ``default_rng([seed, r, s])``: the same config gives the same run (CPU),
and a resumed run continues exactly. The validation: PSNR / SSIM of the enhancer, the dark
input and the gamma baseline on centred crops of held-out frames (``data.val_root``, another
generator seed), one fixed capture each.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from perception3d.engine.crop_task import CropPairTask
from perception3d.isp.data import train_val_scenes
from perception3d.isp.enhance.baselines import gamma_baseline
from perception3d.isp.enhance.illumination import IlluminationNet, enhance_loss
from perception3d.isp.enhance.pairs import EnhancePair, make_lowlight_pair
from perception3d.isp.metrics import psnr, ssim

VAL_SEED = 2112  # the validation captures' seed (fixed, whatever the training seed)


@torch.no_grad()
def score_pairs(model: torch.nn.Module, pairs: list[EnhancePair]) -> dict:
    """Mean PSNR (dB) / SSIM of ``model``, of the dark input and of the gamma baseline."""
    rows: dict[str, list[tuple[float, float]]] = {"model": [], "input": [], "gamma": []}
    for p in pairs:
        outs = {"model": model(p.dark_srgb)[0], "input": p.dark_srgb}
        outs["gamma"] = gamma_baseline(p.dark_srgb)
        for name, out in outs.items():
            ref = p.reference_srgb
            rows[name].append((float(psnr(out, ref).mean()), float(ssim(out, ref).mean())))
    mean = {k: np.mean(v, axis=0).tolist() for k, v in rows.items()}
    result = {"psnr": mean["model"][0], "ssim": mean["model"][1], "frames": len(pairs)}
    for name in ("input", "gamma"):
        result[f"{name}_psnr"], result[f"{name}_ssim"] = mean[name]
    return result


class LowLightTask(CropPairTask):
    """Training of the low-light enhancer (see the module docstring)."""

    val_seed = VAL_SEED

    def build_model(self) -> torch.nn.Module:
        return IlluminationNet(self.config.model)

    def make_pair(self, radiance: torch.Tensor, rng: np.random.Generator) -> EnhancePair:
        return make_lowlight_pair(radiance, rng, self.config.lowlight)

    def prepare(self, progress: bool) -> None:
        d = self.config.data
        self.use_scenes(*train_val_scenes(d, "lowlight", d.procedural, self.config.train.seed))
        if progress:
            print(f"lowlight train: {len(self.pool)} scenes, "
                  f"{len(self.val_pairs)} validation crops")  # fmt: skip

    def describe(self) -> dict:
        return {"scenes": len(self.pool), "validation_frames": self.val_names}

    def loss(self, model, batch: EnhancePair):
        out, illum = model(batch.dark_srgb)
        return enhance_loss(out, illum, batch.dark_srgb, batch.reference_srgb, self.config.loss)

    def evaluate(self, model: torch.nn.Module, out_dir: Path, progress: bool) -> dict:
        if not self.val_pairs:
            return {}
        r = score_pairs(model, self.val_pairs)
        r["summary"] = (f"val PSNR {r['psnr']:.2f} dB SSIM {r['ssim']:.3f} (gamma "
                        f"{r['gamma_psnr']:.2f} / {r['gamma_ssim']:.3f})")  # fmt: skip
        r["scalars"] = {"psnr": r["psnr"], "ssim": r["ssim"]}
        return r
