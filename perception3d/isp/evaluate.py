"""Held-out comparison of no ISP, the classical baseline and the learned stages in the three
hard conditions; JSON metrics and a side-by-side PNG grid.

Per condition (inputs made by :mod:`perception3d.isp.conditions`, each frame seeded by
``(seed, frame, condition)``, the condition by its place in ``EVAL_CONDITIONS``, so that a run
of some conditions draws the same captures as the full run):

- lowlight: input raw + metadata; none = bilinear demosaic, white balance, colour matrix;
  classical = Malvar demosaic + NL-means; learned = RawUNet; sRGB PSNR/SSIM.
- hdr: input 8-bit LDR through an unknown camera response; none = the LDR read as linear;
  classical = inverse sRGB response; learned = HdrNet; mu-law PSNR/SSIM (and log PSNR).
- haze: input 8-bit hazy sRGB; none = the hazy image; classical = dark channel prior with
  guided filter; learned = DehazeNet; sRGB PSNR/SSIM.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from perception3d.atomic import atomic_write_bytes, atomic_write_text
from perception3d.isp import classic
from perception3d.isp import conditions as cond
from perception3d.isp.color import linear_to_srgb, mu_law, srgb_to_linear
from perception3d.isp.data import Scene
from perception3d.isp.metrics import hdr_normalizer, log_psnr, mu_psnr, mu_ssim, psnr, ssim
from perception3d.isp.models import set_precision
from perception3d.isp.weights import learned_raw_to_linear

EVAL_CONDITIONS = ("lowlight", "hdr", "haze")
METHODS = ("none", "classical", "learned")


def _display(condition: str, linear: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """sRGB picture for the grid (HDR: mu-law of the reference-normalized image)."""
    if condition == "hdr":
        return mu_law((linear / hdr_normalizer(reference)).clamp(0, 1))
    return linear_to_srgb(linear)


STAGE_OF = {"lowlight": "raw", "hdr": "hdr", "haze": "dehaze"}  # the learned stage per condition


def run_condition(condition: str, scene: Scene, rng, models, denoise: str = "nlmeans"):
    """Outputs (linear, per method), the reference (linear) and facts about the capture
    (``info``; HDR: the response's gamma, 0 = sRGB, the clipped share of pixels and the
    reference's peak over the clip level) of one frame."""
    rad = torch.from_numpy(scene.radiance)[None]
    depth = torch.from_numpy(scene.depth)[None, None]
    out: dict[str, torch.Tensor] = {}
    with torch.inference_mode():
        if condition == "lowlight":
            s = cond.make_raw_sample(rad, rng, "lowlight")
            info = {}
            out["none"] = classic.raw_to_linear(s.raw, s.meta, "bilinear")
            out["classical"] = classic.raw_to_linear(s.raw, s.meta, "malvar", denoise=denoise)
            if models.get("raw") is not None:
                out["learned"] = learned_raw_to_linear(models["raw"], s.raw, s.meta)
            return out, s.reference_linear, info
        if condition == "hdr":
            s = cond.make_hdr_sample(rad, rng)
            info = hdr_info(s)
            out["none"] = s.input_srgb
            out["classical"] = classic.ldr_to_hdr(s.input_srgb)
            if models.get("hdr") is not None:
                out["learned"] = models["hdr"](s.input_srgb)
            return out, s.reference_linear, info
        if condition == "haze":
            s = cond.make_haze_sample(rad, depth, rng)
            info = {}
            out["none"] = srgb_to_linear(s.input_srgb)
            out["classical"] = classic.dehaze(srgb_to_linear(s.input_srgb))
            if models.get("dehaze") is not None:
                out["learned"] = models["dehaze"](s.input_srgb)
            return out, s.reference_linear, info
    raise ValueError(f"condition must be one of {EVAL_CONDITIONS}, got {condition!r}")


def hdr_info(sample: cond.ImageSample) -> dict[str, float]:
    """What an HDR capture is made of: ``crf_gamma`` (0: the sRGB curve), ``clipped`` (share
    of pixels whose brightest channel is at the top code), ``peak`` (the reference's maximum
    over the clip level)."""
    return {
        "crf_gamma": float(sample.extras["crf_gamma"][0]),
        "clipped": float((sample.input_srgb.amax(dim=1) >= 1.0).float().mean()),
        "peak": float(sample.reference_linear.max()),
    }


def frame_metrics(condition: str, pred: torch.Tensor, ref: torch.Tensor) -> dict[str, float]:
    if condition == "hdr":
        return {
            "psnr": float(mu_psnr(pred, ref)),
            "ssim": float(mu_ssim(pred, ref)),
            "log_psnr": float(log_psnr(pred, ref)),
        }
    p, r = linear_to_srgb(pred), linear_to_srgb(ref)
    return {"psnr": float(psnr(p, r)), "ssim": float(ssim(p, r))}


def evaluate(
    scenes: Sequence[Scene],
    models: Mapping[str, torch.nn.Module | None],
    out_dir: Path,
    seed: int = 1234,
    conditions: Sequence[str] = EVAL_CONDITIONS,
    denoise: str = "nlmeans",
    log=print,
    precision: str = "float32",
    trained_on: Sequence[str] = (),
) -> dict:
    """Evaluate every method on every scene in ``conditions``; write ``metrics.json`` and
    ``grid.png`` (one row per condition: input, classical, learned, reference) to
    ``out_dir``; ``precision``: the learned models'
    (:func:`perception3d.isp.models.set_precision`); ``trained_on``: warnings that some
    scenes are frames the stages were trained on (kept in the metrics, key
    ``trained_on_evaluated_frames``). Returns the metrics dict."""
    for model in models.values():
        if model is not None:
            set_precision(model, precision)
    result: dict = {"conditions": {}, "frames": [s.name for s in scenes], "seed": seed}
    result["trained_on_evaluated_frames"] = list(trained_on)
    rows = []
    t0 = time.time()
    for condition in conditions:
        per: dict[str, list[dict]] = {m: [] for m in METHODS}
        infos = []
        if condition not in EVAL_CONDITIONS:
            raise ValueError(f"condition must be one of {EVAL_CONDITIONS}, got {condition!r}")
        ci = EVAL_CONDITIONS.index(condition)  # a run of one condition draws the full run's
        for fi, scene in enumerate(scenes):
            rng = np.random.default_rng([seed, fi, ci])
            outs, ref, info = run_condition(condition, scene, rng, models, denoise)
            infos.append(info)
            for method, pred in outs.items():
                per[method].append(frame_metrics(condition, pred, ref))
            if fi == 0:
                pics = [outs["none"], outs["classical"], outs.get("learned", outs["none"]), ref]
                rows.append(torch.cat([_display(condition, p, ref)[0] for p in pics], dim=2))
        result["conditions"][condition] = summarize_condition(per) | {"frame_info": infos}
        block = result["conditions"][condition]
        log(
            f"  {condition:9s} "
            + "  ".join(
                f"{m} {s['psnr']:.2f} dB / {s['ssim']:.3f}" for m, s in block["mean"].items()
            )
            + (_gain_text(block["gain"]) if "gain" in block else "")
        )
    result["time_s"] = time.time() - t0
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "metrics.json", json.dumps(result, indent=2))
    if rows:
        save_png(out_dir / "grid.png", torch.cat(rows, dim=1))
    return result


