"""The ``temporal`` section of ``perception3d isp eval``: ISPs over whole clips of synthetic
drives captured in low light (:mod:`perception3d.isp.temporal_data`), scored per frame (sRGB
PSNR / SSIM against the clean frame) and over time (the warping error between consecutive
outputs under the ground-truth flow, masked for occlusions:
:func:`perception3d.isp.flow_warp.warping_error`).

Methods (every one sees the same raws):

- ``malvar``: Malvar demosaic, no denoising (the classical temporal filter's input);
- ``classical_temporal``: ``malvar`` + motion-compensated recursive averaging
  (:func:`perception3d.isp.temporal.recursive_average`) in sRGB;
- ``learned``: the single-frame learned raw stage (``isp_raw.pt``);
- ``learned_recursive``: ``learned`` + the same recursive averaging;
- ``temporal``: the recurrent temporal stage (``temporal.weights``), its previous output
  warped by the same backward flow;
- ``temporal_single`` (optional weights): the temporal network trained without its
  recurrent input (the ablation).

Alignment (``alignment``): ``ground_truth``, the backward flow inverted from the drives'
ground-truth forward flow (an oracle); ``estimated``, OpenCV's DIS flow estimated on the
single-frame learned stage's outputs, valid where it is forward-backward consistent
(:mod:`perception3d.isp.flow_estimate`); ``reprojection``, the ego motion (OXTS poses) and the
LiDAR depth of the current frame, valid where the depth is measured and consistent with the
previous frame's (:mod:`perception3d.isp.reproject`); the same flow for the temporal filters
and the network.
``estimated_metric``: the warping error is also measured under DIS flow estimated on the clean
reference frames (``warp_error_estimated``), what can be done on a real drive.

``source`` (:func:`perception3d.isp.temporal_data.drive_source`): ``radiance``, the synthetic
drives' extras; ``image``, a drive's 8-bit ``image_02`` unprocessed to linear values (a real
KITTI raw drive); ``auto``, radiance where a drive has it. An ``image`` drive has no
ground-truth flow: its reference is the unprocessed frame itself (PSNR / SSIM against it), the
ground-truth warping error, ``psnr_aligned`` / ``psnr_unaligned`` and the alignment's
agreement with the ground truth are not measured, the warping error under estimated flow always
is, and it needs ``alignment: estimated`` or ``reprojection`` (OXTS and velodyne).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from perception3d.isp import classic
from perception3d.isp.color import linear_to_srgb
from perception3d.isp.flow_estimate import PRESETS, endpoint_error, estimated_alignment
from perception3d.isp.flow_warp import warping_error
from perception3d.isp.metrics import psnr, ssim
from perception3d.isp.reproject import ReprojectionParams, clip_reprojection
from perception3d.isp.temporal import recursive_average, run_temporal
from perception3d.isp.temporal_data import (
    SOURCES,
    Clip,
    DriveLidar,
    find_drives,
    load_clip,
    load_drive,
    load_lidar,
)
from perception3d.isp.weights import learned_raw_to_linear


@dataclass(frozen=True)
class TemporalEval:
    """``temporal:`` of an ``isp eval`` config.

    Attributes:
        root: a ``perception3d synth-drive`` root no stage trained on (every drive is used).
        max_frames: frames per drive (the clip starts at frame 0).
        max_drives: drives used (None: all).
        level: relative illuminance (1/300 of daylight: 0.003333).
        seed: seed of the capture noise (with the drive and frame index).
        weights: the temporal stage's weight file.
        single_weights: optional, the temporal network trained without its recurrent input.
        alignment: ``ground_truth``, ``estimated`` or ``reprojection`` (module docstring).
        estimated_metric: also the warping error under flow estimated on the clean frames.
        variants: more temporal networks run on the same clips, by name (their weights).
        flow_preset: DIS preset of ``alignment: estimated`` (ultrafast, fast, medium).
        flow_tuned: the tuned DIS settings over the preset
            (:data:`perception3d.isp.flow_estimate.TUNED`).
        reprojection: settings of ``alignment: reprojection``
            (:class:`perception3d.isp.reproject.ReprojectionParams`).
        source: ``auto``, ``radiance`` or ``image`` (module docstring).
    """

    root: Path
    weights: Path
    max_frames: int = 25
    max_drives: int | None = None
    level: float = 1 / 300
    seed: int = 2020
    single_weights: Path | None = None
    alignment: Literal["ground_truth", "estimated", "reprojection"] = "ground_truth"
    estimated_metric: bool = False
    variants: dict[str, Path] = dataclasses.field(default_factory=dict)
    flow_preset: str = "medium"
    flow_tuned: bool = True
    reprojection: ReprojectionParams = dataclasses.field(default_factory=ReprojectionParams)
    source: Literal["auto", "radiance", "image"] = "auto"

    def __post_init__(self) -> None:
        taken = set(LABELS) | {"raw"}
        if taken & set(self.variants):
            raise ValueError(f"temporal.variants: names {sorted(taken & set(self.variants))} "
                             "are taken by the built-in methods")  # fmt: skip
        if self.flow_preset not in PRESETS:
            raise ValueError(f"temporal.flow_preset must be one of {PRESETS}, "
                             f"got {self.flow_preset!r}")  # fmt: skip
        if self.alignment not in ("ground_truth", "estimated", "reprojection"):
            raise ValueError(f"temporal.alignment must be ground_truth, estimated or "
                             f"reprojection, got {self.alignment!r}")  # fmt: skip
        if self.source not in SOURCES:
            raise ValueError(f"temporal.source must be one of {SOURCES}, got {self.source!r}")
        if self.source == "image" and self.alignment == "ground_truth":
            raise ValueError("temporal.source image has no ground-truth flow: set "
                             "temporal.alignment to estimated or reprojection")  # fmt: skip


def _srgb(linear: torch.Tensor, gain: float) -> torch.Tensor:
    return linear_to_srgb((linear * gain).clamp(0.0, 1.0))


def clip_outputs(
    clip: Clip,
    models: dict,
    alignment: str = "ground_truth",
    flow: dict | None = None,
    lidar: DriveLidar | None = None,
    reprojection: ReprojectionParams | None = None,
) -> tuple[dict[str, torch.Tensor], dict]:
    """sRGB outputs (T, 3, H, W) per method (module docstring) of one clip; ``models``:
    ``raw`` (single-frame stage), ``temporal``, optionally ``temporal_single`` and more
    temporal networks under their own names (``variants``). Also returns
    what aligned them (``estimated``: the flow's endpoint error against the ground truth, px,
    where both are valid, and the fraction of pixels the estimate holds valid); ``flow``:
    keyword arguments of :func:`~perception3d.isp.flow_estimate.estimated_alignment`;
    ``lidar`` (the clip's frames) and ``reprojection``: what ``reprojection`` aligns by (its
    info adds the CPU seconds per frame of the alignment)."""
    t_len, gain = len(clip.raw), clip.display_gain
    frames = [(clip.raw[t : t + 1], clip.meta.select(t)) for t in range(t_len)]
    out: dict[str, torch.Tensor] = {}
    info: dict = {"alignment": alignment}
    with torch.inference_mode():
        out["malvar"] = torch.cat([_srgb(classic.raw_to_linear(r, m, "malvar"), gain)
                                   for r, m in frames])  # fmt: skip
        out["learned"] = torch.cat([_srgb(learned_raw_to_linear(models["raw"], r, m), gain)
                                    for r, m in frames])  # fmt: skip
        back, ok = clip.backward, clip.aligned
        if alignment == "estimated":
            est = estimated_alignment(out["learned"], **(flow or {}))
            if clip.ground_truth:
                both = est["aligned"][1:] * clip.aligned[1:]
                info["endpoint_error_px"] = endpoint_error(est["backward"][1:], back[1:], both)
            info["valid_fraction"] = float(est["aligned"][1:].mean())
            back, ok = est["backward"], est["aligned"]
        elif alignment == "reprojection":
            back, ok = _reprojected(clip, lidar, reprojection or ReprojectionParams(), info)
        out["classical_temporal"] = recursive_average(out["malvar"], back, ok)
        out["learned_recursive"] = recursive_average(out["learned"], back, ok)
        for key, model in models.items():
            if key != "raw" and model is not None:
                outs = run_temporal(model, [r for r, _ in frames], [m for _, m in frames],
                                    back.split(1), ok.split(1))  # fmt: skip
                out[key] = torch.cat([_srgb(o, gain) for o in outs])
    return out, info


def _reprojected(clip: Clip, lidar: DriveLidar | None, params: ReprojectionParams, info: dict):
    """The reprojection alignment of ``clip``, with its agreement with the ground truth."""
    if lidar is None or len(lidar.points) != len(clip.raw):
        raise ValueError("alignment reprojection needs the clip's sweeps and poses (lidar)")
    t0 = time.process_time()
    raws = [(clip.raw[t : t + 1], clip.meta.select(t)) for t in range(len(clip.raw))]
    back, ok = clip_reprojection(lidar.points, lidar.world_from_lidar, lidar.calib,
                                 tuple(clip.raw.shape[-2:]), params, raws)  # fmt: skip
    info["cpu_s_per_frame"] = (time.process_time() - t0) / max(len(clip.raw) - 1, 1)
    info["valid_fraction"] = float(ok[1:].mean())
    if not clip.ground_truth:
        return back, ok
    both = ok[1:] * clip.aligned[1:]
    info["endpoint_error_px"] = endpoint_error(back[1:], clip.backward[1:], both)
    info["valid_not_ground_truth"] = float((ok[1:] * (1 - clip.aligned[1:])).sum()
                                           / ok[1:].sum().clamp_min(1.0))  # fmt: skip
    err = (back[1:] - clip.backward[1:]).norm(dim=1, keepdim=True)
    info["valid_over_3px"] = float((ok[1:] * both * (err > 3)).sum() / both.sum().clamp_min(1))
    return back, ok


def score_clip(
    outputs: dict[str, torch.Tensor], clip: Clip, estimated_metric: bool = False
) -> dict[str, dict]:
    """Per method: per-frame PSNR / SSIM lists and the per-pair warping error; ``reference``:
    the clean frames' own warping error (shading and resampling: the floor).
    ``estimated_metric``: also ``warp_error_estimated``, under flow estimated on the clean
    frames (masked where it is forward-backward consistent). ``psnr_aligned`` /
    ``psnr_unaligned`` (one value per clip): PSNR pooled over frames 1.. on the pixels where the
    ground-truth alignment is valid / invalid (disocclusions and what enters the view, where a
    temporal method must not carry its past over). A clip without ground-truth flow gets
    neither the ground-truth warping error nor the aligned / unaligned PSNR, and always the
    estimated one."""
    ref = _srgb(clip.reference, clip.display_gain)
    valid = clip.aligned[1:].expand(-1, 3, -1, -1)
    flows = [("warp_error", clip.forward, clip.visible)] if clip.ground_truth else []
    if estimated_metric or not clip.ground_truth:
        est = estimated_alignment(ref)
        flows.append(("warp_error_estimated", est["forward"], est["visible"]))
    scores: dict[str, dict] = {}
    for name, srgb in [*outputs.items(), ("reference", ref)]:
        scores[name] = {}
        if name != "reference":
            scores[name] = {"psnr": psnr(srgb, ref).tolist(), "ssim": ssim(srgb, ref).tolist()}
            err = (srgb[1:] - ref[1:]).pow(2)
            for key, m in (("psnr_aligned", valid), ("psnr_unaligned", 1.0 - valid)):
                if clip.ground_truth:
                    scores[name][key] = [_masked_psnr(err, m)]
        for key, fwd, vis in flows:
            scores[name][key] = warping_error(srgb, fwd, vis).tolist()
    return scores


def _masked_psnr(err: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR (peak 1) of the squared errors ``err`` pooled where ``mask`` is 1 (nan if nowhere)."""
    n = float(mask.sum())
    return 10.0 * math.log10(n / max(float((err * mask).sum()), 1e-20)) if n else float("nan")


