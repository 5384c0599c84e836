"""AdaBN for the Frustum PointNet 3D stage: re-estimate its BatchNorm statistics on the
frustums of a 2D detector's boxes on unlabelled frames of the target domain (real sweeps), the
learned weights unchanged (Li et al. 2017; :mod:`perception3d.models.adapt_norm`).

Each frustum is built as inference builds it (:func:`~perception3d.engine.frustum_infer.
frustum_batch`: evenly spaced points, frustum frame) from a detection with score >=
``score_threshold``, with the one-hot of the detection's class; all of them form one batch.
Unlike the training frustums (jittered ground-truth boxes), these include the 2D detector's
false positives: the statistics are those of what the 3D stage sees behind that detector.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from perception3d.checkpoint import read_checkpoint, write_weights_copy
from perception3d.data.kitti import KittiObjectDataset
from perception3d.engine.frustum_infer import (
    frustum_batch,
    load_detector2d,
    load_frustum_model,
    run_detector_2d,
)
from perception3d.errors import MissingFrameError, Perception3DError
from perception3d.models.adapt_norm import reestimate_batchnorm
from perception3d.models.frustum import FrustumPointNet


@torch.no_grad()
def detected_frustums(
    model2d, model3d: FrustumPointNet, frames: Iterable, score_threshold: float = 0.3
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, N, 4) frustum-frame points and (B, K) class one-hots of the detections of
    ``model2d`` with score >= ``score_threshold`` on ``frames`` (KITTI frames with image_2,
    LiDAR and calibration) whose frustums hold enough points."""
    points, labels = [], []
    for frame in frames:
        if frame.image is None:
            raise MissingFrameError(f"frame {frame.frame_id}: no image_2 to detect 2D boxes in")
        det = run_detector_2d(model2d, frame.image)
        keep = det.scores >= score_threshold
        batch, kept, _ = frustum_batch(model3d, frame.points, frame.calib, det.boxes_img[keep])
        points += batch
        labels += [int(det.labels[keep][k]) for k in kept]
    if not points:
        raise Perception3DError(f"no 2D detection with score >= {score_threshold} and enough "
                                "LiDAR points in its frustum to adapt the 3D stage on")  # fmt: skip
    one_hot = torch.eye(model3d.num_classes)[torch.tensor(labels)]
    return torch.from_numpy(np.stack(points)), one_hot


def adapt_frustum_batchnorm(model3d: FrustumPointNet, points: torch.Tensor,
                            one_hot: torch.Tensor) -> int:  # fmt: skip
    """Re-estimate every BatchNorm layer of ``model3d`` (in place, left in eval mode) on the
    frustums ``points`` (B, N, C) with classes ``one_hot`` (B, K), in one batch."""
    return reestimate_batchnorm(model3d, [(points, one_hot)], lambda m, b: m(*b))


def adapt_frustum_file(
    model3d: str | Path,
    det2d: str | Path,
    data_root: str | Path,
    ids: list[str],
    out: str | Path,
    score_threshold: float = 0.3,
) -> dict:
    """``perception3d frustum adapt-bn-3d``: write a copy of the 3D-stage checkpoint
    ``model3d`` whose BatchNorm statistics are re-estimated, in one batch, on the frustums of
    ``det2d``'s detections on frames ``ids`` of ``data_root`` (no labels read), weights only,
    with ``extra["adapt_bn"]`` naming the frames. Returns that note."""
    ckpt = read_checkpoint(model3d, kind="frustum")
    net = load_frustum_model(model3d)
    model2d, _ = load_detector2d(det2d)
    frames = KittiObjectDataset(data_root, "training", ids=ids)
    points, one_hot = detected_frustums(model2d, net, frames, score_threshold)
    adapt_frustum_batchnorm(net, points, one_hot)
    note = {
        "method": "AdaBN (Li et al. 2017): BatchNorm running statistics re-estimated on the "
        "frustums of 2D detections on unlabelled frames, other weights unchanged",
        "source_checkpoint": str(model3d),
        "det2d": str(det2d),
        "data_root": str(data_root),
        "frames": list(frames.ids),
        "score_threshold": score_threshold,
        "frustums": len(points),
    }
    write_weights_copy(out, ckpt, net.state_dict(), {"adapt_bn": note})
    return note
