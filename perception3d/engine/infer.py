"""Batch inference: a detector over a KITTI-layout split -> KITTI result files.

Each detection becomes a 16-column result row: class, truncation and occlusion -1 (unknown,
as the KITTI devkit writes detections), alpha, the image_2 box of the projected 3D box
(``perception3d.geometry.boxes.boxes_to_image_2d``, clipped to the image), dimensions,
bottom-centre location and rotation_y in the rectified camera frame, and the score.
Detections whose 3D box does not project into image_2 are dropped: KITTI labels only cover the
camera's field of view and the evaluator needs a 2D box.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from perception3d.data.dataset import KITTI_IMAGE_HW, LidarDetectionDataset, collate_batch
from perception3d.data.kitti import KittiObject, write_label_file
from perception3d.engine.checkpoint import load_checkpoint
from perception3d.engine.config import ExperimentConfig
from perception3d.geometry.boxes import boxes_to_image_2d
from perception3d.geometry.calib import Calibration, alpha_from_rotation_y, boxes_lidar_to_cam
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
def predict(
    model: VoxelDetector,
    dataset: LidarDetectionDataset,
    device: torch.device,
    batch_size: int = 1,
    num_workers: int = 0,
    progress: bool = True,
) -> Iterator[tuple[str, list[KittiObject]]]:
    """Yield ``(frame_id, result rows)`` for every frame of ``dataset`` (in order)."""
    was_training = model.training
    model.eval()
    loader = DataLoader(
        dataset, batch_size=batch_size, collate_fn=collate_batch, num_workers=num_workers
    )
    try:
        for batch in tqdm(loader, desc="infer", unit="batch", disable=not progress, leave=False):
            dets = model.postprocess(model(voxel_batch(batch, device)))
            for frame_id, det in zip(batch["frame_ids"], dets):
                frame = dataset.kitti.frame(frame_id)
                yield (
                    frame_id,
                    detections_to_objects(det, model.classes, frame.calib, frame.image_shape),
                )
    finally:
        model.train(was_training)


def load_detector(
    ckpt_path: str | Path, cfg: ExperimentConfig | None = None, device: str = "auto"
) -> tuple[VoxelDetector, ExperimentConfig]:
    """A detector with its checkpoint's weights, in eval mode.

    Args:
        ckpt_path: checkpoint file.
        cfg: when given, the checkpoint's model must match its ``model`` section (else a
            :class:`~perception3d.engine.checkpoint.CheckpointError`); None uses the
            checkpoint's own config.
        device: ``auto``, ``cpu`` or ``cuda``.
    """
    ckpt = load_checkpoint(ckpt_path, expected=cfg)
    exp = cfg or ckpt["experiment"]
    model = build_detector(exp.model)
    model.load_state_dict(ckpt["model"])
    return model.to(resolve_device(device)).eval(), exp


def infer(
    ckpt_path: str | Path,
    data_root: str | Path,
    out_dir: str | Path,
    split: str = "val",
    cfg: ExperimentConfig | None = None,
    device: str = "auto",
    batch_size: int = 1,
    num_workers: int = 0,
) -> dict:
    """Write ``out_dir/<frame_id>.txt`` KITTI result files for a split.

    Returns:
        ``{"frames": n, "detections": total, "out_dir": str}``.
    """
    model, exp = load_detector(ckpt_path, cfg, device)
    dataset = LidarDetectionDataset(
        data_root,
        split,
        exp.model.voxel,
        fov_only=exp.data.fov_only,
        fov_rule=exp.data.fov_rule,
        training=False,
        point_source=exp.data.point_source,
        point_features=exp.model.point_features,
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    total = 0
    dev = next(model.parameters()).device
    for frame_id, objects in predict(model, dataset, dev, batch_size, num_workers):
        write_label_file(out_dir / f"{frame_id}.txt", objects)
        total += len(objects)
    return {"frames": len(dataset), "detections": total, "out_dir": str(out_dir)}
