"""Is the sensor model's noise that of a real KITTI camera? Noise level against intensity of
real ``image_2`` frames beside that of the model's captures of the same frames.

For each real frame (``perception3d isp noise-check --data-root ROOT``):

- ``real``: :func:`perception3d.isp.noise_level.block_noise` of ``image_2`` itself (the Flea2's
  noise after its own pipeline, plus whatever texture the flattest blocks keep);
- ``floor``: the same of ``image_2`` blurred (Gaussian, sigma 1.5 px): texture and residual
  noise that are not the camera's, the floor of the estimator on this content;
- ``<condition>/<isp>``: the blurred frame unprocessed (:mod:`perception3d.isp.real_capture`),
  captured under an ISP-effect condition (:func:`capture_condition`, exposure 1: the real
  camera's white at the raw's full scale) and developed by an ISP of the experiment
  (:func:`perception3d.experiments.isp_effect_sources._pipeline`), displayed as the experiment does.

Tiles of all frames are pooled per source and turned into a curve (10th percentile of the
noise per intensity bin). ``noise_check.json`` holds the curves, ``noise_check.png`` plots them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from perception3d.atomic import atomic_write_text
from perception3d.data.kitti import read_image
from perception3d.experiments.isp_effect_capture import Condition, capture_condition
from perception3d.isp.noise_level import block_noise, noise_level_curve
from perception3d.isp.real_capture import linearize_display

DEFAULT_SOURCES = (
    ("clean", "none"),
    ("clean", "classical"),
    ("lowlight_1e-2", "none"),
    ("lowlight_1e-2", "learned"),
)
CONDITIONS = {
    "clean": Condition("clean", "clean"),
    "lowlight_1e-2": Condition("lowlight_1e-2", "lowlight", 0.01),
    "lowlight_3e-3": Condition("lowlight_3e-3", "lowlight", 0.003),
}


def _simulated(blurred: np.ndarray, condition: Condition, isp: str, seed: int) -> np.ndarray:
    """The experiment's displayed image (3, H, W) of ``blurred`` under ``condition``."""
    from perception3d.experiments.isp_effect_sources import _pipeline, display_srgb

    rad = linearize_display(torch.from_numpy(blurred))[None]
    depth = torch.full((1, 1, *rad.shape[-2:]), float("inf"))
    raw, meta, _, gain = capture_condition(rad, depth, 1.0, condition, seed, 0)
    pipeline = _pipeline(isp, condition)
    with torch.inference_mode():
        linear = pipeline.raw_to_linear(raw, meta)
    return display_srgb(linear, gain)[0].numpy()


def png_files(paths: list[Path]) -> list[Path]:
    """The PNG files named in ``paths``, folders expanded to their ``*.png`` (sorted).

    Raises:
        FileNotFoundError: a path that does not exist, or no PNG at all.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(p.glob("*.png")))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    if not out:
        raise FileNotFoundError(f"no PNG image in {[str(p) for p in paths]}")
    return out


def noise_check(
    image_paths: list[Path],
    out: Path,
    sources: tuple[tuple[str, str], ...] = DEFAULT_SOURCES,
    seed: int = 0,
) -> dict:
    """Noise curves of the real frames ``image_paths`` and of the model's captures of them;
    writes ``out/noise_check.json`` and ``out/noise_check.png``. Returns the JSON dict."""
    if not image_paths:
        raise ValueError("noise_check: no image")
    tiles: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for path in image_paths:
        img = read_image(path)
        blurred = ndimage.gaussian_filter(img, (0, 1.5, 1.5))
        tiles.setdefault("real", []).append(block_noise(img))
        tiles.setdefault("floor", []).append(block_noise(blurred))
        for cond_name, isp in sources:
            sim = _simulated(blurred, CONDITIONS[cond_name], isp, seed)
            tiles.setdefault(f"{cond_name}/{isp}", []).append(block_noise(sim))
    curves = {}
    for name, parts in tiles.items():
        levels = np.concatenate([p[0] for p in parts])
        sigmas = np.concatenate([p[1] for p in parts])
        curves[name] = noise_level_curve(levels, sigmas)
    result = {
        "frames": [str(p) for p in image_paths],
        "estimator": "10th percentile of 8 x 8 tile noise (luma codes) per intensity bin",
        "curves": curves,
    }
    atomic_write_text(Path(out) / "noise_check.json", json.dumps(result, indent=1) + "\n")
    _plot(curves, Path(out) / "noise_check.png")
    return result


def _plot(curves: dict, path: Path) -> None:
    from perception3d.viz.figure import pyplot, save_figure

    fig, ax = pyplot().subplots(figsize=(7, 4.2))
    for name, curve in curves.items():
        style = {"real": "k-o", "floor": "k:"}.get(name, "-s")
        ax.plot([c["level"] for c in curve], [c["sigma"] for c in curve], style, label=name, ms=4)
    ax.set_xlabel("mean luma of the tile (8-bit code)")
    ax.set_ylabel("noise std (codes), flattest 10 % of tiles")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.set_title("noise of real KITTI image_2 vs the sensor model on the same frames")
    save_figure(fig, path, dpi=110)


__all__ = ["noise_check", "png_files"]
