"""Torch ``Dataset`` of LiDAR detection samples over any KITTI-layout root, and its collate.

Per frame (``__getitem__``): read the sweep and labels -> :class:`LidarSample` -> optional
camera field-of-view crop -> training transforms (augmentation, randomness from a generator
seeded by ``(seed, epoch, index)``, so any worker count and a resumed run give the same
samples) -> point-range crop (boxes whose centre leaves the range are dropped in training) ->
voxels/pillars -> anchor targets (a callable the detector provides; this stage does not import
the models).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from perception3d.data.dataset import KITTI_IMAGE_HW, crop_to_fov
from perception3d.data.drive_frames import DriveDetectionFrames
from perception3d.data.kitti import KittiObjectDataset
from perception3d.data.lidar_folder import LidarFolderDataset
from perception3d.data.sample import LidarSample, Transform, apply_transforms, sample_from_frame
from perception3d.geometry.fov import FovRule
from perception3d.lidar.multisweep import accumulate_sweeps
from perception3d.lidar.voxelize import (
    VoxelGridConfig,
    Voxels,
    crop_to_range,
    points_in_range,
    voxelize,
)

AssignFn = Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]
__all__ = ["KITTI_IMAGE_HW", "LidarDetectionDataset", "collate_batch", "voxelize_or_empty"]


class LidarDetectionDataset(Dataset):
    """LiDAR detection samples of a KITTI-layout root, or of a LiDAR-only root
    (``data_format="lidar"``).

    Args:
        root: KITTI-layout root (or LiDAR-only root).
        split: ImageSets name (``"train"``, ``"val"``) or ``"training"`` for every frame.
        grid: voxel grid of the detector.
        transforms: training transforms, applied in order (empty for evaluation).
        assign_targets: ``(boxes_lidar, names) -> dict`` of per-anchor targets; None skips
            target assignment (inference).
        training: random voxel subsampling, drop boxes outside the range, apply transforms.
        fov_only: crop points to image_2's field of view first.
        fov_rule: the rule of that crop (see :class:`DataConfig`).
        seed: base seed of the per-sample generators.
        ids: explicit frame ids instead of the split file.
        max_frames: only the first N frames of the split (None: all).
        point_source: ``velodyne`` or ``velodyne_painted`` (the ``data:`` section,
            :class:`perception3d.engine.config.DataConfig`).
        point_features: columns of each point given to the voxelizer (4: x, y, z, intensity;
            4 + C for painted points).
        data_format: ``kitti``, ``lidar`` or ``kitti_raw`` (``data.format``); the frame source
            ``kitti`` is a :class:`KittiObjectDataset`, a
            :class:`~perception3d.data.lidar_folder.LidarFolderDataset` (no camera: then
            ``fov_only`` must be False) or a
            :class:`~perception3d.data.drive_frames.DriveDetectionFrames` (raw drives).
        sweeps: earlier sweeps accumulated into each frame's points (``kitti_raw`` only;
            :func:`~perception3d.lidar.multisweep.accumulate_sweeps`: points become (N, 5)
            ``[x, y, z, intensity, dt_s]``); 0: the frame's own sweep, (N, 4).

    Each item is a dict: ``frame_id`` (str), ``voxel_points`` (V, P, point_features) float32,
    ``voxel_num_points`` (V,) int32, ``voxel_coords_zyx`` (V, 3) int32, ``gt_boxes_lidar``
    (M, 7) float32, ``gt_names`` (M,) object, plus the target arrays of ``assign_targets``.
    """

    def __init__(
        self,
        root: str | Path,
        split: str,
        grid: VoxelGridConfig,
        transforms: Sequence[Transform] = (),
        assign_targets: AssignFn | None = None,
        training: bool = False,
        fov_only: bool = True,
        seed: int = 0,
        ids: Sequence[str] | None = None,
        point_source: str = "velodyne",
        point_features: int = 4,
        max_frames: int | None = None,
        fov_rule: FovRule = "image",
        data_format: str = "kitti",
        sweeps: int = 0,
    ) -> None:
        if point_source not in ("velodyne", "velodyne_painted"):
            raise ValueError(
                f"point_source must be velodyne|velodyne_painted, got {point_source!r}"
            )
        self.data_format = data_format
        if data_format == "lidar":
            if fov_only or point_source != "velodyne":
                raise ValueError("a LiDAR-only dataset has no camera: fov_only must be False")
            self.kitti = LidarFolderDataset(root, split, ids=ids, max_frames=max_frames)
        elif data_format == "kitti_raw":
            self.kitti = DriveDetectionFrames(root, split, ids=ids, max_frames=max_frames)
        elif data_format == "kitti":
            self.kitti = KittiObjectDataset(
                root, split if ids is None else "training", ids=ids, max_frames=max_frames
            )
        else:
            raise ValueError(
                f"data_format must be 'kitti', 'lidar' or 'kitti_raw', got {data_format!r}"
            )
        if sweeps < 0 or (sweeps > 0 and data_format != "kitti_raw"):
            raise ValueError(f"sweeps must be 0, or > 0 with data_format kitti_raw, got {sweeps}")
        self.sweeps = sweeps
        self.point_source, self.point_features = point_source, point_features
        self.grid = grid
        self.transforms = list(transforms)
        self.assign_targets = assign_targets
        self.training = training
        self.fov_only, self.fov_rule = fov_only, fov_rule
        self.seed = seed
        self.epoch = 0

    @classmethod
    def of_experiment(cls, exp, root: str | Path, split: str, **kwargs) -> LidarDetectionDataset:
        """The dataset an experiment config describes: the grid and point features of its
        ``model:`` section, the FOV crop, point source and format of its ``data:`` section
        (``exp``: a :class:`perception3d.engine.config.ExperimentConfig`); ``kwargs``: the
        other arguments (``training``, ``transforms``, ``ids``, ``max_frames``...)."""
        data = exp.data
        return cls(root, split, exp.model.voxel, fov_only=data.fov_only, fov_rule=data.fov_rule,
                   point_source=data.point_source, point_features=exp.model.point_features,
                   data_format=data.format, sweeps=data.sweeps, **kwargs)  # fmt: skip

    @property
    def ids(self) -> list[str]:
        return self.kitti.ids

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch's augmentation draws (call before creating the DataLoader
        iterator; workers copy the dataset when they start)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.kitti)

    def load_sample(self, index: int) -> LidarSample:
        """The frame's :class:`LidarSample`, FOV-cropped if configured, before augmentation."""
        frame = self.kitti[index]
        # Training and target assignment need the labels (a training/ frame without its label
        # file raises); inference runs on unlabelled frames too.
        with_labels = self.training or self.assign_targets is not None or frame.has_labels
        if self.point_source == "velodyne_painted":
            path = self.kitti.split_dir / "velodyne_painted" / f"{frame.frame_id}.npy"
            if not path.is_file():
                raise FileNotFoundError(f"{path}: no painted points (perception3d fusion paint)")
            sample = LidarSample(
                frame.frame_id,
                np.load(path, allow_pickle=False),
                frame.boxes_lidar if with_labels else np.zeros((0, 7)),
                frame.names if with_labels else np.zeros(0, dtype=object),
                frame.calib,
                frame.image_shape,
            )
        else:
            sample = sample_from_frame(frame, with_labels)
        if self.sweeps > 0:
            sample = sample.with_(points=accumulate_sweeps(*frame.sweep_history(self.sweeps)))
        # 3D DontCare regions (KITTI-layout frames only) travel with the boxes; the target
        # assigner ignores the background anchors in them
        regions = np.zeros((0, 7))
        if self.training and with_labels:
            regions = getattr(frame, "dontcare_boxes_lidar", regions)
        if len(regions):
            sample = sample.with_(
                boxes_lidar=np.concatenate([sample.boxes_lidar, regions]),
                names=np.concatenate([sample.names, np.full(len(regions), "DontCare", object)]),
            )
        if sample.points.shape[1] < self.point_features:
            raise ValueError(
                f"frame {sample.frame_id}: points have {sample.points.shape[1]} columns, the "
                f"model expects point_features = {self.point_features}"
            )
        return crop_to_fov(sample, self.fov_rule) if self.fov_only else sample

    def __getitem__(self, index: int) -> dict:
        sample = self.load_sample(index)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.training:
            sample = apply_transforms(sample, self.transforms, rng)
        points = sample.points[points_in_range(sample.points, self.grid)]
        boxes, names = sample.boxes_lidar, sample.names
        if self.training:
            inside = crop_to_range(boxes[:, :3], self.grid.point_range_m)
            boxes, names = boxes[inside], names[inside]
        max_voxels = self.grid.max_voxels_train if self.training else self.grid.max_voxels_infer
        voxels = voxelize_or_empty(
            points[:, : self.point_features], self.grid, max_voxels, rng if self.training else None
        )
        item = {
            "frame_id": sample.frame_id,
            "voxel_points": voxels.points,
            "voxel_num_points": voxels.num_points,
            "voxel_coords_zyx": voxels.coords_zyx,
            "gt_boxes_lidar": boxes.astype(np.float32),
            "gt_names": names,
        }
        if self.assign_targets is not None:
            item.update(self.assign_targets(boxes, names))
        return item


