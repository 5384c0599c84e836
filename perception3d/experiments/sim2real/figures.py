"""The report's pictures: real against synthetic, one PNG per group of statistics (matplotlib)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from perception3d.experiments.sim2real.fp_kinds import FP_KINDS
from perception3d.experiments.sim2real.neighbours import (
    NEIGHBOUR_EDGES,
    NEIGHBOUR_RADIUS_M,
    PAIR_KINDS,
    PAIR_WITHIN_M,
)
from perception3d.experiments.sim2real.objects import (
    CLEARANCE_EDGES,
    CLUTTER_EDGES,
    DENSITY_EDGES,
    OVERHEAD_BAND_M,
    OVERHEAD_EDGES,
)
from perception3d.experiments.sim2real.stats import EDGES
from perception3d.viz.figure import pyplot, save_figure

__all__ = ["write_figures"]

_COLOURS = {"real": "black", "synthetic": "tab:orange"}


def _title(name: str, entry: dict) -> str:
    js, floor = entry.get("js_distance"), entry.get("real_floor")
    if js is None or not np.isfinite(js):
        return name
    return (
        f"{name}\nJS {js:.3f} (real floor {floor:.3f}; n {entry['groups'][0]}/{entry['groups'][1]})"
    )


def _hist(ax, edges, entry: dict, name: str, xlabel: str) -> None:
    centres = (np.asarray(edges[:-1]) + np.asarray(edges[1:])) / 2
    for key in ("real", "synthetic"):
        h = np.asarray(entry[key], dtype=np.float64)
        if h.sum() > 0:
            ax.step(centres, h / h.sum(), where="mid", color=_COLOURS[key], label=key)
    ax.set_title(_title(name, entry), fontsize=9)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.legend(fontsize=7)


def _objects_figure(stats: dict, path: Path) -> Path:
    plt = pyplot()
    classes = list(stats["objects"]["points_per_object"])
    fig, axes = plt.subplots(5, len(classes), figsize=(4.5 * len(classes), 17.5), squeeze=False)
    for j, cls in enumerate(classes):
        e = stats["objects"]["points_per_object"][cls]
        for key in ("synthetic", "real"):
            pts = np.array(e[f"objects_{key}"], dtype=np.float64).reshape(-1, 2)
            if len(pts):
                axes[0, j].scatter(
                    pts[:, 0],
                    np.maximum(pts[:, 1], 0.8),
                    s=8 if key == "real" else 3,
                    color=_COLOURS[key],
                    label=key,
                    alpha=1.0 if key == "real" else 0.4,
                )
        axes[0, j].set_yscale("log")
        axes[0, j].set_xlabel("distance (m)", fontsize=8)
        axes[0, j].set_ylabel("points in box", fontsize=8)
        axes[0, j].set_title(f"{cls}: points per object", fontsize=9)
        axes[0, j].legend(fontsize=7)
        _hist(
            axes[1, j],
            DENSITY_EDGES,
            e,
            f"{cls}: log2(points at 10 m)",
            "log2(count x (d / 10 m)^2)",
        )
        obj = stats["objects"]
        _bin_axes(axes[2, j], obj["clearance"][cls], CLEARANCE_EDGES, f"{cls}: clearance", "m")
        _bin_axes(
            axes[3, j],
            obj["clutter"][cls],
            CLUTTER_EDGES,
            f"{cls}: clutter within 2 m",
            "standing returns x (distance / 30 m)^2",
        )
        low, high = OVERHEAD_BAND_M
        _bin_axes(
            axes[4, j],
            obj["overhead"][cls],
            OVERHEAD_EDGES,
            f"{cls}: returns overhead",
            f"returns over the footprint, {low:g}-{high:g} m above the box",
        )
    return save_figure(fig, path)


def _bin_axes(ax, entry: dict, edges: np.ndarray, name: str, xlabel: str) -> None:
    """A histogram on its bin indices (bins of unequal width, the last open), the edges as
    ticks."""
    bins = len(edges) - 1
    _hist(ax, np.arange(bins + 1), entry, name, xlabel)
    ax.set_xticks(np.arange(bins), [f"{e:g}" for e in edges[:-1]])


def _neighbours_figure(stats: dict, path: Path) -> Path:
    """Per class the same-class neighbours per object; the cars' nearest-car arrangement."""
    plt = pyplot()
    per_class = stats["objects"]["neighbours"]
    pairs = stats["objects"].get("car_pairs")
    panels = len(per_class) + (pairs is not None)
    fig, axes = plt.subplots(1, panels, figsize=(4.5 * panels, 4), squeeze=False)
    for ax, (cls, entry) in zip(axes[0], per_class.items()):
        radius = NEIGHBOUR_RADIUS_M[cls]
        _bin_axes(ax, entry, NEIGHBOUR_EDGES, f"{cls}: neighbours within {radius:g} m", "")
        ax.set_xlabel(f"other {cls} centres within {radius:g} m (last bin: 8 or more)", fontsize=8)
    if pairs is not None:
        ax = axes[0, -1]
        for i, key in enumerate(("real", "synthetic")):
            h = np.asarray(pairs[key], dtype=np.float64)
            share = h / h.sum() if h.sum() > 0 else h
            ax.bar(np.arange(2) + 0.4 * i, share, width=0.4, color=_COLOURS[key], label=key)
        ax.set_xticks(np.arange(2) + 0.2, PAIR_KINDS)
        ax.set_ylabel("share of cars", fontsize=8)
        ax.set_title(_title(f"Car: nearest car within {PAIR_WITHIN_M:g} m", pairs), fontsize=9)
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def _reflectivity_figure(stats: dict, path: Path) -> Path:
    plt = pyplot()
    panels = [
        (f"{c} points", stats["objects"]["reflectivity"][c])
        for c in stats["objects"]["reflectivity"]
    ]
    for key in ("intensity/background", "intensity/ground", "intensity/standing"):
        panels.append((key.split("/")[1] + " points", stats["histograms"][key]))
    fig, axes = plt.subplots(2, 3, figsize=(14, 7))
    for ax, (name, entry) in zip(axes.ravel(), panels):
        _hist(ax, EDGES["intensity/ground"], entry, f"reflectivity: {name}", "intensity")
    return save_figure(fig, path)