def _gain_text(gain: dict) -> str:
    return (
        f"  learned - classical {gain['mean']:+.2f} / {gain['median']:+.2f} dB (mean / median), "
        f"won {gain['frames_won']} of {gain['frames']}"
    )


def summarize_condition(per: Mapping[str, list[dict]]) -> dict:
    """Mean and median of every metric per method, and the learned stage's per-frame PSNR gain
    over the classical baseline (``gain``: mean, median, min, max, frames won), from
    ``per`` (method -> one metrics dict per frame). The median is reported beside the mean
    because a few frames can carry the mean (docs/isp.md: HDR +3.88 dB mean, +1.24 median).

    Example:
        >>> per = {"classical": [{"psnr": 10.0}, {"psnr": 10.0}, {"psnr": 10.0}],
        ...        "learned": [{"psnr": 11.0}, {"psnr": 9.0}, {"psnr": 19.0}]}
        >>> g = summarize_condition(per)["gain"]
        >>> g["mean"], g["median"], g["frames_won"]
        (3.0, 1.0, 2)
    """
    block: dict = {"mean": {}, "median": {}, "per_frame": dict(per)}
    for method, vals in per.items():
        if vals:
            for stat, fn in (("mean", np.mean), ("median", np.median)):
                block[stat][method] = {k: float(fn([v[k] for v in vals])) for k in vals[0]}
                block[stat][method]["frames"] = len(vals)
    if per.get("learned") and per.get("classical"):
        diff = np.array([a["psnr"] - b["psnr"] for a, b in zip(per["learned"], per["classical"])])
        block["gain"] = {
            "mean": float(diff.mean()),
            "median": float(np.median(diff)),
            "min": float(diff.min()),
            "max": float(diff.max()),
            "frames_won": int((diff > 0).sum()),
            "frames": len(diff),
            "per_frame_db": diff.tolist(),
        }
    return block


