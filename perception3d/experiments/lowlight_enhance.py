"""Held-out comparison of the sRGB low-light enhancer with classical baselines
(``perception3d isp lowlight-eval configs/isp/eval_lowlight.yaml --out DIR``; docs/isp.md),
and the enhancer applied to 8-bit images (``perception3d isp lowlight-enhance``).

Each held-out frame's radiance (rows cropped to an even count) gives one dark 8-bit sRGB
capture with the sensor model (:func:`perception3d.isp.enhance.pairs.make_lowlight_pair`,
seeded by ``(seed, frame index)``) and its well-exposed reference; every method enhances the
same capture. Methods: the dark input itself; ``gamma`` (:func:`gamma_baseline`, its target
brightness tuned for mean PSNR on captures of training frames, as the network is trained on
them); ``gamma_bilateral`` (that, then the bilateral denoiser at the estimated noise level: a
baseline that also denoises); ``clahe``; the enhancer(s). PSNR and SSIM in sRGB on the whole
frame. ``metrics.json`` holds means, per-frame values, each frame's stops under and
electrons, and each method's per-frame gain over the best baseline; ``grid.png`` shows a crop
of the first frame.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from perception3d.atomic import atomic_write_text
from perception3d.config import DataSection
from perception3d.isp.denoise import denoise_bilateral
from perception3d.isp.enhance.baselines import clahe_baseline, gamma_baseline
from perception3d.isp.enhance.illumination import enhance, load_enhancer
from perception3d.isp.enhance.pairs import LowLight, make_lowlight_pair
from perception3d.isp.evaluate import save_png
from perception3d.isp.metrics import psnr, ssim

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "assets" / "weights"
BASELINES = ("gamma", "gamma_bilateral", "clahe")
GAMMA_GRID = tuple(round(0.15 + 0.05 * i, 2) for i in range(10))  # target means 0.15-0.6


@dataclasses.dataclass(frozen=True)
class LowLightEvalData(DataSection):
    """``data:``: the held-out frames: the first ``max_val_frames`` of ``root``'s
    ``val_split`` (null: every frame, for a root of a seed no network trained on); the gamma
    baseline is tuned on the first ``max_train_frames`` of ``fit_root``'s ``train_split``
    (the first enhancer's training frames). ``real_images``: real 8-bit photographs (PNG files or
    folders of them; e.g. KITTI ``image_2``) compared in a second table, each standing in as
    radiance after Brooks et al.'s inverse tone curve and gamma
    (:func:`perception3d.isp.data.build_pool`)."""

    val_split: str | None = None
    max_val_frames: int | None = 24
    fit_root: Path | None = None
    max_train_frames: int | None = 8
    real_images: tuple[Path, ...] = ()


@dataclasses.dataclass(frozen=True)
class LowLightEvalConfig:
    """``configs/isp/eval_lowlight.yaml``.

    Attributes:
        weights: the enhancer (``task: lowlight`` weights).
        plain_weights: optionally a second one to compare (e.g. without the denoiser).
        data: the held-out frames and the frames the gamma baseline is tuned on.
        lowlight: the dark captures' ranges (those of training).
        seed: seed of the held-out captures (the tuning captures use ``seed + 1``).
        threads: torch CPU threads.
    """

    weights: Path = WEIGHTS_DIR / "isp_lowlight.pt"
    plain_weights: Path | None = None
    data: LowLightEvalData = dataclasses.field(default_factory=LowLightEvalData)
    lowlight: LowLight = dataclasses.field(default_factory=LowLight)
    seed: int = 4321
    threads: int = 1


def even_frame(radiance: np.ndarray) -> torch.Tensor:
    """(1, 3, H', W') of a (3, H, W) radiance with H', W' rounded down to even (RGGB cells)."""
    h, w = radiance.shape[-2:]
    return torch.from_numpy(np.ascontiguousarray(radiance[:, : h // 2 * 2, : w // 2 * 2]))[None]


def baseline_outputs(dark: torch.Tensor, gamma_target: float) -> dict[str, torch.Tensor]:
    """The baselines' outputs (B, 3, H, W) of the dark sRGB capture ``dark``."""
    lifted = gamma_baseline(dark, gamma_target)
    return {
        "gamma": lifted,
        "gamma_bilateral": denoise_bilateral(lifted),
        "clahe": clahe_baseline(dark),
    }


