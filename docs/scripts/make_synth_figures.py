"""Make the pictures of docs/synthetic.md from freshly generated synthetic frames.

Run: ``.venv/bin/python docs/scripts/make_synth_figures.py`` (about a minute); writes
``docs/images/synth_*.png``. Everything drawn comes from the files a user gets: image_2,
label_2, velodyne, calib and the extras, read back from a dataset written to a temporary folder.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from perception3d.atomic import atomic_write_bytes
from perception3d.data.kitti import KittiObjectDataset
from perception3d.geometry.boxes import BOX_EDGES, corners_cam, corners_lidar
from perception3d.sim.config import load_synth_config
from perception3d.sim.semantics import SEMANTIC_CLASSES
from perception3d.sim.writer import generate_dataset

OUT = Path(__file__).resolve().parents[1] / "images"
SEED, FRAMES = 0, 24
COLOURS = {
    "Car": "#ff3b30",
    "Van": "#ff9500",
    "Truck": "#af52de",
    "Pedestrian": "#34c759",
    "Person_sitting": "#30d158",
    "Cyclist": "#00c7ff",
    "Tram": "#ffd60a",
    "Misc": "#ff2d55",
    "DontCare": "#ffffff",
}


def _save(fig, name: str, colours: int | None = 256) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    plt.close(fig)
    buf.seek(0)
    image = Image.open(buf).convert("RGB")
    if colours is not None:  # a palette image: a fifth of the size, some banding
        image = image.quantize(colours, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    atomic_write_bytes(OUT / name, out.getvalue())
    print(f"{OUT / name}: {len(out.getvalue()) / 1024:.0f} KiB")


def _draw_image(ax, frame) -> None:
    ax.imshow(frame.image.transpose(1, 2, 0))
    for obj in frame.objects:
        x1, y1, x2, y2 = obj.bbox
        colour = COLOURS.get(obj.type, "white")
        style = "--" if obj.is_dontcare else "-"
        ax.add_patch(
            plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=0.8, ec=colour, ls=style)
        )
        if obj.is_dontcare:
            continue
        corners = corners_cam(obj.box_cam[None])[0]
        uv, depth = frame.calib.rect_to_image(corners)
        if np.all(depth > 0.5):
            for a, b in BOX_EDGES:
                ax.plot(uv[[a, b], 0], uv[[a, b], 1], color=colour, lw=0.5, alpha=0.8)
    h, w = frame.image.shape[1:]
    ax.set_xlim(0, w - 1)
    ax.set_ylim(h - 1, 0)
    ax.axis("off")


def _draw_bev(ax, frame, extent=(-10.0, 50.0, -25.0, 25.0)) -> None:
    p = frame.points
    x0, x1, y0, y1 = extent
    keep = (p[:, 0] > x0) & (p[:, 0] < x1) & (p[:, 1] > y0) & (p[:, 1] < y1)
    # BEV: x forward is up, y left is left.
    ax.scatter(
        -p[keep, 1], p[keep, 0], c=p[keep, 2], s=0.2, cmap="plasma", vmin=-2.6, vmax=1.0, lw=0
    )
    for name, box in zip(frame.names, frame.boxes_lidar):
        c = corners_lidar(box[None])[0][[0, 1, 2, 3, 0]]
        ax.plot(-c[:, 1], c[:, 0], color=COLOURS[name], lw=0.8)
        ax.plot(
            [-box[1], -box[1] - np.sin(box[6]) * box[3] / 2],
            [box[0], box[0] + np.cos(box[6]) * box[3] / 2],
            color=COLOURS[name],
            lw=0.8,
        )
    ax.set_xlim(-y1, -y0)
    ax.set_ylim(x0, x1)
    ax.set_aspect("equal")
    ax.set_facecolor("black")
    ax.set_xticks([])
    ax.set_yticks([])


def pick_frames(root: Path, ds: KittiObjectDataset) -> dict[str, str]:
    """The first sunny frame with at least 4 labelled objects, the first overcast one and the
    first night (from meta/<id>.json)."""
    chosen: dict[str, str] = {}
    for fid in ds.ids:
        meta = json.loads((root / "training" / "meta" / f"{fid}.json").read_text())
        kind = "night" if meta["night"] else ("overcast" if meta["overcast"] else "day")
        labelled = sum(not o.is_dontcare for o in ds.frame(fid).objects)
        if kind not in chosen.values() and (kind != "day" or labelled >= 4):
            chosen[fid] = kind
    order = {"day": 0, "overcast": 1, "night": 2}
    return dict(sorted(chosen.items(), key=lambda item: order[item[1]]))


def frames_figure(ds: KittiObjectDataset, shown: dict[str, str]) -> None:
    fig, axes = plt.subplots(
        len(shown),
        2,
        figsize=(10.0, 2.5 * len(shown)),
        dpi=100,
        gridspec_kw={"width_ratios": [3.31, 0.83]},
    )
    for row, (fid, title) in enumerate(shown.items()):
        frame = ds.frame(fid)
        _draw_image(axes[row, 0], frame)
        axes[row, 0].set_title(
            f"{fid} ({title}): image_2, label_2 2D boxes and 3D boxes", fontsize=8
        )
        _draw_bev(axes[row, 1], frame)
        axes[row, 1].set_title(f"velodyne BEV ({len(frame.points):,} points)", fontsize=8)
    fig.tight_layout(pad=0.3)
    _save(fig, "synth_frames.png", colours=None)


def extras_figure(root: Path, fid: str) -> None:
    d = root / "training"
    radiance = np.load(d / f"radiance_2/{fid}.npy", allow_pickle=False).astype(np.float32)
    depth = np.load(d / f"depth_2/{fid}.npy", allow_pickle=False).astype(np.float32)
    instance = np.asarray(Image.open(d / f"instance_2/{fid}.png")).astype(np.int64)
    semantic = np.asarray(Image.open(d / f"semantic_2/{fid}.png"))
    meta = json.loads((d / f"meta/{fid}.json").read_text())
    fig, axes = plt.subplots(2, 2, figsize=(12.4, 4.2), dpi=100)
    lum = radiance.mean(0)
    im = axes[0, 0].imshow(np.log10(np.maximum(lum, 1e-4)), cmap="inferno", vmin=-3, vmax=2)
    fig.colorbar(im, ax=axes[0, 0], fraction=0.02, pad=0.01, label="log10 radiance")
    axes[0, 0].set_title(
        f"radiance_2 (max {radiance.max():.0f}; exposure {meta['exposure']:.2f})", fontsize=8
    )
    im = axes[0, 1].imshow(
        np.where(np.isfinite(depth), depth, np.nan), cmap="turbo", vmin=0, vmax=80
    )
    fig.colorbar(im, ax=axes[0, 1], fraction=0.02, pad=0.01, label="m")
    axes[0, 1].set_title("depth_2 (inf = sky, white)", fontsize=8)
    palette = np.random.default_rng(1).uniform(0.2, 1.0, (max(int(instance.max()) + 1, 1), 3))
    palette[0] = 0
    axes[1, 0].imshow(palette[np.where(instance > 10000, 0, instance)])
    axes[1, 0].set_title("instance_2 (k = label row k - 1)", fontsize=8)
    cmap = plt.get_cmap("tab20", len(SEMANTIC_CLASSES))
    axes[1, 1].imshow(
        semantic, cmap=cmap, vmin=-0.5, vmax=len(SEMANTIC_CLASSES) - 0.5, interpolation="nearest"
    )
    present = [i for i in np.unique(semantic)]
    handles = [plt.Rectangle((0, 0), 1, 1, color=cmap(i)) for i in present]
    axes[1, 1].legend(
        handles,
        [SEMANTIC_CLASSES[i] for i in present],
        fontsize=6,
        loc="upper left",
        ncol=2,
        framealpha=0.7,
    )
    axes[1, 1].set_title("semantic_2", fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    fig.tight_layout(pad=0.3)
    _save(fig, "synth_extras.png")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "synthkitti"
        cfg = load_synth_config(None, [f"frames={FRAMES}", f"seed={SEED}"])
        generate_dataset(root, cfg, workers=1)
        ds = KittiObjectDataset(root)
        shown = pick_frames(root, ds)
        frames_figure(ds, shown)
        extras_figure(root, next(iter(shown)))


if __name__ == "__main__":
    main()
