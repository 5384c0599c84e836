"""What super-resolution of far-object crops does to the camera detector (issue 21 §1;
``perception3d isp sr-detect configs/isp/sr_far_detect.yaml --out DIR``; docs/sr.md).

The frustum 2D detector resizes every image to a fixed ``input_hw`` (192 x 640, about half of
``image_2``), so upscaling a whole frame x2 gives it nothing: the resize undoes it. The SR
stage is applied where the issue allows it, to crops: the horizon windows of
:mod:`perception3d.engine.horizon_tiles` (config key ``horizon``; the pipeline's
``frustum infer --horizon-tiles`` runs the same code), where the objects beyond 40 m are.
Each window is upscaled x2 (96 x 320 -> 192 x 640: the detector's input size, which it then
leaves as is) and detected; its boxes, mapped back to the frame, join the whole frame's
detections, and per-class non-maximum suppression merges them. Conditions, all with the same
detector and windows:

- ``full``: the whole frame alone (the pipeline without the crops);
- ``tiles_bilinear``: + windows resized by the detector itself (bilinear x2: zoom without SR);
- ``tiles_bicubic``, ``tiles_espcn``, ``tiles_srcnn``: + windows upscaled by that SR method.

Scored by :mod:`perception3d.experiments.sr_far_ap` (objects beyond ``min_range_m``); with a
``frustum`` weight file, each condition's 2D boxes are also lifted by Frustum PointNet and
scored in bird's-eye view.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_text
from perception3d.config import DataSection
from perception3d.data.kitti_labels import write_label_file
from perception3d.engine.horizon_tiles import (
    HorizonTiles,
    as_part,
    detect_tiles,
    merge,
    tile_boxes,
)
from perception3d.experiments.sr_far_ap import far_ap, range_m, split_labels

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "assets" / "weights"
SCALE = 2
# overlaps: KITTI's 2D ones (Car 0.7, others 0.5) and Car at 0.5 (far cars are a few pixels
# wide: one pixel of error costs more overlap); bird's-eye view: Car 0.5, others 0.25 (the
# loose settings docs/frustum.md reports)
OVERLAPS_2D = {"Car": (0.7, 0.5), "Pedestrian": (0.5,), "Cyclist": (0.5,)}
OVERLAPS_BEV = {"Car": (0.5,), "Pedestrian": (0.25,), "Cyclist": (0.25,)}


@dataclasses.dataclass(frozen=True)
class SrFarWeights:
    """Weight files: the 2D detector, the 3D stage (null: no bird's-eye-view scores) and the
    x2 SR networks (null: condition left out)."""

    detector2d: Path = WEIGHTS_DIR / "frustum_detector2d_dense.pt"
    frustum: Path | None = WEIGHTS_DIR / "frustum_pointnet_synth.pt"
    espcn: Path | None = WEIGHTS_DIR / "sr_espcn_x2.pt"
    srcnn: Path | None = WEIGHTS_DIR / "sr_srcnn_x2.pt"


@dataclasses.dataclass(frozen=True)
class SrFarConfig:
    """``configs/isp/sr_far_detect.yaml`` (the module docstring says what each key does;
    ``conditions``: the ones to run, None: ``full`` and every condition with weights)."""

    weights: SrFarWeights = dataclasses.field(default_factory=SrFarWeights)
    data: DataSection = dataclasses.field(default_factory=DataSection)
    horizon: HorizonTiles = dataclasses.field(default_factory=HorizonTiles)
    min_range_m: float = 40.0
    score_threshold: float = 0.3
    conditions: tuple[str, ...] | None = None
    threads: int = 1


def upscalers(cfg: SrFarConfig) -> dict[str, Callable | None]:
    """Condition name -> x2 upscaler of a (1, 3, h, w) sRGB tensor (None: the detector's own
    resize, i.e. ``tiles_bilinear``); ``full`` is not in it."""
    from perception3d.isp.sr import load_sr_model, super_resolve

    ups: dict[str, Callable | None] = {
        "tiles_bilinear": None,
        "tiles_bicubic": lambda x: super_resolve(None, x, SCALE),
    }
    for name in ("espcn", "srcnn"):
        path = getattr(cfg.weights, name)
        if path is not None:
            model = load_sr_model(path)
            if model.scale != SCALE:
                raise ValueError(f"weights.{name}: {path} upscales x{model.scale}, need x2")
            ups[f"tiles_{name}"] = lambda x, m=model: super_resolve(m, x)
    return ups


def _in_tiles(obj, tiles: np.ndarray) -> bool:
    cx, cy = (obj.bbox[0] + obj.bbox[2]) / 2, (obj.bbox[1] + obj.bbox[3]) / 2
    return bool(((tiles[:, 0] <= cx) & (cx < tiles[:, 2]) & (tiles[:, 1] <= cy)
                 & (cy < tiles[:, 3])).any())  # fmt: skip


def _frame_conditions(cfg, model2d, model3d, ups, frame, seconds: dict) -> tuple[dict, dict]:
    """One frame's 2D and (with ``model3d``) 3D result rows per condition."""
    from perception3d.engine.frustum_infer import (
        detections_2d_to_objects,
        predict_frustum,
        run_detector_2d,
    )
    from perception3d.models.detector2d import Detections2D

    image, h = frame.image, cfg.horizon
    tiles = tile_boxes(h, frame.calib.P2, image.shape[1:])
    detect = functools.partial(run_detector_2d, model2d)
    t0 = time.perf_counter()
    full_part = as_part(detect(image))
    seconds["full"] += time.perf_counter() - t0
    rows2d, rows3d = {}, {}
    for cond in ("full", *ups):
        parts = [full_part]
        if cond != "full":
            t0 = time.perf_counter()
            parts += detect_tiles(detect, image, tiles, ups[cond], h.edge_margin_px)
            seconds[cond] += time.perf_counter() - t0
        boxes, scores, labels = merge(parts, h.nms_iou)
        det = Detections2D(boxes.astype(np.float32), scores.astype(np.float32), labels)
        rows2d[cond] = detections_2d_to_objects(det, model2d.classes)
        if model3d is not None:
            rows3d[cond] = predict_frustum(None, model3d, None, frame.points, frame.calib,
                                           boxes, labels, scores)  # fmt: skip
    return rows2d, rows3d


def run_sr_far(cfg: SrFarConfig, out_dir: str | Path, log: Callable[[str], None] = print):
    """Run the experiment of ``cfg`` on ``data.root``'s ``data.val_split``; writes
    ``metrics.json`` and each condition's result files (``pred/<condition>/bbox`` 2D rows,
    ``pred/<condition>/frustum`` 3D rows) and returns the metrics.

    Raises:
        FileNotFoundError: a missing weight file or root.
        ValueError: an SR network that is not x2.
    """
    from perception3d.data.kitti import KittiObjectDataset
    from perception3d.engine.frustum_infer import load_detector2d, load_frustum_model
    from perception3d.runtime import torch_threads

    d = cfg.data
    if d.root is None:
        raise FileNotFoundError("data.root is not set (a KITTI-layout root with labels)")
    with torch_threads(cfg.threads):
        model2d, _ = load_detector2d(cfg.weights.detector2d)
        model3d = None if cfg.weights.frustum is None else load_frustum_model(cfg.weights.frustum)
        ups = upscalers(cfg)
        if cfg.conditions is not None:
            unknown = set(cfg.conditions) - {"full", *ups}
            if unknown:
                raise ValueError(f"conditions: {sorted(unknown)} unknown or without weights; "
                                 f"known: full, {', '.join(ups)}")  # fmt: skip
            ups = {k: v for k, v in ups.items() if k in cfg.conditions}
        frames = KittiObjectDataset(d.root, d.val_split, max_frames=d.max_val_frames)
        conds = ("full", *ups)
        labels: dict = {}
        dets2d: dict = {c: {} for c in conds}
        dets3d: dict = {c: {} for c in conds}
        seconds = {c: 0.0 for c in conds}
        coverage = {c: [0, 0] for c in OVERLAPS_2D}  # cared far objects: all, centre in a tile
        for i, frame in enumerate(frames):
            fid = frame.frame_id
            labels[fid] = frame.objects
            rows2d, rows3d = _frame_conditions(cfg, model2d, model3d, ups, frame, seconds)
            for c in conds:
                dets2d[c][fid] = rows2d[c]
                write_label_file(Path(out_dir) / "pred" / c / "bbox" / f"{fid}.txt", rows2d[c], 4)
                if model3d is not None:
                    dets3d[c][fid] = rows3d[c]
                    write_label_file(Path(out_dir) / "pred" / c / "frustum" / f"{fid}.txt",
                                     rows3d[c], 4)  # fmt: skip
            tiles = tile_boxes(cfg.horizon, frame.calib.P2, frame.image.shape[1:])
            for cls in OVERLAPS_2D:
                cared = split_labels(frame.objects, cls, cfg.min_range_m)[0]
                coverage[cls][0] += len(cared)
                coverage[cls][1] += sum(_in_tiles(o, tiles) for o in cared)
            if (i + 1) % 25 == 0:
                log(f"sr-detect: {i + 1} / {len(frames)} frames")
    result = {
        "root": str(d.root), "split": d.val_split, "frames": len(labels),
        "min_range_m": cfg.min_range_m, "score_threshold": cfg.score_threshold,
        "far_objects": {k: {"all": v[0], "centre_in_tiles": v[1]} for k, v in coverage.items()},
        "far_range_m": _far_ranges(labels, cfg.min_range_m),
        "seconds_per_frame": {c: s / max(len(labels), 1) for c, s in seconds.items()},
        "bbox": _score(labels, dets2d, OVERLAPS_2D, "bbox", cfg),
        "bev": _score(labels, dets3d, OVERLAPS_BEV, "bev", cfg) if model3d is not None else {},
        "config": json.loads(json.dumps(dataclasses.asdict(cfg), default=str)),
    }  # fmt: skip
    atomic_write_text(Path(out_dir) / "metrics.json", json.dumps(result, indent=2))
    log(format_sr_far_table(result))
    return result


def _far_ranges(labels: dict, min_range_m: float) -> dict:
    out = {}
    for cls in OVERLAPS_2D:
        r = [range_m(o) for rows in labels.values()
             for o in split_labels(rows, cls, min_range_m)[0]]  # fmt: skip
        out[cls] = [float(np.min(r)), float(np.median(r)), float(np.max(r))] if r else []
    return out


def _score(labels, dets: dict, overlaps: dict, metric: str, cfg: SrFarConfig) -> dict:
    return {cond: {f"{cls}@{thr}": far_ap(labels, rows, cls, cfg.min_range_m, thr, metric,
                                          cfg.score_threshold).as_dict()
                   for cls, thrs in overlaps.items() for thr in thrs}
            for cond, rows in dets.items()}  # fmt: skip


def format_sr_far_table(result: dict) -> str:
    """Markdown table: AP (all-point, %) per condition and metric, with TP / FP at the score
    threshold; the header gives the number of far objects."""
    keys = [("bbox", k) for k in next(iter(result["bbox"].values()))]
    if result["bev"]:
        keys += [("bev", k) for k in next(iter(result["bev"].values()))]
    num = {f"{m} {k}": result[m]["full"][k]["num_gt"] for m, k in keys}
    head = " | ".join(f"{name} (n = {n})" for name, n in num.items())
    lines = [f"| condition | {head} |", "|---" * (len(keys) + 1) + "|"]
    for cond in result["bbox"]:
        cells = []
        for m, k in keys:
            r = result[m][cond][k]
            cells.append(f"{r['ap']:.1f} ({r['tp']} / {r['fp']})")
        lines.append(f"| {cond} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
