"""The ISP-effect experiment over drives (``perception3d isp-effect`` with a ``drives:`` config):
single-frame against temporal ISPs in low light, as the camera branch of PointPainting and
Frustum PointNet, on synthetic drives (``perception3d synth-drive``).

Per drive and light level the first ``max_frames`` frames are captured as one low-light clip
(:func:`perception3d.isp.temporal_data.load_clip`: one camera, the drive's daylight auto
exposure of frame 0 held, per-frame noise seeded by ``(capture_seed, drive, frame)``) and
developed by every method of :func:`perception3d.isp.temporal_eval.clip_outputs` (image
sources here): ``malvar`` (no denoising), ``classical_temporal`` (Malvar + motion-compensated
recursive averaging), ``learned`` (the single-frame learned raw stage, ``isp_raw.pt``),
``learned_recursive`` (``learned`` + the same averaging), ``temporal`` (the recurrent temporal
stage, only with ``temporal_weights``), and ``reference`` (the clean ``image_02``). The
temporal methods are aligned by the drives' ground-truth flow (an oracle, as in ``isp eval``).
Each sRGB output is decoded and displayed like ``image_02`` (:func:`display_srgb`): brought
to frame t's own auto exposure (gain ``exposure[t] / exposure[0]`` over the clip's), sRGB,
smoothstep, 8 bits.

The drive frames become a KITTI object root (:func:`write_drive_object_root`, labels from the
tracklets), on which the cached detector runs of the single-frame experiment
(:func:`predict_fused`, :func:`predict_lidar_detector`) and its numbers
(:func:`summarize`: AP_R40 and all-point AP, moderate, paired bootstrap over frames) are
reused. Frames of a drive are correlated: the summary also counts the distinct tracked
objects behind the counted labels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from perception3d.atomic import atomic_write_text
from perception3d.checkpoint import file_sha256
from perception3d.config import load_config, to_dict
from perception3d.experiments.isp_effect import fused_detectors
from perception3d.experiments.isp_effect_capture import Condition
from perception3d.experiments.isp_effect_predict import (
    predict_fused,
    predict_lidar_detector,
)
from perception3d.experiments.isp_effect_sources import display_srgb
from perception3d.experiments.isp_effect_stats import CLASSES, summarize, write_outputs
from perception3d.runtime import torch_threads

DRIVE_SOURCES = (
    "malvar", "classical_temporal", "learned", "learned_recursive", "temporal", "reference",
)  # fmt: skip
QUICK = ("drives.max_frames=5", "bootstrap=20")


@dataclass(frozen=True)
class DriveSection:
    """``drives:`` of the config.

    Attributes:
        root: a ``perception3d synth-drive`` root (with the ISP extras) no network trained on.
        levels: relative illuminances of the captures (1/300 of daylight: 0.003333).
        max_frames: frames per drive, from frame 0 (one clip each).
        max_drives: the first N drives (None: all).
        capture_seed: seed of the capture noise (with the drive and frame index).
        min_points: returns of a frame's own sweep a label box needs (else DontCare).
    """

    root: Path
    levels: tuple[float, ...] = (1 / 300,)
    max_frames: int = 25
    max_drives: int | None = None
    capture_seed: int = 2020
    min_points: int = 1

    def __post_init__(self) -> None:
        if not self.levels or not all(0 < v <= 1 for v in self.levels):
            raise ValueError(f"drives.levels must be in (0, 1], got {self.levels}")
        if self.max_frames < 1:
            raise ValueError(f"drives.max_frames must be >= 1, got {self.max_frames}")


@dataclass(frozen=True)
class IspDriveConfig:
    """``configs/fusion/isp_effect_drives.yaml``.

    Attributes:
        drives: the drives and captures (:class:`DriveSection`).
        sources: image sources, from :data:`DRIVE_SOURCES`.
        temporal_weights: the temporal stage's weights (needed by the ``temporal`` source).
        seg_weights, painted_checkpoint, lidar_checkpoint, frustum_2d_checkpoint,
            frustum_3d_checkpoint: the networks, as in the single-frame experiment.
        bootstrap, bootstrap_seed, confidence: frame resamples of the intervals.
        threads: torch CPU threads.
        score_threshold: also count TP / FP / FN at this score (null: not counted).
    """

    drives: DriveSection
    seg_weights: Path
    painted_checkpoint: Path
    lidar_checkpoint: Path
    sources: tuple[str, ...] = ("learned", "learned_recursive", "classical_temporal", "reference")
    temporal_weights: Path | None = None
    frustum_2d_checkpoint: Path | None = None
    frustum_3d_checkpoint: Path | None = None
    bootstrap: int = 100
    bootstrap_seed: int = 0
    confidence: float = 0.9
    threads: int = 1
    score_threshold: float | None = None

    def __post_init__(self) -> None:
        fused_detectors(self)
        bad = [s for s in self.sources if s not in DRIVE_SOURCES]
        if bad or not self.sources:
            raise ValueError(f"sources: unknown {bad}, expected some of {DRIVE_SOURCES}")
        if "temporal" in self.sources and self.temporal_weights is None:
            raise ValueError("source 'temporal' needs temporal_weights (e.g. isp_temporal.pt)")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence}")


def is_drive_config(path: str | Path) -> bool:
    """Whether an ``isp-effect`` config file is a drive experiment (a top-level ``drives:``)."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # not readable: the config loader names the problem
    return isinstance(data, dict) and "drives" in data


