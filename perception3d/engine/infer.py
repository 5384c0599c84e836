"""Batch inference: a detector over a KITTI-layout split -> KITTI result files.

Each detection becomes a 16-column result row: class, truncation and occlusion -1 (unknown,
as the KITTI devkit writes detections), alpha, the image_2 box of the projected 3D box
(``perception3d.geometry.boxes.boxes_to_image_2d``, clipped to the image), dimensions,
bottom-centre location and rotation_y in the rectified camera frame, and the score.
Detections whose 3D box does not project into image_2 are dropped: KITTI labels only cover the
camera's field of view and the evaluator needs a 2D box.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from perception3d.config import require_root
from perception3d.data.kitti import KittiObject, write_result_file
from perception3d.data.lidar_folder import write_lidar_labels
from perception3d.engine.backend import inference_model
from perception3d.engine.checkpoint import load_checkpoint
from perception3d.engine.config import ExperimentConfig, load_task_config
from perception3d.engine.result_dir import claim_result_dir
from perception3d.engine.tta import TTA_MODES, fuse_mirrored, mirror_voxel_batch
from perception3d.errors import ConfigError
from perception3d.geometry.boxes import boxes_to_image_2d
from perception3d.geometry.calib import Calibration, alpha_from_rotation_y, boxes_lidar_to_cam
from perception3d.lidar.dataset import KITTI_IMAGE_HW, LidarDetectionDataset, collate_batch
from perception3d.models.detector import Detections, VoxelBatch, VoxelDetector, build_detector
from perception3d.runtime import resolve_device


def voxel_batch(batch: dict, device: torch.device) -> VoxelBatch:
    """The :class:`VoxelBatch` of a collated batch, on ``device``."""
    return VoxelBatch(
        batch["voxel_points"].to(device),
        batch["voxel_num_points"].to(device),
        batch["voxel_coords"].to(device),
        batch["batch_size"],
    )


def detections_to_objects(
    det: Detections,
    classes: tuple[str, ...],
    calib: Calibration,
    image_shape_hw: tuple[int, int] | None,
) -> list[KittiObject]:
    """KITTI result rows of one frame's detections (those projecting into image_2)."""
    boxes = det.boxes_lidar.double().numpy()
    if len(boxes) == 0:
        return []
    boxes_2d, valid = boxes_to_image_2d(boxes, calib, image_shape_hw or KITTI_IMAGE_HW)
    boxes_cam = boxes_lidar_to_cam(boxes, calib)  # (K, 7) [x, y, z, l, h, w, ry]
    alpha = alpha_from_rotation_y(boxes_cam[:, 6], boxes_cam[:, :3])
    out = []
    for k in np.flatnonzero(valid):
        x, y, z, l, h, w, ry = boxes_cam[k].tolist()
        out.append(
            KittiObject(
                type=classes[int(det.labels[k])],
                truncated=-1.0,
                occluded=-1,
                alpha=float(alpha[k]),
                bbox=tuple(float(v) for v in boxes_2d[k]),
                dimensions=(h, w, l),
                location=(x, y, z),
                rotation_y=ry,
                score=float(det.scores[k]),
            )
        )
    return out


@torch.no_grad()
def predict_detections(
    model: VoxelDetector,
    dataset: LidarDetectionDataset,
    device: torch.device,
    batch_size: int = 1,
    num_workers: int = 0,
    progress: bool = True,
    tta: str = "none",
) -> Iterator[tuple[str, Detections | None]]:
    """Yield ``(frame_id, LiDAR-frame detections)`` for every frame of ``dataset`` (in order);
    None for a frame without a voxel (an empty sweep, or nothing inside the range): it has no
    detections, the head's biases alone must not produce boxes. ``tta="flip"`` also runs each
    frame mirrored and fuses both passes (:mod:`perception3d.engine.tta`)."""
    if tta not in TTA_MODES:
        raise ConfigError(f"tta must be one of {TTA_MODES}, got {tta!r}")
    was_training = model.training
    model.eval()
    loader = DataLoader(
        dataset, batch_size=batch_size, collate_fn=collate_batch, num_workers=num_workers
    )
    try:
        for batch in tqdm(loader, desc="infer", unit="batch", disable=not progress, leave=False):
            has_voxels = torch.bincount(
                batch["voxel_coords"][:, 0].long(), minlength=batch["batch_size"]
            ).gt(0)
            dets = None
            if bool(has_voxels.any()):
                dets = _detect_batch(model, voxel_batch(batch, device), dataset.grid, tta)
            for b, frame_id in enumerate(batch["frame_ids"]):
                yield frame_id, dets[b] if bool(has_voxels[b]) else None
    finally:
        model.train(was_training)


