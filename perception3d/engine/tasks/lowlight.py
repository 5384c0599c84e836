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

from perception3d.config import require_root
from perception3d.engine.distributed import DistInfo
from perception3d.engine.lowlight_config import LowLightExperiment
from perception3d.engine.task import Task, random_batch_rngs, random_batch_steps
from perception3d.isp.data import Scene, build_pool, random_crops
from perception3d.isp.enhance.baselines import gamma_baseline
from perception3d.isp.enhance.illumination import IlluminationNet, enhance_loss
from perception3d.isp.enhance.pairs import EnhancePair, make_lowlight_pair
from perception3d.isp.metrics import psnr, ssim

VAL_SEED = 2112  # the validation captures' seed (fixed, whatever the training seed)


def centre_radiance(scene: Scene, height: int, width: int) -> torch.Tensor:
    """(1, 3, height, width) radiance of the centre of ``scene`` (even corner)."""
    h, w = scene.radiance.shape[1:]
    if height > h or width > w:
        raise ValueError(f"crop {height} x {width} larger than {scene.name} ({h} x {w})")
    y, x = (h - height) // 4 * 2, (w - width) // 4 * 2
    crop = np.ascontiguousarray(scene.radiance[:, y : y + height, x : x + width])
    return torch.from_numpy(crop)[None]


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


class LowLightTask(Task):
    """Training of the low-light enhancer (see the module docstring)."""

    def __init__(self, cfg: LowLightExperiment) -> None:
        self.config = cfg
        self.pool: list[Scene] = []
        self.val_pairs: list[EnhancePair] = []
        self.val_names: list[str] = []

    def build_model(self) -> torch.nn.Module:
        return IlluminationNet(self.config.model)

    def prepare(self, progress: bool) -> None:
        d, cfg = self.config.data, self.config
        root = require_root(d, "lowlight")
        self.pool = build_pool(root, d.train_split, d.max_train_frames, d.procedural,
                               cfg.train.seed)  # fmt: skip
        if not self.pool:
            raise ValueError(f"task lowlight: no frame with radiance_2 in {root} "
                             f"(split {d.train_split})")  # fmt: skip
        if d.val_root is not None:
            val = build_pool(d.val_root, d.val_split, d.max_val_frames)
            self.val_names = [sc.name for sc in val]
            self.val_pairs = [
                make_lowlight_pair(centre_radiance(sc, *d.val_crop_hw),
                                   np.random.default_rng([VAL_SEED, i]), cfg.lowlight)
                for i, sc in enumerate(val)
            ]  # fmt: skip
        if progress:
            print(f"lowlight train: {len(self.pool)} scenes, "
                  f"{len(self.val_pairs)} validation crops")  # fmt: skip

    def describe(self) -> dict:
        return {"scenes": len(self.pool), "validation_frames": self.val_names}

    def steps_per_epoch(self, shard: DistInfo) -> int:
        return random_batch_steps(self.config)

    def batches(self, epoch: int, shard: DistInfo):
        tc, d = self.config.train, self.config.data
        for rng in random_batch_rngs(self.config, shard, epoch):
            crops = random_crops(self.pool, tc.batch_size, d.crop, rng)
            yield make_lowlight_pair(
                torch.cat([c.radiance for c in crops]), rng, self.config.lowlight
            )

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