def load_isp_drive_config(path: str | Path, overrides=()) -> IspDriveConfig:
    """Load a drive experiment config (``--set key=value`` overrides first)."""
    return load_config(path, IspDriveConfig, overrides)


def condition(level: float) -> Condition:
    """The low-light condition of a level, named like ``lowlight_3.3e-03``."""
    return Condition(f"lowlight_{level:.1e}", "lowlight", level)


def _source_key(cfg: IspDriveConfig, level: float) -> dict:
    """What a level's images depend on: the capture and the ISP weights' bytes."""
    from perception3d.isp.pipeline import Weights

    t = cfg.temporal_weights
    return {"level": level, "capture_seed": cfg.drives.capture_seed,
            "max_frames": cfg.drives.max_frames, "raw": file_sha256(Weights().raw),
            "temporal": file_sha256(t) if t is not None else None}  # fmt: skip


def _models(cfg: IspDriveConfig) -> dict:
    from perception3d.isp.pipeline import Weights
    from perception3d.isp.temporal import load_temporal_stage
    from perception3d.isp.weights import load_isp_stage

    models = {"raw": load_isp_stage(Weights().raw, "raw")}
    if "temporal" in cfg.sources:
        models["temporal"] = load_temporal_stage(cfg.temporal_weights)
    return models


def develop_drives(cfg: IspDriveConfig, root: Path, index: dict, level: float, work: Path):
    """Write each source's displayed images of one level into
    ``work/images/<condition>/<source>/image_2/<id>.png``; return per source the per-frame
    PSNR / SSIM against ``image_02`` and per drive the clip scores of ``isp eval``'s temporal
    section (sRGB PSNR / SSIM against the clip's reference, warping error). Cached in
    ``quality.json`` on :func:`_source_key`."""
    from perception3d.data.kitti import read_image
    from perception3d.isp.color import srgb_to_linear
    from perception3d.isp.evaluate import save_png
    from perception3d.isp.metrics import psnr, ssim
    from perception3d.isp.temporal_data import find_drives, load_clip, load_drive
    from perception3d.isp.temporal_eval import clip_outputs, score_clip

    folder = work / "images" / condition(level).name
    qpath, key = folder / "quality.json", _source_key(cfg, level)
    sources = [s for s in cfg.sources if s != "reference"]
    cached = json.loads(qpath.read_text()) if qpath.is_file() else {}
    if cached.get("_source") == key and all(s in cached["quality"] for s in sources):
        return {s: cached["quality"][s] for s in sources}, cached["clips"]
    of = {(v["frame"][:-11], int(v["frame"][-10:])): oid for oid, v in index.items()}
    quality, clips, models = {s: {} for s in sources}, {}, _models(cfg)
    for path in find_drives(cfg.drives.root):
        date, number = path.name[: -len("_sync")].split("_drive_")
        if (f"{date}_{number}", 0) not in of:
            continue
        drive = load_drive(path, cfg.drives.max_frames)
        clip = load_clip(drive, 0, len(drive), level, cfg.drives.capture_seed)
        outs, _ = clip_outputs(clip, models)  # aligned by the ground-truth flow
        scores = score_clip(outs, clip)
        clips[drive.name] = {m: {k: float(np.mean(v)) for k, v in s.items()}
                             for m, s in scores.items()}  # fmt: skip
        for t in range(len(drive)):
            oid = of[f"{date}_{number}", t]
            ref = torch.from_numpy(read_image(root / "training" / "image_2" / f"{oid}.png"))[None]
            gain = drive.exposure[t] / drive.exposure[0]  # to frame t's own auto exposure
            for s in sources:
                image = display_srgb(srgb_to_linear(outs[s][t : t + 1]), gain)
                save_png(folder / s / "image_2" / f"{oid}.png", image[0])
                quality[s][oid] = {"psnr_db": float(psnr(image, ref)),
                                   "ssim": float(ssim(image, ref))}  # fmt: skip
    out = {"_source": key, "quality": quality, "clips": clips}
    atomic_write_text(qpath, json.dumps(out, indent=1) + "\n")
    return quality, clips