def _detect_batch(model: VoxelDetector, batch: VoxelBatch, grid, tta: str) -> list[Detections]:
    """The detections of each frame of ``batch``, with flip test-time augmentation or not."""
    if tta == "none":
        return model.postprocess(model(batch))
    return fuse_mirrored(model.postprocess(model(mirror_voxel_batch(batch, grid))), model)


def predict(
    model: VoxelDetector, dataset: LidarDetectionDataset, device: torch.device, **options
) -> Iterator[tuple[str, list[KittiObject]]]:
    """Yield ``(frame_id, KITTI result rows)`` for every frame of a KITTI-layout ``dataset``
    (``options``: ``batch_size``, ``num_workers``, ``progress``, ``tta`` of
    :func:`predict_detections`)."""
    for frame_id, det in predict_detections(model, dataset, device, **options):
        if det is None:
            yield frame_id, []
            continue
        frame = dataset.kitti.frame(frame_id)
        yield frame_id, detections_to_objects(det, model.classes, frame.calib, frame.image_shape)


def write_lidar_predictions(
    path: str | Path, det: Detections | None, classes: tuple[str, ...]
) -> Path:
    """One frame's detections as a LiDAR-frame prediction file (``class x y z dx dy dz heading
    score`` rows, :mod:`perception3d.data.lidar_folder`), atomically; None: an empty file."""
    if det is None:
        return write_lidar_labels(path, np.zeros((0, 7)), [], np.zeros(0))
    names = [classes[int(k)] for k in det.labels]
    return write_lidar_labels(path, det.boxes_lidar.double().numpy(), names, det.scores.numpy())


def load_detector(
    ckpt_path: str | Path,
    cfg: ExperimentConfig | None = None,
    device: str = "auto",
    backend: str = "eager",
) -> tuple[VoxelDetector, ExperimentConfig]:
    """A detector with its checkpoint's weights, in eval mode.

    Args:
        ckpt_path: checkpoint file.
        cfg: when given, the checkpoint's model must match its ``model`` section (else a
            :class:`~perception3d.engine.checkpoint.CheckpointError`); None uses the
            checkpoint's own config.
        device: ``auto``, ``cpu`` or ``cuda``.
        backend: ``eager`` (the detector) or ``fused`` (its inference-only CPU form,
            :mod:`perception3d.engine.backend`; same interface, for inference only).
    """
    ckpt = load_checkpoint(ckpt_path, expected=cfg)
    exp = cfg or ckpt["experiment"]
    model = build_detector(exp.model)
    model.load_state_dict(ckpt["model"])
    return inference_model(model.to(resolve_device(device)).eval(), backend), exp