def frame_split(result: dict, later: int = 3) -> dict[str, dict[str, float]]:
    """Per method, the mean PSNR of each clip's first frame (no history) and of its frames
    ``later``.. (a history of ``later`` frames or more; nan for clips no longer than that),
    over the drives of ``result``."""
    split: dict[str, dict[str, float]] = {}
    for m in result["mean"]:
        rows = [d[m]["psnr"] for d in result["per_drive"].values() if "psnr" in d[m]]
        rest = [v for r in rows for v in r[later:]]
        if rows:
            split[m] = {"first": float(np.mean([r[0] for r in rows])),
                        "later": float(np.mean(rest)) if rest else float("nan")}  # fmt: skip
    return split


def evaluate_temporal(cfg: TemporalEval, models: dict, log: Callable = print) -> dict:
    """Run and score every method on the first ``cfg.max_frames`` frames of each drive of
    ``cfg.root``; returns per drive scores and the means over all frames (and pairs)."""
    t0 = time.time()
    drives = find_drives(cfg.root)[: cfg.max_drives]
    per_drive: dict[str, dict] = {}
    aligned_by: dict[str, dict] = {}
    sources: dict[str, str] = {}
    for path in drives:
        drive = load_drive(path, cfg.max_frames, cfg.source)
        if drive.flow is None and cfg.alignment == "ground_truth":
            raise ValueError(f"{path}: no ground-truth flow (unprocessed image_02); set "
                             "temporal.alignment to estimated or reprojection")  # fmt: skip
        sources[drive.name] = drive.source
        clip = load_clip(drive, 0, len(drive), cfg.level, cfg.seed)
        flow = {"preset": cfg.flow_preset, "tuned": cfg.flow_tuned}
        lidar = load_lidar(path, len(drive)) if cfg.alignment == "reprojection" else None
        outputs, info = clip_outputs(clip, models, cfg.alignment, flow, lidar, cfg.reprojection)
        per_drive[drive.name] = score_clip(outputs, clip, cfg.estimated_metric)
        aligned_by[drive.name] = info
        log(f"  temporal {drive.name}: {len(drive)} frames ({time.time() - t0:.0f} s)")
    methods = list(next(iter(per_drive.values())))
    mean: dict[str, dict] = {}
    for m in methods:  # the metrics every drive has (image drives: no ground-truth flow)
        keys = [k for k in per_drive[next(iter(per_drive))][m]
                if all(k in d[m] for d in per_drive.values())]  # fmt: skip
        mean[m] = {k: float(np.mean([v for d in per_drive.values() for v in d[m][k]]))
                   for k in keys}  # fmt: skip
    result = {"level": cfg.level, "seed": cfg.seed, "drives": list(per_drive),
              "frames": sum(len(d["learned"]["psnr"]) for d in per_drive.values()),
              "mean": mean, "per_drive": per_drive, "alignment": aligned_by,
              "source": sources, "time_s": time.time() - t0}  # fmt: skip
    result["frame_split"] = frame_split(result)
    gain = mean["temporal"]["psnr"] - mean["learned"]["psnr"] if "temporal" in mean else None
    result["temporal_minus_learned_db"] = gain
    return result