def distinct_objects(root: Path, index: dict, ids: list[str]) -> dict[str, dict[str, int]]:
    """Per class, the label rows the KITTI protocol counts at moderate difficulty (``rows``)
    and the distinct tracked objects (drive, tracklet) behind them (``objects``)."""
    from perception3d.data.kitti import read_label_file
    from perception3d.eval.kitti_protocol import COUNTED, gt_flags

    out = {c: {"rows": 0, "objects": set()} for c in CLASSES}
    for oid in ids:
        rows = read_label_file(root / "training" / "label_2" / f"{oid}.txt", allow_score=False)
        if not rows:
            continue
        types, bbox = [r.type for r in rows], np.array([r.bbox for r in rows])
        occ, trunc = np.array([r.occluded for r in rows]), np.array([r.truncated for r in rows])
        for c in CLASSES:
            counted = np.flatnonzero(gt_flags(types, bbox, occ, trunc, c, 1) == COUNTED)
            out[c]["rows"] += len(counted)
            out[c]["objects"] |= {(index[oid]["frame"][:-11], index[oid]["tracklets"][k])
                                  for k in counted}  # fmt: skip
    return {c: {"rows": v["rows"], "objects": len(v["objects"])} for c, v in out.items()}


def clip_table(clips: dict[str, dict]) -> str:
    """Markdown: per level and method, the clip metrics of ``isp eval``'s temporal section,
    averaged over the drives."""
    lines = [
        "\nImage sources as `isp eval` scores them (sRGB against the clip's clean reference at "
        "the clip's exposure, mean over drives; warping error x 1e-3):\n",
        "| condition | method | sRGB PSNR dB | SSIM | warping error |",
        "|---|---|---|---|---|",
    ]
    for cond, per_drive in clips.items():
        for m in next(iter(per_drive.values())):
            mean = {k: np.mean([d[m][k] for d in per_drive.values()]) for k in per_drive[
                next(iter(per_drive))][m]}  # fmt: skip
            p = f"{mean['psnr']:.2f}" if "psnr" in mean else "-"
            s = f"{mean['ssim']:.3f}" if "ssim" in mean else "-"
            lines.append(f"| {cond} | {m} | {p} | {s} | {1e3 * mean['warp_error']:.2f} |")
    return "\n".join(lines) + "\n"


def paired_deltas(rows: list[dict], base: str, confidence: float) -> list[dict]:
    """Per fused-detector row of another image source than ``base``: its mAP 3D minus the
    ``base`` row's of the same condition and detector, with the percentile interval of the
    paired bootstrap differences (the rows' ``map_3d_samples``, which are removed)."""
    from perception3d.experiments.isp_effect_stats import FLOOR, percentile_interval

    ref = {(r["condition"], r["detector"]): r for r in rows if r["isp"] == base}
    out = []
    for r in rows:
        b = ref.get((r["condition"], r["detector"]))
        if r["detector"] != FLOOR and r["isp"] != base and b is not None:
            diff = np.array(r.get("map_3d_samples", [])) - np.array(b.get("map_3d_samples", []))
            ci = percentile_interval(diff, confidence) if len(diff) else None
            delta = r["metrics"]["map_3d"] - b["metrics"]["map_3d"]
            out.append({"condition": r["condition"], "detector": r["detector"], "isp": r["isp"],
                        "delta": delta, "ci": ci})  # fmt: skip
    for r in rows:
        r.pop("map_3d_samples", None)
    return out