def infer(
    ckpt_path: str | Path,
    data_root: str | Path,
    out_dir: str | Path,
    split: str = "val",
    cfg: ExperimentConfig | None = None,
    device: str = "auto",
    batch_size: int = 1,
    num_workers: int = 0,
    max_frames: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    backend: str = "eager",
    tta: str = "none",
) -> dict:
    """Write ``out_dir/<frame_id>.txt`` result files for a split: KITTI rows, or LiDAR-frame
    prediction rows for a LiDAR-only dataset (``data.format: lidar``).

    Args:
        ckpt_path: a ``detector`` checkpoint.
        data_root: KITTI-layout (or LiDAR-only) root.
        out_dir: the result folder (:func:`~perception3d.engine.result_dir.claim_result_dir`:
            refused when it holds another run's results, unless ``overwrite``).
        split: ImageSets name, or ``training`` for every frame.
        cfg: the config the checkpoint must match (None: its own).
        device, batch_size, num_workers: how inference runs.
        max_frames: the first N frames of the split only.
        overwrite: replace the result files already in ``out_dir``.
        progress: a progress bar.
        backend: ``eager`` or ``fused`` (:func:`load_detector`).
        tta: ``none`` or ``flip`` (:mod:`perception3d.engine.tta`: twice the inference time).

    Returns:
        ``{"frames": n, "detections": total, "out_dir": str}``.
    """
    model, exp = load_detector(ckpt_path, cfg, device, backend)
    dataset = LidarDetectionDataset.of_experiment(exp, data_root, split, max_frames=max_frames)
    out_dir = claim_result_dir(out_dir, overwrite)
    total = 0
    dev = next(model.parameters()).device
    if exp.data.format in ("lidar", "kitti_raw"):  # LiDAR-frame rows (no 2D boxes)
        for frame_id, det in predict_detections(
            model, dataset, dev, batch_size, num_workers, progress, tta
        ):
            write_lidar_predictions(out_dir / f"{frame_id}.txt", det, model.classes)
            total += 0 if det is None else len(det.scores)
    else:
        rows = predict(model, dataset, dev, batch_size=batch_size, num_workers=num_workers,
                       progress=progress, tta=tta)  # fmt: skip
        for frame_id, objects in rows:
            write_result_file(out_dir / f"{frame_id}.txt", objects)
            total += len(objects)
    return {"frames": len(dataset), "detections": total, "out_dir": str(out_dir)}


def infer_config_file(
    config: str | Path,
    checkpoint: str | Path,
    out_dir: str | Path,
    data_root: str | Path | None = None,
    split: str = "val",
    overrides: Iterable[str] = (),
    device: str = "auto",
    max_frames: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    det2d: str | Path | None = None,
    gt_boxes: bool = False,
    images: str | Path | None = None,
    backend: str = "eager",
    tta: str = "none",
) -> dict:
    """``perception3d infer CONFIG CKPT``: result files of any detector task.

    ``detector`` configs run the voxel detector; ``frustum`` configs the Frustum PointNet 3D
    stage of ``checkpoint`` behind the 2D detector ``det2d`` (default: the shipped one) or the
    labels' 2D boxes (``gt_boxes``); ``detector2d`` configs the 2D detector alone (2D
    results). The checkpoint must be of the config's kind and model. ``backend`` (``eager``,
    ``fused``) and ``tta`` (``none``, ``flip``) apply to ``detector`` configs
    (:func:`load_detector`, :func:`predict_detections`).

    Raises:
        ConfigError: the config's task is not a detector, or ``fused`` for another task.
        CheckpointError: the checkpoint is of another kind or model than the config.
    """
    cfg = load_task_config(config, overrides)
    root = Path(data_root) if data_root is not None else require_root(cfg.data, "infer")
    if cfg.task == "detector":
        return infer(checkpoint, root, out_dir, split, cfg, device, max_frames=max_frames,
                     overwrite=overwrite, progress=progress, backend=backend,
                     tta=tta)  # fmt: skip
    if cfg.task not in ("frustum", "detector2d"):
        raise ConfigError(f"{config}: task {cfg.task!r} is not a detector (infer runs "
                          "detector, frustum and detector2d configs)")  # fmt: skip
    if backend != "eager" or tta != "none":
        raise ConfigError(f"{config}: backend {backend!r} and tta {tta!r} are for voxel "
                          f"detectors (task: detector), not task {cfg.task!r}")  # fmt: skip
    from perception3d.engine.frustum_infer import run_frustum_inference

    load_checkpoint(checkpoint, expected=cfg)  # kind and model match the config
    two_d = cfg.task == "detector2d"
    return run_frustum_inference(
        root, out_dir, split, det2d=checkpoint if two_d else det2d,
        model3d=None if two_d else checkpoint, two_d_only=two_d, gt_boxes=gt_boxes,
        images=images, max_frames=max_frames, progress=progress, overwrite=overwrite,
    )  # fmt: skip