@torch.inference_mode()
def fit_gamma_target(scenes: Sequence, lowlight: LowLight, seed: int) -> float:
    """The gamma baseline's target mean brightness in :data:`GAMMA_GRID` of best mean PSNR on
    one capture of each of ``scenes`` (seeded by ``(seed, index)``)."""
    pairs = [
        make_lowlight_pair(even_frame(sc.radiance), np.random.default_rng([seed, i]), lowlight)
        for i, sc in enumerate(scenes)
    ]
    scores = [
        np.mean([float(psnr(gamma_baseline(p.dark_srgb, t), p.reference_srgb)) for p in pairs])
        for t in GAMMA_GRID
    ]
    return float(GAMMA_GRID[int(np.argmax(scores))])


def summarize(per: dict[str, list[dict]]) -> dict:
    """Mean of each method's metrics, the best baseline (highest mean PSNR) and each other
    method's per-frame PSNR / SSIM gain over it (mean, min, frames won).

    Example:
        >>> per = {"gamma": [{"psnr": 20.0, "ssim": 0.5}], "clahe": [{"psnr": 19.0, "ssim": 0.6}],
        ...        "net": [{"psnr": 24.0, "ssim": 0.7}]}
        >>> s = summarize(per)
        >>> s["best_baseline"], s["gain"]["net"]["psnr_mean"]
        ('gamma', 4.0)
    """
    mean = {
        m: {k: float(np.mean([r[k] for r in rows])) for k in rows[0]} for m, rows in per.items()
    }
    best = max((m for m in per if m in BASELINES), key=lambda m: mean[m]["psnr"])
    gain = {}
    for method, rows in per.items():
        if method in BASELINES or method == "input":
            continue
        d = np.array([a["psnr"] - b["psnr"] for a, b in zip(rows, per[best])])
        s = np.array([a["ssim"] - b["ssim"] for a, b in zip(rows, per[best])])
        gain[method] = {"psnr_mean": float(d.mean()), "psnr_min": float(d.min()),
                        "ssim_mean": float(s.mean()), "frames_won": int((d > 0).sum()),
                        "frames": len(d)}  # fmt: skip
    return {"mean": mean, "best_baseline": best, "gain": gain, "per_frame": per}


def compare_methods(scenes: Sequence, models: dict, gamma_target: float,
                    cfg: LowLightEvalConfig) -> tuple[dict, list[dict], torch.Tensor]:  # fmt: skip
    """Per-frame PSNR / SSIM of every method on one dark capture of each of ``scenes`` (seeded
    by ``(cfg.seed, index)``), the captures' stops and electrons, and the first frame's grid."""
    per: dict[str, list[dict]] = {}
    captures, grid = [], None
    for fi, scene in enumerate(scenes):
        rng = np.random.default_rng([cfg.seed, fi])
        pair = make_lowlight_pair(even_frame(scene.radiance), rng, cfg.lowlight)
        captures.append({"stops": float(pair.stops[0]), "electrons": float(pair.electrons[0])})
        outs = {"input": pair.dark_srgb, **baseline_outputs(pair.dark_srgb, gamma_target)}
        for name, model in models.items():
            t0 = time.perf_counter()
            outs[name] = enhance(model, pair.dark_srgb)
            captures[-1][f"{name}_seconds"] = time.perf_counter() - t0
        for name, out in outs.items():
            ref = pair.reference_srgb
            row = {"psnr": float(psnr(out, ref)), "ssim": float(ssim(out, ref))}
            per.setdefault(name, []).append(row)
        if fi == 0:
            grid = _grid(outs, pair.reference_srgb)
    return per, captures, grid


