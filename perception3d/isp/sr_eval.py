"""Held-out comparison of bicubic, SRCNN and ESPCN super-resolution on whole synthetic frames
(``perception3d isp sr-eval configs/isp/eval_sr.yaml --out DIR``; docs/sr.md).

Each frame's radiance (cropped to a multiple of 2 x the scale) gives one low-resolution
capture with the sensor model (:func:`perception3d.isp.sr_data.degrade`, seeded by
``(seed, frame index)``) and its full-resolution reference; every method upscales the same
capture. PSNR and SSIM in sRGB, with ``shave`` pixels at each border left out (the usual SR
protocol). ``metrics.json`` holds means, medians, per-frame values and each network's per-frame
gain over bicubic; ``grid.png`` shows a crop of the first frame (nearest-neighbour
low-resolution input, bicubic, the networks, the reference).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from perception3d.atomic import atomic_write_text
from perception3d.config import DataSection
from perception3d.isp.evaluate import save_png
from perception3d.isp.metrics import psnr, ssim
from perception3d.isp.sr import load_sr_model, super_resolve
from perception3d.isp.sr_data import Degradation, crop_to_multiple, degrade

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "assets" / "weights"


@dataclasses.dataclass(frozen=True)
class SrWeights:
    """Weight files of the networks compared with bicubic (null: left out)."""

    srcnn: Path | None = WEIGHTS_DIR / "sr_srcnn_x2.pt"
    espcn: Path | None = WEIGHTS_DIR / "sr_espcn_x2.pt"


@dataclasses.dataclass(frozen=True)
class SrEvalData(DataSection):
    """``data:``: the held-out frames: the first ``max_val_frames`` of ``root``'s
    ``val_split`` (null: every frame, for a root of a seed no network trained on)."""

    val_split: str | None = None
    max_val_frames: int | None = 20


@dataclasses.dataclass(frozen=True)
class SrEvalConfig:
    """``configs/isp/eval_sr.yaml``.

    Attributes:
        weights: the networks (each must upscale by ``scale``).
        data: the held-out frames.
        scale: upscaling factor.
        degradation: the low-resolution capture's ranges (those of training).
        seed: seed of the captures.
        shave: border pixels (high resolution) left out of the metrics.
        threads: torch CPU threads.
    """

    weights: SrWeights = dataclasses.field(default_factory=SrWeights)
    data: SrEvalData = dataclasses.field(default_factory=SrEvalData)
    scale: int = 2
    degradation: Degradation = dataclasses.field(default_factory=Degradation)
    seed: int = 1234
    shave: int = 4
    threads: int = 1


def _metrics(pred: torch.Tensor, ref: torch.Tensor, shave: int) -> dict[str, float]:
    if shave:
        pred, ref = pred[..., shave:-shave, shave:-shave], ref[..., shave:-shave, shave:-shave]
    return {"psnr": float(psnr(pred, ref)), "ssim": float(ssim(pred, ref))}


def summarize(per: dict[str, list[dict]], baseline: str = "bicubic") -> dict:
    """Mean and median of each method's metrics, and each method's per-frame PSNR gain over
    ``baseline`` (mean, median, min, frames won).

    Example:
        >>> per = {"bicubic": [{"psnr": 20.0}, {"psnr": 30.0}],
        ...        "espcn": [{"psnr": 22.0}, {"psnr": 30.5}]}
        >>> g = summarize(per)["gain"]["espcn"]
        >>> g["mean"], g["median"], g["frames_won"]
        (1.25, 1.25, 2)
    """
    out: dict = {"mean": {}, "median": {}, "gain": {}, "per_frame": per}
    for method, rows in per.items():
        for stat, fn in (("mean", np.mean), ("median", np.median)):
            out[stat][method] = {k: float(fn([r[k] for r in rows])) for k in rows[0]}
        if method != baseline:
            diff = np.array([a["psnr"] - b["psnr"] for a, b in zip(rows, per[baseline])])
            out["gain"][method] = {
                "mean": float(diff.mean()),
                "median": float(np.median(diff)),
                "min": float(diff.min()),
                "frames_won": int((diff > 0).sum()),
                "frames": len(diff),
            }
    return out


def evaluate_sr(cfg: SrEvalConfig, out_dir: str | Path, log: Callable[[str], None] = print):
    """Run the comparison of ``cfg``; writes ``metrics.json`` and ``grid.png`` to ``out_dir``
    and returns the metrics.

    Raises:
        FileNotFoundError: no frame with radiance under ``data.root``, or a missing weight file.
        ValueError: a network of another scale.
    """
    from perception3d.data.training_frames import held_out_check
    from perception3d.isp.data import build_pool
    from perception3d.runtime import torch_threads

    with torch_threads(cfg.threads):
        d = cfg.data
        scenes = build_pool(d.root, d.val_split, d.max_val_frames)
        if not scenes:
            raise FileNotFoundError(f"no held-out frame with radiance_2 under {d.root}")
        paths = {k: v for k, v in dataclasses.asdict(cfg.weights).items() if v is not None}
        models = {k: load_sr_model(p) for k, p in paths.items()}
        for name, model in models.items():
            if model.scale != cfg.scale:
                raise ValueError(f"{paths[name]} upscales x{model.scale}, the config x{cfg.scale}")
        ids = [s.name.split("/", 1)[1] for s in scenes]
        seen = held_out_check(paths.values(), d.root, ids)
        per: dict[str, list[dict]] = {"bicubic": [], **{k: [] for k in models}}
        seconds = {k: 0.0 for k in per}
        grid = None
        for fi, scene in enumerate(scenes):
            rad = crop_to_multiple(torch.from_numpy(scene.radiance)[None], 2 * cfg.scale)
            pair = degrade(rad, cfg.scale, np.random.default_rng([cfg.seed, fi]), cfg.degradation)
            outs = {}
            for name in per:
                t0 = time.perf_counter()
                outs[name] = super_resolve(models.get(name), pair.lr_srgb, cfg.scale)
                seconds[name] += time.perf_counter() - t0
                per[name].append(_metrics(outs[name], pair.hr_srgb, cfg.shave))
            if fi == 0:
                grid = _grid(pair.lr_srgb, outs, pair.hr_srgb, cfg.scale)
        result = summarize(per)
        result.update(frames=ids, root=str(d.root), scale=cfg.scale, seed=cfg.seed,
                      seconds_per_frame={k: v / len(scenes) for k, v in seconds.items()},
                      trained_on_evaluated_frames=seen)  # fmt: skip
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "metrics.json", json.dumps(result, indent=2))
    save_png(out_dir / "grid.png", grid)
    log(format_sr_table(result))
    return result


def _grid(lr, outs: dict, hr, scale: int, size: tuple[int, int] = (120, 200)) -> torch.Tensor:
    """(3, H, W) side by side: nearest-upscaled input, each output, the reference, cropped
    around the frame's centre (where far objects are)."""
    near = torch.nn.functional.interpolate(lr, scale_factor=scale, mode="nearest")
    h, w = hr.shape[-2:]
    y, x = max(0, h // 2 - size[0] // 2), max(0, w // 2 - size[1] // 2)
    tiles = [near, *outs.values(), hr]
    return torch.cat([t[0, :, y : y + size[0], x : x + size[1]] for t in tiles], dim=2)


def format_sr_table(result: dict) -> str:
    """Markdown table: mean PSNR / SSIM per method, gain over bicubic (mean / median, frames
    won) and seconds per frame on this run's threads."""
    lines = ["| method | PSNR (dB) | SSIM | gain over bicubic, mean / median (frames won) | "
             "s / frame |", "|---|---|---|---|---|"]  # fmt: skip
    for method, m in result["mean"].items():
        g = result["gain"].get(method)
        gain = "-"
        if g:
            gain = f"{g['mean']:+.2f} / {g['median']:+.2f} ({g['frames_won']} of {g['frames']})"
        sec = result["seconds_per_frame"][method]
        lines.append(f"| {method} | {m['psnr']:.2f} | {m['ssim']:.4f} | {gain} | {sec:.3f} |")
    warn = "".join(f"WARNING: {m}\n\n" for m in result.get("trained_on_evaluated_frames", []))
    return warn + "\n".join(lines)
