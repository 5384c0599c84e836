"""Adaptation without labels for a LiDAR detector: its BatchNorm statistics re-estimated on
unlabelled real sweeps (AdaBN, :mod:`perception3d.models.adapt_norm`).

The sweeps are turned into camera-sized views exactly as the pseudo-labels make them
(:func:`perception3d.experiments.sim2real.pseudo.write_turned_views`: each sweep turned about
z by each angle, KITTI 000008's calibration), and each view goes through the detector's own
inference input (camera field of view, point range, pillars). The weights are not changed;
the file written is a weights-only checkpoint of the same kind and config, which every
command that takes the original accepts.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from perception3d.checkpoint import write_weights_copy
from perception3d.engine.checkpoint import load_checkpoint
from perception3d.engine.infer import voxel_batch
from perception3d.experiments.sim2real.pseudo import (
    FULL_SWEEP_MIN_POINTS,
    VIEW_ROTATIONS_DEG,
    write_turned_views,
)
from perception3d.lidar.dataset import LidarDetectionDataset, collate_batch
from perception3d.models.adapt_norm import batchnorm_layers, reestimate_batchnorm
from perception3d.models.detector import build_detector

__all__ = ["AdaptBnConfig", "adapt_detector_batchnorm"]


@dataclass(frozen=True)
class AdaptBnConfig:
    """Which views of the real sweeps adapt the statistics."""

    rotations_deg: tuple[float, ...] = VIEW_ROTATIONS_DEG  # the pseudo-labels' views
    min_points: int = FULL_SWEEP_MIN_POINTS

    def __post_init__(self) -> None:
        if not self.rotations_deg:
            raise ValueError("rotations_deg needs at least one angle")


def adapt_detector_batchnorm(
    checkpoint: str | Path,
    real_roots: list[Path],
    out: str | Path,
    cfg: AdaptBnConfig = AdaptBnConfig(),
    work_dir: str | Path | None = None,
) -> dict:
    """Write to ``out`` the detector of ``checkpoint`` with its BatchNorm statistics
    re-estimated on the views of the unlabelled ``real_roots``; return a summary (views used,
    layers, seconds), also stored under the file's ``extra["adapt_bn"]``.

    Args:
        checkpoint: a LiDAR detector checkpoint (``kind: detector``).
        real_roots: KITTI-layout roots of unlabelled sweeps (a root with ``label_2`` is
            refused).
        out: the adapted weight file (weights only, written atomically).
        cfg: the views.
        work_dir: where the turned views are written (default: a temporary folder, removed).
    """
    t0 = time.perf_counter()
    ckpt = load_checkpoint(checkpoint)
    exp = ckpt["experiment"]
    model = build_detector(exp.model)
    model.load_state_dict(ckpt["model"])
    with tempfile.TemporaryDirectory(prefix="adapt_bn_") as tmp:
        views = Path(work_dir) if work_dir is not None else Path(tmp)
        ids = write_turned_views(
            [Path(r) for r in real_roots], views, cfg.rotations_deg, cfg.min_points
        )
        if not ids:
            raise ValueError(
                f"{[str(r) for r in real_roots]}: no sweep with at least {cfg.min_points} points"
            )
        ds = LidarDetectionDataset(views, "training", exp.model.voxel, fov_only=True, ids=ids)
        loader = DataLoader(ds, batch_size=1, collate_fn=collate_batch)
        device = torch.device("cpu")
        n = reestimate_batchnorm(model, loader, lambda m, b: m(voxel_batch(b, device)))
    summary = {
        "source_checkpoint": str(checkpoint),
        "real_roots": [str(r) for r in real_roots],
        "views": n,
        "batchnorm_layers": len(batchnorm_layers(model)),
        "rotations_deg": list(cfg.rotations_deg),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    write_weights_copy(out, ckpt, model.state_dict(), {"adapt_bn": summary})
    return summary
