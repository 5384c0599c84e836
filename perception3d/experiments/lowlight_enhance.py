"""Train and evaluate the sRGB low-light enhancer (:mod:`perception3d.isp.enhance`) on pairs
rendered from procedural scenes (:func:`perception3d.isp.scenes.procedural_scene`): a short
CPU training loop (Adam, random crops) and a held-out comparison with the gamma and CLAHE
baselines (PSNR / SSIM on the sRGB pairs)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from perception3d.atomic import atomic_write_text
from perception3d.isp.enhance.baselines import clahe_baseline, gamma_baseline
from perception3d.isp.enhance.illumination import IlluminationNet, enhance_loss
from perception3d.isp.enhance.pairs import make_exposure_pair
from perception3d.isp.metrics import psnr, ssim
from perception3d.isp.scenes import procedural_scene


def scene_radiance(seed: int, height: int = 128, width: int = 384) -> torch.Tensor:
    """(1, 3, H, W) daylight procedural scene ``seed`` (night scenes hold emitters that would
    dominate the exposure)."""
    rad, _ = procedural_scene(height, width, np.random.default_rng(seed), night=False)
    return torch.from_numpy(rad)[None]


def train_enhancer(steps: int, seed: int = 0, crop: int = 96, num_scenes: int = 32,
                   width: int = 16, log=print) -> IlluminationNet:  # fmt: skip
    """Train an :class:`IlluminationNet` for ``steps`` steps of batch 4 on pairs from
    ``num_scenes`` procedural scenes (seeds ``seed * 1000 + i``)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    scenes = [scene_radiance(seed * 1000 + i) for i in range(num_scenes)]
    model = IlluminationNet(width)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    t0 = time.time()
    for step in range(steps):
        darks, refs = [], []
        for _ in range(4):
            rad = scenes[int(rng.integers(num_scenes))]
            y = int(rng.integers(rad.shape[2] - crop + 1))
            x = int(rng.integers(rad.shape[3] - crop + 1))
            dark, ref, _ = make_exposure_pair(rad[..., y : y + crop, x : x + crop], rng)
            darks.append(dark)
            refs.append(ref)
        dark, ref = torch.cat(darks), torch.cat(refs)
        out, illum = model(dark)
        loss = enhance_loss(out, illum, dark, ref)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"step {step} loss {loss.item():.4f} ({time.time() - t0:.0f} s)")
    return model.eval()


@torch.inference_mode()
def fit_gamma_target(seeds: list[int], pair_seed: int = 2) -> float:
    """The gamma baseline's target mean brightness (0.15-0.6) of best mean PSNR on training
    pairs of the scenes ``seeds`` (so the baseline is tuned as the network is trained)."""
    rng = np.random.default_rng(pair_seed)
    pairs = [make_exposure_pair(scene_radiance(s), rng)[:2] for s in seeds]
    grid = np.arange(0.15, 0.61, 0.05)
    scores = [np.mean([float(psnr(gamma_baseline(d, t), r)) for d, r in pairs]) for t in grid]
    return float(grid[int(np.argmax(scores))])


@torch.inference_mode()
def evaluate_enhancer(model: IlluminationNet | None, seeds: list[int], pair_seed: int = 1,
                      gamma_target: float = 0.45) -> dict:  # fmt: skip
    """Mean PSNR / SSIM (sRGB) of the dark input, gamma (target mean ``gamma_target``),
    CLAHE and ``model`` on held-out pairs of the procedural scenes ``seeds``."""
    rng = np.random.default_rng(pair_seed)
    scores: dict[str, list[tuple[float, float]]] = {}
    for s in seeds:
        dark, ref, _ = make_exposure_pair(scene_radiance(s), rng)
        outputs = {
            "input": dark,
            "gamma": gamma_baseline(dark, gamma_target),
            "clahe": clahe_baseline(dark),
        }
        if model is not None:
            outputs["illumination_net"] = model(dark)[0]
        for name, out in outputs.items():
            scores.setdefault(name, []).append((float(psnr(out, ref)), float(ssim(out, ref))))
    return {
        name: {"psnr": float(np.mean([p for p, _ in v])), "ssim": float(np.mean([q for _, q in v]))}
        for name, v in scores.items()
    }


def run_lowlight_enhance(steps: int, out_dir: Path, seed: int = 0, log=print) -> dict:
    """Train, evaluate on 16 held-out scenes (seeds 900000+), write ``lowlight_enhance.json``
    and the weights ``illumination_net.pt`` (state dict) to ``out_dir``."""
    from perception3d.atomic import atomic_write

    model = train_enhancer(steps, seed, log=log)
    target = fit_gamma_target([seed * 1000 + i for i in range(32)])
    result = evaluate_enhancer(model, list(range(900_000, 900_016)), gamma_target=target)
    result["steps"], result["gamma_target"] = steps, target
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "lowlight_enhance.json", json.dumps(result, indent=2))
    atomic_write(out_dir / "illumination_net.pt", lambda f: torch.save(model.state_dict(), f))
    return result