def evaluate_lowlight(
    cfg: LowLightEvalConfig, out_dir: str | Path, log: Callable[[str], None] = print
) -> dict:
    """Run the comparison of ``cfg``; writes ``metrics.json`` and ``grid.png`` (and
    ``grid_real.png`` with real images) to ``out_dir`` and returns the metrics: the
    synthetic frames' at the top level, the real images' under ``real``.

    Raises:
        FileNotFoundError: no frame with radiance under ``data.root`` or ``data.fit_root``, or
            a missing weight file or image.
    """
    from perception3d.data.training_frames import held_out_check
    from perception3d.isp.data import build_pool
    from perception3d.runtime import torch_threads

    d, out_dir = cfg.data, Path(out_dir)
    with torch_threads(cfg.threads):
        scenes = build_pool(d.root, d.val_split, d.max_val_frames)
        fit = build_pool(d.fit_root, d.train_split, d.max_train_frames) if d.fit_root else []
        if not scenes or (d.fit_root and not fit):
            raise FileNotFoundError(f"no frame with radiance_2 under {d.root} / {d.fit_root}")
        paths = {"enhancer": cfg.weights, "enhancer_plain": cfg.plain_weights}
        models = {k: load_enhancer(p) for k, p in paths.items() if p is not None}
        ids = [s.name.split("/", 1)[1] for s in scenes]
        seen = held_out_check([p for p in paths.values() if p is not None], d.root, ids)
        target = fit_gamma_target(fit, cfg.lowlight, cfg.seed + 1) if fit else 0.45
        per, captures, grid = compare_methods(scenes, models, target, cfg)
        result = summarize(per)
        result.update(frames=ids, root=str(d.root), seed=cfg.seed, gamma_target=target,
                      captures=captures, trained_on_evaluated_frames=seen)  # fmt: skip
        if d.real_images:
            real = build_pool(real_images=png_files(d.real_images))
            per, captures, real_grid = compare_methods(real, models, target, cfg)
            result["real"] = summarize(per)
            result["real"].update(frames=[s.name for s in real], captures=captures)
            save_png(out_dir / "grid_real.png", real_grid)
    atomic_write_text(out_dir / "metrics.json", json.dumps(result, indent=2))
    save_png(out_dir / "grid.png", grid)
    log(format_lowlight_table(result))
    if "real" in result:
        log("real images:\n" + format_lowlight_table(result["real"]))
    return result


def png_files(paths: Sequence[Path]) -> list[Path]:
    """The PNG files among ``paths`` (files, or folders of ``*.png``, sorted).

    Raises:
        FileNotFoundError: none.
    """
    files: list[Path] = []
    for p in map(Path, paths):
        files += sorted(p.glob("*.png")) if p.is_dir() else [p]
    if not files:
        raise FileNotFoundError(f"no PNG image in {[str(p) for p in paths]}")
    return files


def _grid(outs: dict, ref: torch.Tensor, size: tuple[int, int] = (160, 240)) -> torch.Tensor:
    """(3, H, W) side by side: each output (the input first), then the reference, cropped
    around the frame's centre."""
    h, w = ref.shape[-2:]
    y, x = max(0, h // 2 - size[0] // 2), max(0, w // 2 - size[1] // 2)
    tiles = [*outs.values(), ref]
    return torch.cat([t[0, :, y : y + size[0], x : x + size[1]] for t in tiles], dim=2)


def format_lowlight_table(result: dict) -> str:
    """Markdown table: mean PSNR / SSIM per method and the gain over the best baseline."""
    best = result["best_baseline"]
    lines = [f"| method | PSNR (dB) | SSIM | PSNR gain over {best}, mean / min (frames won) |",
             "|---|---|---|---|"]  # fmt: skip
    for method, m in result["mean"].items():
        g = result["gain"].get(method)
        gain = f"{g['psnr_mean']:+.2f} / {g['psnr_min']:+.2f} ({g['frames_won']} of " \
               f"{g['frames']})" if g else "-"  # fmt: skip
        lines.append(f"| {method} | {m['psnr']:.2f} | {m['ssim']:.3f} | {gain} |")
    warn = "".join(f"WARNING: {m}\n\n" for m in result.get("trained_on_evaluated_frames", []))
    return warn + "\n".join(lines)


def enhance_images(weights: str | Path, images: Sequence[Path], out_dir: str | Path) -> int:
    """Enhance 8-bit sRGB PNGs (files, or folders of ``*.png``) with the enhancer of
    ``weights``; writes ``out_dir/<name>.png`` for each and returns how many.

    Raises:
        FileNotFoundError: no PNG among ``images``, or the weights are missing.
    """
    from perception3d.data.kitti import read_image

    files = png_files(images)
    model = load_enhancer(weights)
    for f in files:
        srgb = torch.from_numpy(read_image(f))[None]
        save_png(Path(out_dir) / f"{f.stem}.png", enhance(model, srgb)[0])
    return len(files)