def _raydrop_figure(stats: dict, path: Path) -> Path:
    plt = pyplot()
    rd = stats["ray_drop"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for key in ("real", "synthetic"):
        share = [np.nan if v is None else v for v in rd["empty_share_per_beam"][key]]
        axes[0].plot(np.arange(len(share)), share, color=_COLOURS[key], label=key)
    axes[0].set_xlabel("beam (0 = highest)", fontsize=8)
    axes[0].set_ylabel("empty share of counted cells", fontsize=8)
    axes[0].set_title(
        f"empty cells per beam\nmean |difference| {rd['empty_share_mean_abs_difference']:.3f}",
        fontsize=9,
    )
    axes[0].legend(fontsize=7)
    for ax, axis, edges, unit in (
        (axes[1], "range", EDGES["holes_vs_range"], "range (m)"),
        (axes[2], "incidence", EDGES["holes_vs_incidence"], "incidence (deg)"),
    ):
        e = rd[f"holes_vs_{axis}"]
        centres = (edges[:-1] + edges[1:]) / 2
        for key in ("real", "synthetic"):
            share = [np.nan if v is None else v for v in e[f"drop_share_{key}"]]
            ax.plot(centres, share, "o-", color=_COLOURS[key], label=key)
        ax.set_xlabel(unit, fontsize=8)
        ax.set_ylabel("holes / (holes + returns)", fontsize=8)
        ax.set_title(_title(f"ray drop vs {axis}", e), fontsize=9)
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def _geometry_figure(stats: dict, path: Path) -> Path:
    plt = pyplot()
    h = stats["histograms"]
    fig, axes = plt.subplots(2, 4, figsize=(20, 8))
    _hist(axes[0, 0], EDGES["range_noise"], h["range_noise"], "range error on planar patches", "m")
    _hist(
        axes[0, 1],
        EDGES["ground_cell_height"],
        h["ground_cell_height"],
        "ground height per 2 m cell",
        "z (m, LiDAR)",
    )
    _hist(
        axes[0, 2],
        EDGES["height_above_ground"],
        h["height_above_ground"],
        "height of standing returns",
        "above ground (m)",
    )
    _hist(axes[1, 0], EDGES["range"], h["range"], "range of returns (FOV)", "m")
    g = stats["ground"]
    for key in ("real", "synthetic"):
        axes[1, 1].scatter(
            g[key]["pitch_deg"]["values"],
            g[key]["roll_deg"]["values"],
            s=10,
            color=_COLOURS[key],
            label=key,
        )
        axes[1, 2].hist(
            g[key]["height_m"]["values"],
            bins=np.arange(1.5, 2.0, 0.02),
            histtype="step",
            density=True,
            color=_COLOURS[key],
            label=key,
        )
        axes[1, 3].hist(
            np.asarray(g[key]["curve_per_m"]["values"]) * 40.0**2,
            bins=np.arange(-1.0, 1.01, 0.1),
            histtype="step",
            density=True,
            color=_COLOURS[key],
            label=f"{key} (rms k {g[key]['curve_per_m']['rms']:.1e} /m)",
        )
    axes[1, 1].set_xlabel("ground pitch (deg)", fontsize=8)
    axes[1, 1].set_ylabel("ground roll (deg)", fontsize=8)
    axes[1, 1].set_title("ground plane per frame", fontsize=9)
    axes[1, 2].set_xlabel("sensor height above ground (m)", fontsize=8)
    axes[1, 2].set_title("sensor height per frame", fontsize=9)
    axes[1, 3].set_xlabel("ground 40 m ahead above the near plane, k x 40^2 (m)", fontsize=8)
    axes[1, 3].set_title("vertical curve of the road ahead per frame", fontsize=9)
    axes[0, 3].axis("off")
    for ax in axes[1, 1:]:
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def _fp_figure(stats: dict, path: Path) -> Path:
    plt = pyplot()
    fp = stats["detection"]["false_positives"]
    sets = [k for k in ("real", "synthetic") if k in fp]
    classes = list(fp[sets[0]]) if sets else []
    fig, axes = plt.subplots(
        1, max(len(classes), 1), figsize=(6 * max(len(classes), 1), 4.5), squeeze=False
    )
    for ax, cls in zip(axes[0], classes):
        width = 0.8 / len(sets)
        for i, key in enumerate(sets):
            e = fp[key][cls]
            per_frame = [e["counts"][k] / max(e["frames"], 1) for k in FP_KINDS]
            ax.barh(
                np.arange(len(FP_KINDS)) + i * width,
                per_frame,
                height=width,
                color=_COLOURS[key],
                label=f"{key} ({sum(e['counts'].values())} in {e['frames']} frames)",
            )
        ax.set_yticks(np.arange(len(FP_KINDS)) + 0.4 - width / 2, FP_KINDS, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("false positives per frame", fontsize=8)
        ax.set_title(f"{cls} false positives by what they hit", fontsize=9)
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def write_figures(stats: dict, out: Path) -> list[Path]:
    """``objects.png``, ``neighbours.png``, ``reflectivity.png``, ``ray_drop.png``,
    ``geometry.png`` and, with detections, ``false_positives.png`` in ``out``."""
    paths = [
        _objects_figure(stats, out / "objects.png"),
        _neighbours_figure(stats, out / "neighbours.png"),
        _reflectivity_figure(stats, out / "reflectivity.png"),
        _raydrop_figure(stats, out / "ray_drop.png"),
        _geometry_figure(stats, out / "geometry.png"),
    ]
    if stats.get("detection", {}).get("false_positives"):
        paths.append(_fp_figure(stats, out / "false_positives.png"))
    return paths
