"""Detection on any point cloud: a trained detector as a callable on ``(N, 3|4)`` arrays.

No calibration and no dataset layout is needed: points in the LiDAR frame go in, boxes in the
LiDAR frame come out (``[x, y, z, dx, dy, dz, heading]``, box centre, dx along the heading,
heading counter-clockwise from +x: OpenPCDet's convention).

Coverage: a KITTI detector's grid only spans the front (x >= 0). Unless the points are cropped
to the camera's view (a calibration given to a model trained with ``data.fov_only``), the sweep
is covered all round: the points turned by 180 degrees about z are a second frame of the same
batch, its boxes are turned back, and the config's rotated NMS (per class, or class-agnostic)
merges both halves (boxes across x = 0 are seen by both). Models whose grid already spans
x < 0 run once. A pass without a point in range has no detections.

Backends (:mod:`perception3d.engine.backend`): ``eager`` runs the trained detector itself;
``fused`` (PointPillars on the CPU) its inference-only form with the weights folded, the same
detections up to float rounding in less time.

Example:
    >>> from perception3d import Detector
    >>> from perception3d.data.pointcloud import read_point_cloud
    >>> detector = Detector.from_checkpoint(
    ...     "configs/models/pointpillars_lite.yaml",
    ...     "perception3d/assets/weights/pointpillars_lite_synth.pt", device="cpu")
    >>> points = read_point_cloud("tests/data/kitti_samples/training/velodyne/004139.bin")
    >>> dets = detector(points)  # (N, 4) float32 x, y, z, intensity
    >>> dets.boxes_lidar.shape[1], set(dets.names) <= {"Car", "Pedestrian", "Cyclist"}
    (7, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from perception3d.data.dataset import crop_to_fov
from perception3d.data.pointcloud import points_from_array
from perception3d.data.sample import LidarSample
from perception3d.engine.config import ExperimentConfig, load_experiment
from perception3d.engine.infer import load_detector
from perception3d.engine.tta import TTA_MODES, fuse_mirrored, mirror_voxel_batch
from perception3d.errors import ConfigError
from perception3d.geometry.calib import Calibration
from perception3d.lidar.voxelize import voxelize
from perception3d.models.decode import decode_anchors
from perception3d.models.detector import Detections as TorchDetections
from perception3d.models.detector import VoxelBatch, VoxelDetector
from perception3d.models.nms import rotated_nms
from perception3d.models.pillars import PillarEncoder

__all__ = ["DecodedHead", "DetectOutput", "Detections", "Detector"]


@dataclass(frozen=True)
class Detections:
    """One point cloud's detections, by descending score (numpy).

    Attributes:
        boxes_lidar: (K, 7) float32 ``[x, y, z, dx, dy, dz, heading]``, LiDAR frame, metres and
            radians, (x, y, z) the box centre.
        scores: (K,) float32 in [0, 1].
        labels: (K,) int64 index into ``classes``.
        classes: the detector's class names.
    """

    boxes_lidar: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def names(self) -> np.ndarray:
        """(K,) str class name of each detection."""
        return np.array(self.classes, dtype=str)[self.labels].reshape(-1)

    def to_json(self, frame: str) -> dict:
        """``{"frame", "boxes": [{"label", "score", "center", "size", "heading"}]}`` (LiDAR
        frame; metres and radians rounded to 1e-5)."""
        boxes = []
        for box, score, name in zip(self.boxes_lidar.tolist(), self.scores.tolist(), self.names):
            boxes.append(
                {
                    "label": str(name),
                    "score": round(score, 5),
                    "center": [round(v, 5) for v in box[:3]],
                    "size": [round(v, 5) for v in box[3:6]],
                    "heading": round(box[6], 5),
                }
            )
        return {"frame": frame, "boxes": boxes}


@dataclass(frozen=True)
class DecodedHead:
    """Every anchor of one pass, decoded, before threshold and NMS (``--dump-head``).

    Attributes:
        boxes_lidar: (A, 7) float32 decoded boxes in the head's anchor order, LiDAR frame of the
            input (a rear pass's boxes are turned back).
        scores: (A, num_classes) float32 sigmoid class scores.
    """

    boxes_lidar: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True)
class DetectOutput:
    """:meth:`Detector.run`'s result: the detections and, when asked, each pass's decoded head
    (``[front]`` or ``[front, rear]``)."""

    detections: Detections
    heads: list[DecodedHead] | None = None


def _turn_boxes(boxes: torch.Tensor, angle_rad: float, heading_from: float) -> torch.Tensor:
    """(K, 7) boxes turned about the LiDAR z axis by ``angle_rad``, headings kept in
    ``[heading_from, heading_from + 2 pi)`` (the model's convention)."""
    if angle_rad == 0:
        return boxes
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    out = boxes.clone()
    out[:, 0] = c * boxes[:, 0] - s * boxes[:, 1]
    out[:, 1] = s * boxes[:, 0] + c * boxes[:, 1]
    turned = boxes[:, 6] + angle_rad - heading_from
    out[:, 6] = torch.remainder(turned, 2 * math.pi) + heading_from
    return out


def _no_detections() -> TorchDetections:
    return TorchDetections(torch.zeros((0, 7)), torch.zeros(0), torch.zeros(0, dtype=torch.long))


def _turn_points(points: np.ndarray, angle_rad: float) -> np.ndarray:
    if angle_rad == 0:
        return points
    c, s = np.float32(math.cos(angle_rad)), np.float32(math.sin(angle_rad))
    out = points.copy()
    out[:, 0] = c * points[:, 0] - s * points[:, 1]
    out[:, 1] = s * points[:, 0] + c * points[:, 1]
    return out


class Detector:
    """A trained voxel detector applied to raw point clouds.

    Args:
        model: the detector, in eval mode, on its device, or its inference form
            (:func:`perception3d.engine.backend.inference_model`).
        experiment: the config it was trained with (voxel grid, ``data.fov_only``).
        full_circle: cover x < 0 with a second, turned pass when the model's grid does not
            (see the module docstring); False keeps the model's own range only.
        tta: ``none`` or ``flip``: each pass also mirrored about the x-z plane and the two
            fused (:mod:`perception3d.engine.tta`; twice the inference time).
    """

    def __init__(
        self,
        model: VoxelDetector,
        experiment: ExperimentConfig,
        full_circle: bool = True,
        tta: str = "none",
    ) -> None:
        if experiment.model.point_features != 4:
            raise ValueError(
                f"the model takes {experiment.model.point_features} features per point; "
                "detection on raw point clouds needs a LiDAR-only model (x, y, z, intensity)"
            )
        self.model = model.eval()
        self.experiment = experiment
        self.full_circle = full_circle
        if tta not in TTA_MODES:
            raise ConfigError(f"tta must be one of {TTA_MODES}, got {tta!r}")
        self.tta = tta
        self.device = next(model.parameters()).device

    @classmethod
    def from_checkpoint(
        cls,
        config: str | Path | ExperimentConfig | None,
        checkpoint: str | Path,
        device: str = "auto",
        score_threshold: float | None = None,
        full_circle: bool = True,
        overrides: Sequence[str] = (),
        backend: str = "eager",
        tta: str = "none",
    ) -> Detector:
        """Load a perception3d checkpoint.

        Args:
            config: the training config (path or loaded), checked against the checkpoint's
                model; None uses the config stored in the checkpoint.
            checkpoint: ``.pt`` file written by ``perception3d train`` (or converted by
                ``perception3d import-checkpoint``).
            device: ``auto``, ``cpu`` or ``cuda``.
            score_threshold: replaces the config's ``model.postprocess.score_threshold``.
            full_circle: see :class:`Detector`.
            overrides: ``key=value`` config overrides (with a config path).
            backend: ``eager`` or ``fused`` (:mod:`perception3d.engine.backend`).
            tta: see :class:`Detector`.

        Raises:
            CheckpointError: an unreadable or foreign checkpoint, or one of another model.
            ConfigError: a backend the model or device cannot use.
        """
        if isinstance(config, (str, Path)):
            config = load_experiment(config, overrides)
        model, experiment = load_detector(checkpoint, config, device, backend)
        if score_threshold is not None:
            model.post_cfg = replace(model.post_cfg, score_threshold=float(score_threshold))
        return cls(model, experiment, full_circle, tta)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.model.classes

    def pass_angles(self, cropped_to_fov: bool) -> tuple[float, ...]:
        """Turns (radians) of the passes over a sweep: ``(0,)`` or ``(0, pi)``."""
        forward_only = self.experiment.model.voxel.point_range_m[0] >= 0
        rear = self.full_circle and forward_only and not cropped_to_fov
        return (0.0, math.pi) if rear else (0.0,)

    def voxel_batch(self, points: np.ndarray, angles: Sequence[float]) -> VoxelBatch:
        """The points voxelized once per pass, turned by each of ``angles`` (radians), as one
        batch on the detector's device.

        Args:
            points: (N, 4+) float32 ``[x, y, z, intensity]``, LiDAR frame.
            angles: the passes' turns about z, e.g. :meth:`pass_angles`.
        """
        grid = self.experiment.model.voxel
        parts = [voxelize(_turn_points(points, a), grid, grid.max_voxels_infer) for a in angles]
        coords = np.concatenate(
            [np.pad(v.coords_zyx, ((0, 0), (1, 0)), constant_values=b) for b, v in enumerate(parts)]
        )  # (V, 4) [batch, z, y, x]
        return VoxelBatch(
            torch.from_numpy(np.concatenate([v.points for v in parts])).to(self.device),
            torch.from_numpy(np.concatenate([v.num_points for v in parts])).to(self.device),
            torch.from_numpy(coords).to(self.device),
            len(parts),
        )

    def _forward(self, batch: VoxelBatch):
        """``model(batch)``; pillar encoders (and the fused backend) take a batch without any
        pillar (nothing in range); for others the encoder's output is then an all-zero BEV
        map, which is fed to the backbone directly (for ``decode_all``)."""
        encoder = getattr(self.model, "encoder", None)
        if len(batch.points) or encoder is None or isinstance(encoder, PillarEncoder):
            return self.model(batch)
        cfg = self.experiment.model
        nx, ny, _ = cfg.voxel.grid_size_xyz
        stride = cfg.encoder_stride
        bev = torch.zeros(batch.batch_size, cfg.bev_channels, ny // stride, nx // stride)
        return self.model.head(self.model.backbone(bev.to(self.device)))

    def _turn(self, boxes: torch.Tensor, angle_rad: float) -> torch.Tensor:
        """A pass's boxes back in the LiDAR frame; headings in the model's interval: [-pi, pi)
        (``wrap_heading``) or [dir_offset, dir_offset + 2 pi) (OpenPCDet's, unwrapped)."""
        cfg = self.experiment.model
        heading_from = -math.pi if getattr(cfg, "wrap_heading", True) else cfg.dir_offset_rad
        return _turn_boxes(boxes, angle_rad, heading_from)

    def _merge(self, dets, angles: Sequence[float]) -> Detections:
        boxes = torch.cat([self._turn(d.boxes_lidar, a) for d, a in zip(dets, angles)])
        scores = torch.cat([d.scores for d in dets])
        labels = torch.cat([d.labels for d in dets])
        post = self.model.post_cfg
        if len(dets) > 1:
            # the passes meet at x = 0: the config's NMS (per class unless class-agnostic)
            groups = labels if getattr(post, "nms", "per_class") != "class_agnostic" else 0 * labels
            keep = []
            for c in groups.unique().tolist():
                idx = torch.nonzero(groups == c).squeeze(1)
                keep.append(idx[rotated_nms(boxes[idx], scores[idx], post.nms_iou)])
            kept = torch.cat(keep) if keep else torch.zeros(0, dtype=torch.long)
            order = kept[torch.argsort(scores[kept], descending=True, stable=True)]
            order = order[: post.max_detections]
            boxes, scores, labels = boxes[order], scores[order], labels[order]
        return Detections(
            boxes.numpy().astype(np.float32),
            scores.numpy().astype(np.float32),
            labels.numpy().astype(np.int64),
            self.classes,
        )

    @torch.no_grad()
    def run(
        self,
        points: np.ndarray,
        calib: Calibration | None = None,
        image_shape: tuple[int, int] | None = None,
        decode_all: bool = False,
    ) -> DetectOutput:
        """Detect objects in one point cloud.

        Args:
            points: (N, 3) or (N, 4) float ``[x, y, z(, intensity)]``, LiDAR frame, metres
                (intensity 0 when absent; KITTI models expect reflectance in [0, 1]).
            calib: KITTI calibration; crops the points to image_2's view when the model was
                trained that way (``data.fov_only``), else unused.
            image_shape: (H, W) of image_2 for that crop (default KITTI's 375 x 1242).
            decode_all: also return every anchor's decoded box and scores (:class:`DecodedHead`;
                with ``tta="flip"``, of the unmirrored passes).

        Raises:
            PointCloudFormatError: points of a wrong shape or dtype, or non-finite.
        """
        points = points_from_array(points)
        cropped = calib is not None and self.experiment.data.fov_only
        if cropped:
            sample = LidarSample("points", points, np.zeros((0, 7)), np.zeros(0, object), calib,
                                 image_shape)  # fmt: skip
            points = crop_to_fov(sample, self.experiment.data.fov_rule).points
        angles = self.pass_angles(cropped)
        batch = self.voxel_batch(points, angles)
        if self.tta == "flip":  # frames n.. are the passes mirrored
            batch = mirror_voxel_batch(batch, self.experiment.model.voxel)
        head_out = self._forward(batch)
        dets = self.model.postprocess(head_out)
        # a pass without a voxel (nothing in range) has no detections, as in infer: the head's
        # biases alone must not produce boxes
        has_voxels = torch.bincount(batch.coords[:, 0].long(), minlength=batch.batch_size).gt(0)
        dets = [d if bool(has_voxels[b]) else _no_detections() for b, d in enumerate(dets)]
        if self.tta == "flip":
            dets = fuse_mirrored(dets, self.model)
        heads = None
        if decode_all:
            heads = [
                DecodedHead(self._turn(d.boxes_lidar, a).cpu().numpy(), d.scores.cpu().numpy())
                for d, a in zip(decode_anchors(self.model, head_out), angles)
            ]
        return DetectOutput(self._merge(dets, angles), heads)

    def __call__(self, points: np.ndarray, calib: Calibration | None = None) -> Detections:
        """Detections of one point cloud (see :meth:`run`)."""
        return self.run(points, calib).detections
