"""The IQ report's plots (matplotlib, one PNG per measure, one panel per condition)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_bytes
from perception3d.viz.figure import pyplot, save_figure

_TIGHT_BOX = {"tight_layout": False, "bbox_inches": "tight"}  # cropped to the drawn content


def write_plots(curves: dict, out_dir: Path) -> list[Path]:
    """``mtf.png``, ``snr.png``, ``texture.png``, ``colour.png`` from ``curves`` (condition ->
    ISP -> {"mtf", "snr", "texture": [x, y], "delta_e00": (24,)}); returns the paths."""
    plt = pyplot()

    conds = list(curves)
    specs = {
        "mtf": ("e-SFR (slanted edge)", "cycles / pixel", "MTF", False),
        "snr": ("SNR per grey level (step chart)", "log2 reflectance", "SNR (dB)", True),
        "texture": ("dead-leaves texture MTF", "cycles / pixel", "texture MTF", False),
    }
    paths = []
    for key, (title, xlabel, ylabel, log_levels) in specs.items():
        fig, axes = plt.subplots(1, len(conds), figsize=(4 * len(conds), 3.2), squeeze=False)
        for ax, cond in zip(axes[0], conds):
            for isp, c in curves[cond].items():
                x, y = (np.asarray(v, float) for v in c[key])
                if log_levels:  # SNR in dB, shown within [-40, 60] (0 or inf at the ends)
                    x, y = np.log2(x), np.clip(20 * np.log10(np.clip(y, 1e-2, 1e3)), -40, 60)
                ax.plot(x, y, label=isp)
            if log_levels:
                ax.axhline(0.0, color="grey", lw=0.8, ls="--")  # SNR = 1
            else:
                ax.axhline(0.5, color="grey", lw=0.8, ls="--")
                ax.set_xlim(0, 0.5 if key == "texture" else 1.0)
            ax.set_title(cond)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.legend(fontsize=8)
        fig.suptitle(title)
        paths.append(save_figure(fig, out_dir / f"{key}.png", **_TIGHT_BOX))
    fig, axes = plt.subplots(1, len(conds), figsize=(4 * len(conds), 3.2), squeeze=False)
    for ax, cond in zip(axes[0], conds):
        isps = list(curves[cond])
        for j, isp in enumerate(isps):
            de = np.asarray(curves[cond][isp]["delta_e00"])
            ax.bar(np.arange(24) + (j - len(isps) / 2 + 0.5) * 0.8 / len(isps), de,
                   width=0.8 / len(isps), label=isp)  # fmt: skip
        ax.set_title(cond)
        ax.set_xlabel("ColorChecker patch (1 = dark skin ... 24 = black)")
        ax.set_ylabel("CIEDE2000")
        ax.legend(fontsize=8)
    fig.suptitle("colour error per patch")
    paths.append(save_figure(fig, out_dir / "colour.png", **_TIGHT_BOX))
    return paths


def write_montage(images: dict[str, dict[str, np.ndarray]], path: Path, pad: int = 4) -> Path:
    """One row per ISP of its chart outputs ``images[isp][chart]`` (3, H, W) sRGB in [0, 1],
    side by side, as a PNG."""
    from PIL import Image

    rows = []
    for outputs in images.values():
        tiles = list(outputs.values())
        height = max(t.shape[1] for t in tiles)
        padded = [np.pad(t, ((0, 0), (0, height - t.shape[1] + pad), (0, pad)), constant_values=1)
                  for t in tiles]  # fmt: skip
        rows.append(np.concatenate(padded, axis=2))
    width = max(r.shape[2] for r in rows)
    grid = np.concatenate([np.pad(r, ((0, 0), (0, 0), (0, width - r.shape[2])),
                                  constant_values=1) for r in rows], axis=1)  # fmt: skip
    arr = (np.clip(grid, 0, 1).transpose(1, 2, 0) * 255.0 + 0.5).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return atomic_write_bytes(path, buf.getvalue())