def voxelize_or_empty(
    points: np.ndarray, grid: VoxelGridConfig, max_voxels: int, rng: np.random.Generator | None
) -> Voxels:
    """:func:`~perception3d.lidar.voxelize.voxelize`, or no voxels for no points (an empty
    sweep, or none inside the range: a valid frame with nothing to detect)."""
    if len(points) == 0:
        p_max, columns = grid.max_points_per_voxel, points.shape[1]
        return Voxels(np.zeros((0, p_max, columns), np.float32), np.zeros((0, 3), np.int32),
                      np.zeros(0, np.int32))  # fmt: skip
    return voxelize(points, grid, max_voxels, rng)


def collate_batch(items: Sequence[dict]) -> dict:
    """Batch items of :class:`LidarDetectionDataset`.

    Returns a dict: ``frame_ids`` list; ``voxel_points`` (V, P, 4), ``voxel_num_points``
    (V,), ``voxel_coords`` (V, 4) int32 ``[batch, z, y, x]`` (voxels of all frames
    concatenated); ``batch_size``; ``gt_boxes_lidar`` (B, M_max, 7) zero padded and
    ``gt_count`` (B,); ``gt_names`` list of arrays; per-anchor targets stacked to (B, A).
    """
    coords = [
        np.concatenate(
            [np.full((len(it["voxel_coords_zyx"]), 1), b, np.int32), it["voxel_coords_zyx"]], 1
        )
        for b, it in enumerate(items)
    ]
    m_max = max([len(it["gt_boxes_lidar"]) for it in items] + [1])
    gt = np.zeros((len(items), m_max, 7), dtype=np.float32)
    for b, it in enumerate(items):
        gt[b, : len(it["gt_boxes_lidar"])] = it["gt_boxes_lidar"]
    batch = {
        "frame_ids": [it["frame_id"] for it in items],
        "batch_size": len(items),
        "voxel_points": torch.from_numpy(np.concatenate([it["voxel_points"] for it in items])),
        "voxel_num_points": torch.from_numpy(
            np.concatenate([it["voxel_num_points"] for it in items])
        ),
        "voxel_coords": torch.from_numpy(np.concatenate(coords)),
        "gt_boxes_lidar": torch.from_numpy(gt),
        "gt_count": torch.tensor([len(it["gt_boxes_lidar"]) for it in items]),
        "gt_names": [it["gt_names"] for it in items],
    }
    for key in ("anchor_labels", "anchor_gt_index"):
        if key in items[0]:
            batch[key] = torch.from_numpy(np.stack([it[key] for it in items]))
    return batch