def delta_table(deltas: list[dict], base: str) -> str:
    """Markdown: each source's mAP 3D minus ``base``'s, paired intervals."""
    lines = [
        f"\nmAP 3D minus the `{base}` source's, same condition and detector (paired bootstrap "
        "interval):\n",
        "| condition | detector | image source | mAP 3D difference |",
        "|---|---|---|---|",
    ]
    for d in deltas:
        ci = "" if d["ci"] is None else f" [{d['ci'][0]:.1f}, {d['ci'][1]:.1f}]"
        lines.append(f"| {d['condition']} | {d['detector']} | {d['isp']} | {d['delta']:+.1f}{ci} |")
    return "\n".join(lines) + "\n"


def run_isp_drive(cfg: IspDriveConfig, out: str | Path) -> dict:
    """Run (or resume) the drive experiment into ``out`` (``isp_effect.json``, ``.md``, ``.png``,
    ``report.html``, ``work/``); returns the summary."""
    from perception3d.data.drive_object_root import FRAMES_FILE, write_drive_object_root

    out = Path(out)
    work = out / "work"
    root = work / "kitti"
    d = cfg.drives
    ids = write_drive_object_root(d.root, root, "all", d.max_frames, d.max_drives, d.min_points)
    index = json.loads((root / FRAMES_FILE).read_text())
    quality, clips = {}, {}
    with torch_threads(cfg.threads):
        for level in d.levels:
            q, clips[condition(level).name] = develop_drives(cfg, root, index, level, work)
            quality.update({(condition(level).name, s): v for s, v in q.items()})
    inputs = {"drives": str(Path(d.root).resolve()), "min_points": d.min_points}
    floor = predict_lidar_detector(cfg.lidar_checkpoint, root, work / "pred" / "lidar_only", ids,
                                   cfg.threads, inputs)  # fmt: skip
    rows = []
    for level in d.levels:
        cond = condition(level)
        source_key = _source_key(cfg, level)
        for detector in fused_detectors(cfg):
            for src in cfg.sources:
                ref = src == "reference"
                images = root / "training" / "image_2" if ref else (
                    work / "images" / cond.name / src / "image_2")  # fmt: skip
                key = "reference" if ref else f"{cond.name}_{src}"
                row_inputs = {**inputs, "images": "image_02" if ref else source_key}
                pred = predict_fused(cfg, detector, root, images, work, key, ids, row_inputs)
                rows.append({"condition": cond, "detector": detector, "isp": src,
                             "pred_dir": pred, "lidar": "clear"})  # fmt: skip
        rows.append({"condition": cond, "detector": "lidar_only", "isp": "lidar_only",
                     "pred_dir": floor, "lidar": "clear"})  # fmt: skip
    summary = summarize(cfg, ids, rows, quality, root / "training" / "label_2", samples=True)
    deltas = paired_deltas(summary["rows"], "learned", cfg.confidence)
    summary["scene_source"] = "synthetic drive"
    summary["drive_frames"] = {oid: v["frame"] for oid, v in index.items()}
    summary["distinct_objects"] = distinct_objects(root, index, ids)
    summary["clip_scores"] = clips
    summary["vs_learned"] = deltas
    objects = ", ".join(f"{c} {v['rows']} labels of {v['objects']} objects"
                        for c, v in summary["distinct_objects"].items())  # fmt: skip
    summary["notes"] = [
        f"Frames of a drive are consecutive (10 Hz): the moderate labels counted are {objects} "
        "(distinct tracklets).\n",
        delta_table(deltas, "learned"),
        clip_table(clips),
    ]
    summary["config"] = to_dict(cfg)
    write_outputs(summary, out)
    return summary


def run_isp_drive_file(config, overrides=(), out=None, quick=False, data_root=None):
    """``perception3d isp-effect CONFIG`` for a drive config (``quick``: 5 frames per drive,
    20 resamples; ``data_root`` replaces ``drives.root``). Returns the summary and the folder."""
    overrides = [*QUICK, *overrides] if quick else list(overrides)
    if data_root is not None:
        overrides.append(f"drives.root={Path(data_root).resolve()}")
    out = Path(out) if out is not None else Path("outputs") / "isp_effect" / Path(config).stem
    return run_isp_drive(load_isp_drive_config(config, overrides), out), out


__all__ = [
    "DRIVE_SOURCES",
    "DriveSection",
    "IspDriveConfig",
    "condition",
    "develop_drives",
    "distinct_objects",
    "is_drive_config",
    "load_isp_drive_config",
    "run_isp_drive",
    "run_isp_drive_file",
]