def save_png(path: Path, srgb: torch.Tensor) -> Path:
    """Write (3, H, W) sRGB in [0, 1] as an 8-bit PNG, atomically."""
    from PIL import Image

    arr = (srgb.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return atomic_write_bytes(path, buf.getvalue())


def format_table(result: dict) -> str:
    """Markdown table per condition: mean PSNR/SSIM of each method, and the learned stage's
    gain over the classical baseline as mean / median over frames with the frames it won."""
    lines = [
        "| condition | metric | no ISP | classical | learned | learned - classical "
        "(mean / median; frames won) |",
        "|---|---|---|---|---|---|",
    ]
    for condition, block in result.get("conditions", {}).items():
        m = block["mean"]
        metric = "mu-law PSNR / SSIM" if condition == "hdr" else "sRGB PSNR / SSIM"
        cells = [f"{m[k]['psnr']:.2f} dB / {m[k]['ssim']:.3f}" if k in m else "-" for k in METHODS]
        g = block.get("gain")
        gain = (
            f"{g['mean']:+.2f} / {g['median']:+.2f} dB; {g['frames_won']} of {g['frames']}"
            if g
            else "-"
        )
        lines.append(f"| {condition} | {metric} | " + " | ".join(cells) + f" | {gain} |")
    seen = "".join(f"WARNING: {m}\n\n" for m in result.get("trained_on_evaluated_frames", []))
    if "temporal" in result:
        from perception3d.isp.temporal_eval import format_temporal_table

        lines = [*lines, "", format_temporal_table(result["temporal"])]
    return seen + "\n".join(lines)


def evaluate_config(cfg, out_dir: Path, log=print) -> dict:
    """``perception3d isp eval CONFIG --out DIR``: the held-out scenes and the learned stages
    of an :class:`~perception3d.isp.eval_config.EvalConfig`, through :func:`evaluate` at
    ``cfg.threads`` torch threads.

    Raises:
        FileNotFoundError: no held-out scene (neither ``synth_root`` frames nor procedural
            ones), or a missing weight file (named, with its stage).
    """
    from perception3d.data.training_frames import held_out_check
    from perception3d.isp.data import build_pool
    from perception3d.isp.weights import load_isp_stage
    from perception3d.runtime import torch_threads

    with torch_threads(cfg.threads):
        if not cfg.conditions:  # the temporal section alone
            return _with_temporal(cfg, {}, out_dir, log)
        d = cfg.data
        scenes = build_pool(d.root, d.val_split, d.max_val_frames, d.procedural, d.scene_seed)
        if not scenes:
            raise FileNotFoundError("no held-out scenes (data.root frames or data.procedural)")
        models = {k: load_isp_stage(getattr(cfg.weights, k), k) for k in ("raw", "hdr", "dehaze")}
        synth_ids = [s.name.split("/", 1)[1] for s in scenes if s.name.startswith("synth/")]
        used = [STAGE_OF[c] for c in cfg.conditions if c in STAGE_OF]
        seen = held_out_check([getattr(cfg.weights, k) for k in used], d.root, synth_ids)
        result = evaluate(scenes, models, out_dir, cfg.seed, cfg.conditions, cfg.denoise,
                          log=log, precision=cfg.precision, trained_on=seen)  # fmt: skip
        return _with_temporal(cfg, result, out_dir, log)


def _with_temporal(cfg, result: dict, out_dir: Path, log) -> dict:
    """``result`` with the ``temporal`` section when configured
    (:mod:`perception3d.isp.temporal_eval`), rewritten to ``out_dir/metrics.json``."""
    if cfg.temporal is None:
        return result
    from perception3d.isp.temporal import load_temporal_stage
    from perception3d.isp.temporal_eval import evaluate_temporal
    from perception3d.isp.weights import load_isp_stage

    t = cfg.temporal
    models = {"raw": load_isp_stage(cfg.weights.raw, "raw"),
              "temporal": load_temporal_stage(t.weights),
              "temporal_single": load_temporal_stage(t.single_weights)
              if t.single_weights is not None else None}  # fmt: skip
    models.update({name: load_temporal_stage(path) for name, path in t.variants.items()})
    result["temporal"] = evaluate_temporal(t, models, log)
    atomic_write_text(Path(out_dir) / "metrics.json", json.dumps(result, indent=2))
    return result
