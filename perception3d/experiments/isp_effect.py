"""The ISP-effect experiment (``perception3d isp-effect CONFIG``): how much does the camera ISP
matter for a camera+LiDAR detector, under the conditions that break cameras?

For each condition (:mod:`perception3d.experiments.isp_effect_capture`: clean, low light, HDR, haze)
the val frames' radiance (synthetic frames: rendered; real KITTI frames: the unprocessed
``image_2``, with the LiDAR completed to a depth map for haze) is captured by the physical
sensor model and developed by each ISP
(``none``: bilinear demosaic, no denoising; ``classical``: Malvar demosaic + bilateral denoise,
plus dark-channel dehazing / inverse-CRF highlight expansion for haze / HDR; ``learned``: the
shipped raw, dehaze and HDR networks), or replaced by the clean ``image_2`` (``reference``,
the upper bound). Every ISP's linear output is displayed like ``image_2`` (brought to the
dataset's exposure, clipped, sRGB, the synthetic camera's smoothstep tone curve) so the
segmentation net sees its training domain whenever the ISP recovers the scene. Then, per
fused detector (``detector`` of a row): ``pointpainting``: segmentation -> PointPainting -> the
painted detector; ``frustum_pointnet`` (when its two checkpoints are configured): the 2D
detector on the displayed images -> frustums of the LiDAR -> Frustum PointNet; each -> KITTI
evaluation, against the LiDAR-only detector as the floor (``lidar_only``, one row per condition,
the floor of both). For haze conditions the LiDAR is fogged at the same MOR
(:func:`perception3d.lidar.weather_dataset.write_weather_copy`), for every row including the
floor.

Numbers: 3D and BEV AP_R40 per class at moderate difficulty and their class mean (mAP), with
percentile bootstrap intervals over frames (``bootstrap`` resamples of the frame ids, the same
resamples for every row, the evaluator re-run on each), and PSNR / SSIM of each ISP's
displayed image against the clean ``image_2``.

Every step writes its outputs under ``out/work`` and is skipped when they exist (resumable).
This module orchestrates isp, models and engine: an exception to "eval imports only geometry
and data" (DESIGN.md), as an experiment runner must.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from perception3d.atomic import atomic_write_text
from perception3d.checkpoint import file_sha256
from perception3d.config import DataSection, load_config, to_dict
from perception3d.data.kitti import read_split_file
from perception3d.data.training_frames import held_out_check
from perception3d.experiments.isp_effect_capture import (
    Condition,
    capture_condition,
    ensure_radiance,
    is_real_root,
    load_scene,
)
from perception3d.experiments.isp_effect_predict import (
    predict_fused,
    predict_lidar_detector,
)
from perception3d.experiments.isp_effect_sources import (
    ENHANCER_WEIGHTS,
    ISP_CHOICES,
    check_sources,
    display_srgb,
    source_developer,
)
from perception3d.experiments.isp_effect_stats import summarize, write_outputs
from perception3d.runtime import torch_threads


@dataclass(frozen=True)
class IspEffectConfig:
    """``configs/fusion/isp_effect*.yaml``.

    Attributes:
        data: ``root``, a synthetic KITTI-layout root (labels, LiDAR, calib, meta;
            radiance_2 and depth_2 or its synth_config.yaml to regenerate them), or a real
            KITTI root (image_2, velodyne, calib, label_2): its images are unprocessed and its
            LiDAR completed to a depth map (:mod:`perception3d.isp.real_capture`);
            ``val_split``, the ImageSets name of the evaluated frames (held out from every
            model); ``max_val_frames``, the first N frames of the split (None: all).
        conditions: capture conditions.
        isps: image sources (:mod:`perception3d.experiments.isp_effect_sources`), from
            ``none``, ``classical``, ``learned``, ``enhancer`` (the sRGB low-light enhancer on
            the camera's stored image), ``reference``.
        seg_weights: segmentation net (``fusion train-seg``).
        painted_checkpoint: PointPainting detector checkpoint.
        lidar_checkpoint: LiDAR-only detector checkpoint (the floor).
        frustum_2d_checkpoint: Frustum PointNet's 2D detector (``frustum train-2d``); with
            ``frustum_3d_checkpoint`` adds the ``frustum_pointnet`` rows (both or neither).
        frustum_3d_checkpoint: Frustum PointNet's 3D stage (``frustum train-3d``).
        capture_seed: sensor-noise seed (frame k of the split uses ``(capture_seed, k)``).
        fog_seed: LiDAR fog seed.
        bootstrap: frame resamples of the confidence intervals (0: none).
        bootstrap_seed: seed of the resamples.
        confidence: two-sided level of the percentile intervals.
        threads: torch CPU threads.
        device: where the ``enhancer`` source runs (``auto``: CUDA when present, else CPU).
        score_threshold: also count TP / FP / FN of the 3D detections scoring at least this
            (null: not counted); choose it before looking at the results.
    """

    data: DataSection
    seg_weights: Path
    painted_checkpoint: Path
    lidar_checkpoint: Path
    conditions: tuple[Condition, ...]
    isps: tuple[str, ...] = ("none", "classical", "learned", "reference")
    capture_seed: int = 0
    fog_seed: int = 0
    bootstrap: int = 100
    bootstrap_seed: int = 0
    confidence: float = 0.9
    threads: int = 2
    frustum_2d_checkpoint: Path | None = None
    frustum_3d_checkpoint: Path | None = None
    score_threshold: float | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        fused_detectors(self)
        check_sources(self.isps)
        names = [c.name for c in self.conditions]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"conditions need unique names, got {names}")
        if self.data.root is None:
            raise ValueError("data.root must name the synthetic or real KITTI-layout root")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence}")

    @property
    def detectors(self) -> tuple[str, ...]:
        """The fused detectors measured (:func:`fused_detectors`)."""
        return fused_detectors(self)


def fused_detectors(cfg) -> tuple[str, ...]:
    """The fused detectors an experiment config measures: ``pointpainting``, plus
    ``frustum_pointnet`` when both ``frustum_2d_checkpoint`` and ``frustum_3d_checkpoint`` are
    set; a ValueError when only one is."""
    if (cfg.frustum_2d_checkpoint is None) != (cfg.frustum_3d_checkpoint is None):
        given = "2d" if cfg.frustum_3d_checkpoint is None else "3d"
        missing = "3d" if given == "2d" else "2d"
        raise ValueError(
            f"frustum_{given}_checkpoint is set but frustum_{missing}_checkpoint is not: "
            "Frustum PointNet needs both (or neither, for PointPainting only)"
        )
    if cfg.frustum_2d_checkpoint is None:
        return ("pointpainting",)
    return ("pointpainting", "frustum_pointnet")


def load_isp_effect_config(path: str | Path, overrides=()) -> IspEffectConfig:
    """Load an experiment config (``--set key=value`` overrides first)."""
    return load_config(path, IspEffectConfig, overrides)


QUICK = ("data.max_val_frames=4", "bootstrap=20")  # --quick: minutes instead of hours


def run_isp_effect_file(
    config: str | Path,
    overrides=(),
    out: str | Path | None = None,
    quick: bool = False,
    data_root: str | Path | None = None,
) -> tuple[dict, Path]:
    """``perception3d isp-effect CONFIG [--quick] [--out DIR] [--data-root DIR]``: the
    experiment of a config file (``quick``: 4 frames and 20 bootstrap resamples, before
    ``overrides``; ``data_root`` replaces ``data.root``, after them) into ``out`` (default
    ``outputs/isp_effect/<config name>``). Returns the summary and the folder. A config with a
    top-level ``drives:`` runs the drive experiment
    (:func:`perception3d.experiments.isp_drive.run_isp_drive_file`)."""
    from perception3d.experiments.isp_drive import is_drive_config, run_isp_drive_file

    if is_drive_config(config):
        return run_isp_drive_file(config, overrides, out, quick, data_root)
    overrides = [*QUICK, *overrides] if quick else list(overrides)
    if data_root is not None:
        overrides.append(f"data.root={Path(data_root).resolve()}")
    out = Path(out) if out is not None else Path("outputs") / "isp_effect" / Path(config).stem
    return run_isp_effect(load_isp_effect_config(config, overrides), out), out


def evaluated_weights(cfg: IspEffectConfig) -> list[Path]:
    """Every weight file the experiment runs: the detectors', the segmentation net's and, with
    the learned ISP, the shipped stages its conditions use, and the enhancer's."""
    from perception3d.isp.pipeline import Weights

    files = [cfg.seg_weights, cfg.painted_checkpoint, cfg.lidar_checkpoint]
    files += [p for p in (cfg.frustum_2d_checkpoint, cfg.frustum_3d_checkpoint) if p is not None]
    if "learned" in cfg.isps:
        kinds = {c.kind for c in cfg.conditions}
        files += [Weights().raw] + [Weights().hdr] * ("hdr" in kinds)
        files += [Weights().dehaze] * ("haze" in kinds)
    return files + [ENHANCER_WEIGHTS] * ("enhancer" in cfg.isps)


def _source_key(cfg: IspEffectConfig, cond: Condition, isp: str) -> dict:
    """What an image folder's content depends on besides the frame: the capture (condition,
    seed) and, for the learned ISP and the enhancer, the bytes of its weight files. A cached
    folder with another key is redone (new weights must not reuse old images)."""
    from perception3d.isp.pipeline import Weights

    key: dict = {"kind": cond.kind, "level": cond.level, "capture_seed": cfg.capture_seed}
    if cond.max_iso is not None:  # absent otherwise: caches of earlier runs stay valid
        key["max_iso"] = cond.max_iso
    if isp == "learned":
        w = Weights()
        for name in ("raw", "dehaze", "hdr"):
            key[name] = file_sha256(getattr(w, name))
    if isp == "enhancer":
        key["enhancer"] = file_sha256(ENHANCER_WEIGHTS)
    return key


def develop(cfg: IspEffectConfig, ids: list[str], radiance_root: Path, work: Path) -> dict:
    """Write each (condition, ISP)'s displayed images; return per-frame PSNR/SSIM against
    ``image_2`` (cached in ``quality.json`` beside the images)."""
    from perception3d.data.kitti import read_image
    from perception3d.isp.evaluate import save_png
    from perception3d.isp.metrics import psnr, ssim

    quality: dict = {}
    for cond in cfg.conditions:
        for isp in (i for i in cfg.isps if i != "reference"):
            folder = work / "images" / cond.name / isp
            qpath = folder / "quality.json"
            cached = json.loads(qpath.read_text()) if qpath.is_file() else {}
            source = _source_key(cfg, cond, isp)
            fresh = cached.pop("_source", None) == source  # else: other weights or capture
            if not fresh:
                cached = {}
            if all(fid in cached for fid in ids):
                quality[cond.name, isp] = {fid: cached[fid] for fid in ids}
                continue
            develop_frame, rows = source_developer(isp, cond, cfg.device), {}
            for fid in tqdm(ids, desc=f"isp {cond.name}/{isp}", leave=False):
                png = folder / "image_2" / f"{fid}.png"
                if fresh and png.is_file():  # written by an interrupted run: the same bytes
                    image = torch.from_numpy(read_image(png))[None]
                else:
                    rad, depth, exposure = load_scene(radiance_root, cfg.data.root, fid)
                    raw, meta, _, gain = capture_condition(
                        rad, depth, exposure, cond, cfg.capture_seed, int(fid)
                    )
                    image = develop_frame(raw, meta, gain)
                    save_png(png, image[0])
                ref = torch.from_numpy(
                    read_image(cfg.data.root / "training/image_2" / f"{fid}.png")
                )
                rows[fid] = {
                    "psnr_db": float(psnr(image, ref[None])),
                    "ssim": float(ssim(image, ref[None])),
                }
            out = {"_source": source, **cached, **rows}
            atomic_write_text(qpath, json.dumps(out, indent=1) + "\n")
            quality[cond.name, isp] = rows
    return quality


def _lidar_roots(cfg: IspEffectConfig, ids: list[str], work: Path) -> dict:
    """LiDAR variant name -> KITTI-layout root of the evaluated frames (clear air, and one
    fogged copy per haze MOR)."""
    from perception3d.lidar.weather_dataset import write_weather_copy

    clear = work / "lidar" / "clear"
    (clear / "ImageSets").mkdir(parents=True, exist_ok=True)
    atomic_write_text(clear / "ImageSets" / "val.txt", "".join(f"{i}\n" for i in ids))
    for folder in ("velodyne", "calib", "label_2", "image_2"):
        link = clear / "training" / folder
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink((cfg.data.root / "training" / folder).resolve(), link)
    roots = {"clear": clear}
    for cond in cfg.conditions:
        if cond.fog_mor_m is not None:
            name = f"fog{cond.fog_mor_m:g}"
            root = work / "lidar" / name
            if not _same_frames(root / "ImageSets" / "val.txt", ids):
                write_weather_copy(clear, root, "val", "fog", cond.fog_mor_m, cfg.fog_seed)
            roots[name] = root
    return roots


def _lidar_name(cond: Condition) -> str:
    return "clear" if cond.fog_mor_m is None else f"fog{cond.fog_mor_m:g}"


def _same_frames(split_file: Path, ids: list[str]) -> bool:
    """Whether a cached step covered exactly ``ids`` (its split file lists them)."""
    return split_file.is_file() and read_split_file(split_file) == ids


def depth_trust_summary(radiance_root: Path, ids: list[str]) -> dict:
    """Mean over the real frames of their depth-completion checks
    (:func:`perception3d.isp.real_capture.depth_trust`, stored beside the scenes), and the
    per-frame values."""
    import numpy as np

    per = {
        fid: json.loads((radiance_root / "training" / "depth_trust" / f"{fid}.json").read_text())
        for fid in ids
    }
    out: dict = {"frames": per}
    for part in ("holdout", "top"):
        out[part] = {
            k: float(np.mean([p[part][k] for p in per.values()]))
            for k in ("mae_m", "rmse_m", "median_abs_rel", "within_10pct")
        }
    out["false_sky"] = float(np.mean([p["false_sky"] for p in per.values()]))
    out["share"] = {
        k: float(np.mean([p["share"][k] for p in per.values()]))
        for k in ("measured", "extended", "sky")
    }
    return out


def run_isp_effect(cfg: IspEffectConfig, out: str | Path, progress: bool = True) -> dict:
    """Run (or resume) the experiment into ``out``; returns the summary also written to
    ``out/isp_effect.json`` (with ``isp_effect.md``, ``isp_effect.png``, ``report.html``)."""
    out = Path(out)
    work = out / "work"
    ids = read_split_file(cfg.data.root / "ImageSets" / f"{cfg.data.val_split}.txt")
    ids = ids[: cfg.data.max_val_frames]
    seen = held_out_check(evaluated_weights(cfg), cfg.data.root, ids)  # warns
    with torch_threads(cfg.threads):
        radiance_root = ensure_radiance(cfg.data.root, ids, work / "radiance")
        quality = develop(cfg, ids, radiance_root, work)
        lidar_roots = _lidar_roots(cfg, ids, work)
    floors: dict = {}
    lidar_inputs = {"fog_seed": cfg.fog_seed}
    for lidar, root in lidar_roots.items():
        floors[lidar] = predict_lidar_detector(
            cfg.lidar_checkpoint, root, work / "pred" / "lidar_only" / lidar, ids, cfg.threads,
            lidar_inputs,
        )  # fmt: skip
    rows = []
    for cond in cfg.conditions:
        lidar = _lidar_name(cond)
        for detector in cfg.detectors:
            for isp in cfg.isps:
                images = (
                    cfg.data.root / "training" / "image_2"
                    if isp == "reference"
                    else work / "images" / cond.name / isp / "image_2"
                )
                # the reference images do not depend on the condition: share across same LiDAR
                key = f"reference_{lidar}" if isp == "reference" else f"{cond.name}_{isp}"
                inputs = {
                    **lidar_inputs,
                    "images": "image_2" if isp == "reference" else _source_key(cfg, cond, isp),
                }
                pred = predict_fused(cfg, detector, lidar_roots[lidar], images, work, key, ids,
                                     inputs)  # fmt: skip
                rows.append({"condition": cond, "detector": detector, "isp": isp,
                             "pred_dir": pred, "lidar": lidar})  # fmt: skip
        rows.append({"condition": cond, "detector": "lidar_only", "isp": "lidar_only",
                     "pred_dir": floors[lidar], "lidar": lidar})  # fmt: skip
    summary = summarize(cfg, ids, rows, quality, lidar_roots["clear"] / "training" / "label_2")
    real = is_real_root(cfg.data.root, ids)
    summary["scene_source"] = "real" if real else "synthetic"
    if real:
        summary["depth_trust"] = depth_trust_summary(radiance_root, ids)
    summary["config"] = to_dict(cfg)
    summary["trained_on_evaluated_frames"] = seen
    write_outputs(summary, out)
    return summary


__all__ = [
    "ISP_CHOICES",
    "IspEffectConfig",
    "display_srgb",
    "evaluated_weights",
    "fused_detectors",
    "load_isp_effect_config",
    "run_isp_effect",
]
