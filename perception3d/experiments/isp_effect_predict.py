"""Cached detector predictions of the ISP-effect experiment
(:mod:`perception3d.experiments.isp_effect`):
KITTI result files of a LiDAR-input detector (PointPillars-lite on plain or painted points) or of
Frustum PointNet (a 2D detector on an image folder, frustums of the LiDAR behind its boxes).

Each prediction folder holds ``done.json``: the frame ids, the SHA-256 of every checkpoint
used, and the caller's description of the inputs (``inputs``: e.g. which ISP weights made the
images, which segmentation weights painted the points). A folder is recomputed only when those
differ from the call's, so an interrupted or repeated experiment resumes and changed weights
anywhere upstream are never answered from a stale cache.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from perception3d.atomic import atomic_write_text
from perception3d.checkpoint import file_sha256
from perception3d.runtime import torch_threads


def _is_done(pred_dir: Path, key: dict) -> bool:
    """Whether ``pred_dir/done.json`` records exactly ``key``'s frames and weights."""
    done = pred_dir / "done.json"
    cached = json.loads(done.read_text()) if done.is_file() else {}
    return all(cached.get(k) == v for k, v in key.items())


def predict_lidar_detector(
    ckpt: str | Path,
    root: Path,
    pred_dir: Path,
    ids: list[str],
    threads: int,
    inputs: dict | None = None,
) -> Path:
    """``pred_dir/<id>.txt`` of a detector checkpoint (:func:`perception3d.engine.infer.infer`)
    on ``root``'s ``val`` split (LiDAR, or painted LiDAR); cached (``inputs``: JSON-able
    description of what ``root``'s points depend on). Returns ``pred_dir``."""
    from perception3d.engine.infer import infer

    key = {"ids": ids, "checkpoint_sha256": file_sha256(ckpt), "inputs": inputs or {}}
    if not _is_done(pred_dir, key):
        with torch_threads(threads):
            summary = infer(ckpt, root, pred_dir, split="val", device="cpu", overwrite=True)
        atomic_write_text(pred_dir / "done.json", json.dumps({**summary, **key}) + "\n")
    return pred_dir


def predict_frustum_pointnet(
    ckpt_2d: str | Path,
    ckpt_3d: str | Path,
    root: Path,
    images_dir: Path,
    pred_dir: Path,
    ids: list[str],
    threads: int,
    inputs: dict | None = None,
) -> Path:
    """``pred_dir/<id>.txt`` of Frustum PointNet
    (:func:`perception3d.engine.frustum_infer.infer_frustum`) on ``root``'s ``val`` split: the
    2D detector of ``ckpt_2d`` on ``images_dir/<id>.png`` (an ISP's displayed images), the 3D
    stage of ``ckpt_3d`` on ``root``'s LiDAR (clear or fogged); cached on the frame ids, both
    checkpoints' bytes and ``inputs`` (what the images depend on). Returns ``pred_dir``."""
    key = {
        "ids": ids,
        "checkpoint_2d_sha256": file_sha256(ckpt_2d),
        "checkpoint_3d_sha256": file_sha256(ckpt_3d),
        "inputs": inputs or {},
    }
    if not _is_done(pred_dir, key):
        from perception3d.engine.frustum_infer import (
            infer_frustum,
            load_detector2d,
            load_frustum_model,
        )

        with torch_threads(threads):
            model2d, model3d = load_detector2d(ckpt_2d)[0], load_frustum_model(ckpt_3d)
            summary = infer_frustum(model2d, model3d, root, "val", pred_dir, images_dir=images_dir,
                                    progress=False, overwrite=True)  # fmt: skip
        atomic_write_text(pred_dir / "done.json", json.dumps({**summary, **key}) + "\n")
    return pred_dir


def predict_fused(
    cfg,
    detector: str,
    lidar_root: Path,
    images_dir: Path,
    work: Path,
    key: str,
    ids: list[str],
    inputs: dict,
) -> Path:
    """Cached predictions of one fused detector on ``lidar_root``'s ``val`` frames with the
    images of ``images_dir``: ``pointpainting`` paints the points with ``cfg.seg_weights``
    into ``work/painted/<key>_<digest>`` and runs ``cfg.painted_checkpoint`` into
    ``work/pred/<key>``;
    ``frustum_pointnet`` runs ``cfg.frustum_2d_checkpoint`` / ``cfg.frustum_3d_checkpoint``
    into ``work/pred/frustum_pointnet/<key>``. ``inputs``: what the images and points depend
    on (the cache key; the painted folder's name carries its digest). Returns the prediction
    folder."""
    if detector == "pointpainting":
        from perception3d.models.fusion import paint_split

        seg = {"seg_weights_sha256": file_sha256(cfg.seg_weights)}
        # paint_split keeps the painted files it finds: the folder is named after everything the
        # paint depends on, so changed images or segmentation weights never reuse stale points
        digest = hashlib.sha256(json.dumps({**inputs, **seg}, sort_keys=True).encode()).hexdigest()
        painted = work / "painted" / f"{key}_{digest[:12]}"
        paint_split(lidar_root, images_dir, cfg.seg_weights, painted, "val", cfg.threads,
                    fov_only=True, progress=False)  # fmt: skip
        return predict_lidar_detector(cfg.painted_checkpoint, painted, work / "pred" / key, ids,
                                      cfg.threads, {**inputs, **seg})  # fmt: skip
    if detector != "frustum_pointnet":
        raise ValueError(f"unknown fused detector {detector!r}: pointpainting|frustum_pointnet")
    return predict_frustum_pointnet(
        cfg.frustum_2d_checkpoint, cfg.frustum_3d_checkpoint, lidar_root, images_dir,
        work / "pred" / "frustum_pointnet" / key, ids, cfg.threads, inputs,
    )  # fmt: skip


__all__ = ["predict_frustum_pointnet", "predict_fused", "predict_lidar_detector"]
