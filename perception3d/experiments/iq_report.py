"""``perception3d isp iq-report``: image-quality attributes of the shipped ISPs, measured on
test charts imaged through a lens (:mod:`perception3d.isp.iq.optics`) and the sensor model
(:mod:`perception3d.isp.sensor`) in each capture condition.

Charts: a slanted edge (sharpness, ISO 12233 e-SFR), a step chart of 24 greys 0.75 stop apart
and an opaque patch (SNR per level, dynamic range), the 24-patch ColorChecker (CIEDE2000), a
flat field (vignetting), a dot grid (distortion) and a dead-leaves chart with a uniform patch
(texture MTF). Per condition every chart is captured once (seeded) and the same raw frame goes
through every ISP of the condition; the output is stored as 8-bit sRGB (what ``isp run``
writes), then decoded with the inverse sRGB curve to linear for the measures (colour is read in
CIE L*a*b* D50 from the same decoding).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from perception3d.atomic import atomic_write_text
from perception3d.config import load_config
from perception3d.isp.color import srgb_to_linear
from perception3d.isp.iq import charts, colorchecker
from perception3d.isp.iq.distortion import dot_centroids, fit_radial_distortion
from perception3d.isp.iq.noise import dynamic_range_stops, patch_stats, snr_per_level
from perception3d.isp.iq.optics import Lens, image_chart
from perception3d.isp.iq.sfr import Sfr, mtf50, slanted_edge_sfr
from perception3d.isp.iq.texture import texture_mtf
from perception3d.isp.iq.vignetting import flat_field_falloff
from perception3d.isp.pipeline import IspPipeline, PipelineConfig
from perception3d.isp.sensor import SensorParams, apply_haze, capture
from perception3d.runtime import torch_threads

LUMA = np.array([0.2126, 0.7152, 0.0722])
# chart name -> (width, height) in pixels
CHART_SIZES = {
    "edge": (128, 128),
    "steps": (160, 160),
    "colorchecker": (192, 128),
    "flat": (192, 128),
    "dots": (192, 128),
    "dead_leaves": (256, 128),
}


@dataclasses.dataclass(frozen=True)
class IqCondition:
    """A capture condition of the report.

    Attributes:
        name: shown in the tables.
        iso: the sensor's ISO (the default :class:`SensorParams` camera otherwise).
        exposure_white: linear raw value of reflectance 1.0 (the exposure; > 1 clips the
            brightest patches: the HDR condition).
        mor_m: haze meteorological optical range, metres (0: no haze).
        chart_distance_m: distance of the charts (haze depth), metres.
        airlight: haze airlight, relative to the charts' white illumination.
        isps: ISP name -> pipeline config (``configs/isp/*.yaml``).
    """

    name: str
    iso: float
    exposure_white: float
    isps: dict[str, Path]
    mor_m: float = 0.0
    chart_distance_m: float = 50.0
    airlight: float = 0.9


@dataclasses.dataclass(frozen=True)
class IqReportConfig:
    """``configs/isp/iq_report.yaml``: the conditions, the lens, the step chart, the seed."""

    conditions: list[IqCondition]
    lens: Lens = dataclasses.field(default_factory=Lens)
    step_stops: float = 0.75
    seed: int = 0
    threads: int = 2


def load_iq_report_config(path: Path, overrides=()) -> IqReportConfig:
    """Load and check an IQ report config."""
    cfg = load_config(path, IqReportConfig, overrides)
    if not cfg.conditions:
        raise ValueError(f"{path}: 'conditions' is empty")
    return cfg


def make_charts(cfg: IqReportConfig) -> dict[str, dict]:
    """Chart name -> {"radiance": (3, H, W) through the lens, "ideal": (3, H, W) without
    blur or distortion (dead leaves only), layout facts}."""
    rng = np.random.default_rng(cfg.seed)
    levels = charts.step_levels(24, cfg.step_stops)
    fns = {
        "edge": charts.slanted_edge_chart(*CHART_SIZES["edge"]),
        "steps": charts.step_chart(*CHART_SIZES["steps"], levels),
        "colorchecker": lambda x, y: colorchecker.render(x, y, *CHART_SIZES["colorchecker"]),
        "flat": charts.flat_chart(0.3),
        "dots": charts.dot_chart(*CHART_SIZES["dots"]),
        "dead_leaves": charts.dead_leaves_chart(
            *CHART_SIZES["dead_leaves"], charts.dead_leaves_disks(128, rng)
        ),
    }
    out = {name: {"radiance": image_chart(fn, *CHART_SIZES[name], cfg.lens)}
           for name, fn in fns.items()}  # fmt: skip
    sharp = dataclasses.replace(cfg.lens, blur_sigma_px=0.0, distortion_k1=0.0)
    out["dead_leaves"]["ideal"] = image_chart(
        fns["dead_leaves"], *CHART_SIZES["dead_leaves"], sharp
    )
    out["steps"]["levels"] = levels
    return out


def capture_chart(radiance: np.ndarray, cond: IqCondition, seed: list[int]):
    """Raw (1, 1, H, W) + meta of chart ``radiance`` (3, H, W) under ``cond``."""
    rad = torch.from_numpy(radiance.astype(np.float32))[None]
    if cond.mor_m > 0:
        depth = torch.full((1, 1, *rad.shape[-2:]), cond.chart_distance_m)
        rad = apply_haze(rad, depth, cond.mor_m, cond.airlight)
    params = SensorParams(iso=cond.iso)
    per_second = params.linear_scale / params.exposure_s
    params = dataclasses.replace(params, exposure_s=cond.exposure_white / per_second)
    gen = torch.Generator().manual_seed(int(np.random.SeedSequence(seed).generate_state(1)[0]))
    return capture(rad, params, gen)


def to_srgb8(srgb: torch.Tensor) -> np.ndarray:
    """(3, H, W) float32 of a (1, 3, H, W) sRGB output rounded to 8-bit levels (as stored)."""
    return (torch.round(srgb[0].clamp(0, 1) * 255.0) / 255.0).float().numpy()


def measure(linear: dict[str, np.ndarray], chart: dict[str, dict]) -> tuple[dict, dict]:
    """(metrics, curves) of one ISP's outputs ``linear`` (chart name -> (3, H, W))."""
    lum = {k: np.tensordot(LUMA, v, axes=1) for k, v in linear.items()}
    try:
        sfr = slanted_edge_sfr(lum["edge"][16:-16, 16:-16])
    except ValueError:  # the edge clipped away (both sides saturated)
        sfr = Sfr(np.zeros(0), np.zeros(0), float("nan"), float("nan"))
    levels = chart["steps"]["levels"]
    cells = charts.step_cells(*CHART_SIZES["steps"], len(levels))
    means, stds = patch_stats(lum["steps"], cells)
    snr = snr_per_level(means, stds)
    i18 = int(np.argmin(np.abs(levels - 0.18)))
    dr = dynamic_range_stops(levels, means, snr)
    snr_shown = snr[:-1].copy()
    snr_shown[: dr["clipped_patches"]] = np.nan  # clipped patches have no noise left

    colour = colorchecker.colour_errors(colorchecker.patch_means(linear["colorchecker"]))
    try:
        w, h = CHART_SIZES["dots"]
        lattice = charts.dot_centres(w, h, 16.0)
        dist = fit_radial_distortion(dot_centroids(lum["dots"]), lattice, w, h)
        dist["reliable"] = dist["dots"] == len(lattice) and dist["rms_residual_px"] < 0.5
    except ValueError:  # the dots were not found
        dist = {"k1": float("nan"), "tv_distortion_pct": float("nan"), "reliable": False}
    n = CHART_SIZES["dead_leaves"][1]
    ideal = np.tensordot(LUMA, chart["dead_leaves"]["ideal"], axes=1)[:, :n]
    leaves = lum["dead_leaves"]
    ideal = ideal * leaves[:, :n].mean() / ideal.mean()
    f_tex, m_tex = texture_mtf(leaves[:, :n], leaves[:, n:], ideal)
    metrics = {
        "mtf50_cy_px": sfr.mtf50_cy_px,
        "edge_angle_deg": sfr.edge_angle_deg,
        "snr_db_at_18pct": 20.0 * math.log10(max(snr[i18], 1e-6)),
        "dynamic_range": dr,
        "colour": {k: v for k, v in colour.items() if k != "delta_e00"},
        "vignetting_pct": flat_field_falloff(lum["flat"])["falloff_pct"],
        "distortion": dist,
        "texture_mtf50_cy_px": mtf50(f_tex, m_tex),
        "texture_mtf_at_0.25": float(np.interp(0.25, f_tex, m_tex)),
    }
    curves = {
        "mtf": [sfr.freq_cy_px.tolist(), sfr.mtf.tolist()],
        "snr": [levels[:-1].tolist(), snr_shown.tolist()],
        "texture": [f_tex.tolist(), m_tex.tolist()],
        "delta_e00": colour["delta_e00"],
    }
    return metrics, curves


def run_condition(cfg: IqReportConfig, index: int, chart: dict):
    """(metrics per ISP, curves per ISP, raw facts, 8-bit outputs per ISP) of condition
    ``index``."""
    cond = cfg.conditions[index]
    raws = {name: capture_chart(c["radiance"], cond, [cfg.seed, index, i])
            for i, (name, c) in enumerate(chart.items())}  # fmt: skip
    flat_raw = raws["flat"][0][0, 0].double().numpy()
    raw_facts = {"raw_vignetting_pct": flat_field_falloff(flat_raw[0::2, 1::2])["falloff_pct"]}
    metrics, curves, images = {}, {}, {}
    for isp_name, isp_path in cond.isps.items():
        pipeline = IspPipeline(load_config(isp_path, PipelineConfig))
        srgb8 = {name: to_srgb8(pipeline(raw, meta)) for name, (raw, meta) in raws.items()}
        linear = {name: srgb_to_linear(torch.from_numpy(v)).double().numpy()
                  for name, v in srgb8.items()}  # fmt: skip
        metrics[isp_name], curves[isp_name] = measure(linear, chart)
        metrics[isp_name]["isp_config"] = str(isp_path.name)
        images[isp_name] = srgb8
    return metrics, curves, raw_facts, images


def table_rows(result: dict) -> list[dict]:
    """One row per (condition, ISP): the headline figures."""
    rows = []
    for cond, by_isp in result["conditions"].items():
        for isp, m in by_isp["isps"].items():
            rows.append({
                "condition": cond, "isp": isp,
                "MTF50 (cy/px)": round(m["mtf50_cy_px"], 3),
                "SNR 18% (dB)": round(m["snr_db_at_18pct"], 1),
                "DR (stops)": round(m["dynamic_range"]["stops"], 2),
                "dE00 mean": round(m["colour"]["mean"], 2),
                "dE00 max": round(m["colour"]["max"], 2),
                "vignetting (%)": round(m["vignetting_pct"], 1),
                "TV distortion (%)": round(m["distortion"]["tv_distortion_pct"], 2)
                if m["distortion"]["reliable"] else float("nan"),
                "texture MTF50 (cy/px)": round(m["texture_mtf50_cy_px"], 3),
                "texture MTF @0.25": round(m["texture_mtf_at_0.25"], 2),
            })  # fmt: skip
    return rows


def run_iq_report(cfg: IqReportConfig, out_dir: Path, log=print) -> dict:
    """Measure every condition x ISP; write ``iq_report.json`` (all figures),
    ``iq_table.json`` (the headline table), ``curves.json``, PNG plots and ``iq_report.html``
    to ``out_dir``. Returns the result dict."""
    from perception3d.experiments.iq_report_plots import write_montage, write_plots
    from perception3d.viz.report import build_report

    out_dir = Path(out_dir)
    t0 = time.time()
    with torch_threads(cfg.threads):
        chart = make_charts(cfg)
        result: dict = {"lens": dataclasses.asdict(cfg.lens), "conditions": {}}
        all_curves: dict = {}
        pngs: list[Path] = []
        for i, cond in enumerate(cfg.conditions):
            metrics, curves, raw_facts, images = run_condition(cfg, i, chart)
            result["conditions"][cond.name] = {"isps": metrics, **raw_facts}
            all_curves[cond.name] = curves
            pngs.append(write_montage(images, out_dir / f"charts_{cond.name}.png"))
            log(f"iq-report: {cond.name} done ({time.time() - t0:.1f} s)")
    result["time_s"] = round(time.time() - t0, 1)
    rows = table_rows(result)
    atomic_write_text(out_dir / "iq_report.json", json.dumps(json_safe(result), indent=2))
    atomic_write_text(out_dir / "iq_table.json", json.dumps(json_safe(rows), indent=2))
    atomic_write_text(out_dir / "curves.json", json.dumps(json_safe(all_curves)))
    pngs = [*write_plots(all_curves, out_dir), *pngs]
    build_report([out_dir / "iq_table.json", out_dir / "iq_report.json", *pngs],
                 out_dir / "iq_report.html", "perception3d image-quality report")  # fmt: skip
    result["table"] = rows
    return result


def json_safe(value):
    """``value`` with every non-finite float replaced by None (strict JSON has no NaN).

    Example:
        >>> json_safe({"a": [1.0, float("nan")]})
        {'a': [1.0, None]}
    """
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def format_iq_table(rows: list[dict]) -> str:
    """The headline table as Markdown."""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)