LABELS = {
    "malvar": "Malvar demosaic, no denoise",
    "classical_temporal": "classical temporal (Malvar + recursive averaging)",
    "learned": "single-frame learned stage (isp_raw.pt)",
    "learned_recursive": "single-frame learned + recursive averaging",
    "temporal": "temporal network",
    "temporal_single": "temporal network without its recurrent input",
    "reference": "clean reference (floor)",
}


def format_temporal_table(result: dict) -> str:
    """Markdown table: mean PSNR / SSIM over frames and warping error over pairs."""
    est = any("warp_error_estimated" in m for m in result["mean"].values())
    split = result.get("frame_split", {})
    lines = [
        f"temporal: {result['frames']} frames of {len(result['drives'])} drives at "
        f"{result['level']:.5g} x daylight",
        "| method | sRGB PSNR | PSNR frame 0 | PSNR frames 3+ | SSIM | warping error (x 1e-3) |"
        + (" est. flow (x 1e-3) |" if est else ""),
        "|---|---|---|---|---|---|" + ("---|" if est else ""),
    ]
    for name, m in result["mean"].items():
        p = f"{m['psnr']:.2f} dB" if "psnr" in m else "-"
        s = f"{m['ssim']:.3f}" if "ssim" in m else "-"
        f0 = f"{split[name]['first']:.2f}" if name in split else "-"
        f3 = f"{split[name]['later']:.2f}" if name in split else "-"
        err = f"{1e3 * m['warp_error']:.3f}" if "warp_error" in m else "-"
        row = f"| {LABELS.get(name, name)} | {p} | {f0} | {f3} | {s} | {err} |"
        if est:
            row += f" {1e3 * m['warp_error_estimated']:.3f} |"
        lines.append(row)
    return "\n".join(lines)
