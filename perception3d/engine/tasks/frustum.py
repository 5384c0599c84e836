"""Task of the Frustum PointNet 3D stage (``task: frustum``,
``configs/frustum/frustum_pointnet.yaml``), trained on frustums of ground-truth 2D boxes.

Each Car/Pedestrian/Cyclist label with at least ``data.min_object_points`` LiDAR points inside
its 3D box (and inside its 2D box's frustum) is one training object. Its frustum is collected
once for a 2D box enlarged by the jitter range; each time it is drawn, the 2D box is jittered
(centre shift, scale: the paper's 2D box augmentation), the points whose projection lies in
the jittered box are rotated to its frustum frame, N of them sampled, and the frustum is
mirrored (x -> -x, ry -> pi - ry) with probability 0.5 (the authors' code's random flip).
Segmentation labels: the points inside the ground-truth 3D box (``points_in_boxes``). With
``data.boxes_dir`` an object's 2D box is instead the matched detection of a 2D detector (its
frustum is what that detector gives at inference), jittered the same way.
Evaluation: the 3D stage on the val split's ground-truth 2D boxes (``OUT/val_gt2d/``), KITTI
AP.

Determinism: the object order of epoch e from ``(seed, e)``, each object's jitter, sampling
and flip from ``(seed, e, index)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from perception3d.config import require_root
from perception3d.data.frustums import (
    boxes_cam_to_frustum,
    frustum_angle,
    frustum_mask_uv,
    rotate_y,
    sample_points,
)
from perception3d.data.kitti import KittiObjectDataset
from perception3d.data.kitti_labels import read_label_file
from perception3d.engine.distributed import DistInfo
from perception3d.engine.frustum_config import FrustumExperiment
from perception3d.engine.frustum_infer import (
    build_frustum_model,
    evaluate_results,
    infer_frustum,
)
from perception3d.engine.task import Task, count_index_batches, index_batches, unwrap
from perception3d.geometry.boxes import points_in_boxes
from perception3d.geometry.calib import Calibration, boxes_cam_to_lidar
from perception3d.geometry.iou import iou_2d
from perception3d.models.frustum import FrustumPointNet
from perception3d.models.frustum_coder import compute_frustum_loss


@dataclass
class FrustumObject:
    """One training object: the points of its enlarged frustum.

    Attributes:
        points_rect: (P, 4) float32 ``[x, y, z, intensity]`` rectified camera frame.
        uv_img: (P, 2) float32 image_2 projections.
        inside: (P,) bool, inside the ground-truth 3D box.
        box_cam: (7,) ``[x, y, z, l, h, w, ry]`` KITTI box (bottom centre).
        bbox: (4,) the label's 2D box.
        class_index: index into the model's classes.
        calib: the frame's calibration.
    """

    points_rect: np.ndarray
    uv_img: np.ndarray
    inside: np.ndarray
    box_cam: np.ndarray
    bbox: np.ndarray
    class_index: int
    calib: Calibration


def detected_boxes(
    boxes_dir: Path, frame_id: str, labels: list, min_iou: float
) -> list[np.ndarray | None]:
    """For each label row, the image_2 box ``[x1, y1, x2, y2]`` of the detection of its class in
    ``boxes_dir/<frame_id>.txt`` with the highest 2D IoU, if >= ``min_iou``; else None.

    Raises:
        FileNotFoundError: the frame has no result file (the folder and frame are named).
    """
    path = Path(boxes_dir) / f"{frame_id}.txt"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no 2D detections for frame {frame_id} (data.boxes_dir must hold a result "
            "file per training frame, e.g. from perception3d frustum infer-2d)"
        )
    dets = read_label_file(path)
    out: list[np.ndarray | None] = []
    for obj in labels:
        same = [np.asarray(d.bbox, np.float64) for d in dets if d.type == obj.type]
        if not same:
            out.append(None)
            continue
        ious = iou_2d(np.asarray(obj.bbox, np.float64)[None], np.stack(same))[0]
        best = int(np.argmax(ious))
        out.append(same[best] if ious[best] >= min_iou else None)
    return out


def collect_frustum_objects(
    dataset: KittiObjectDataset,
    classes: tuple[str, ...],
    margin: float,
    min_object_points: int,
    progress: bool = True,
    boxes_dir: Path | None = None,
    boxes_min_iou: float = 0.5,
) -> list[FrustumObject]:
    """Training objects of a split (see the module docstring); ``margin``: fraction of the 2D
    box size added on each side; ``boxes_dir``: train on matched 2D detections instead of the
    labels' boxes (``FrustumData.boxes_dir``)."""
    objects = []
    for frame in tqdm(dataset, desc="collect frustums", disable=not progress, leave=False):
        labels = [o for o in frame.objects if o.type in classes]
        if not labels:
            continue
        pts, calib = frame.points, frame.calib
        rect = calib.lidar_to_rect(pts)
        uv, depth = calib.rect_to_image(rect)
        boxes_lidar = boxes_cam_to_lidar(np.array([o.box_cam for o in labels]), calib)
        inside = points_in_boxes(pts, boxes_lidar, return_mask=True)  # (N, M)
        found = [None] * len(labels)
        if boxes_dir is not None:
            found = detected_boxes(boxes_dir, frame.frame_id, labels, boxes_min_iou)
        for j, obj in enumerate(labels):
            bbox = np.asarray(obj.bbox if found[j] is None else found[j], dtype=np.float64)
            if (frustum_mask_uv(uv, depth, bbox) & inside[:, j]).sum() < min_object_points:
                continue
            wh = bbox[2:] - bbox[:2]
            big = np.concatenate([bbox[:2] - margin * wh, bbox[2:] + margin * wh])
            keep = frustum_mask_uv(uv, depth, big)
            objects.append(
                FrustumObject(
                    np.concatenate([rect[keep], pts[keep, 3:4]], axis=1).astype(np.float32),
                    uv[keep].astype(np.float32),
                    inside[keep, j],
                    obj.box_cam,
                    bbox,
                    classes.index(obj.type),
                    calib,
                )
            )
    return objects


def make_training_frustum(
    obj: FrustumObject,
    num_points: int,
    jitter_shift: float,
    jitter_scale: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One augmented frustum: ``(points (N, 4) frustum frame, seg labels (N,), box (7,))``."""
    x1, y1, x2, y2 = obj.bbox
    w, h = x2 - x1, y2 - y1
    cx = (x1 + x2) / 2 + rng.uniform(-jitter_shift, jitter_shift) * w
    cy = (y1 + y2) / 2 + rng.uniform(-jitter_shift, jitter_shift) * h
    w *= rng.uniform(1 - jitter_scale, 1 + jitter_scale)
    h *= rng.uniform(1 - jitter_scale, 1 + jitter_scale)
    box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    ones = np.ones(len(obj.uv_img))
    mask = frustum_mask_uv(obj.uv_img, ones, box)
    if not (mask & obj.inside).any():  # the jitter lost the object: use the label's box
        box, mask = obj.bbox, frustum_mask_uv(obj.uv_img, ones, obj.bbox)
    index = np.flatnonzero(mask)
    index = index[sample_points(num_points, len(index), rng)]
    angle = frustum_angle(box, obj.calib)
    pts = rotate_y(obj.points_rect[index], -angle)
    target = boxes_cam_to_frustum(obj.box_cam, angle)[0]
    if rng.random() < 0.5:
        pts[:, 0] *= -1
        target[0] *= -1
        target[6] = np.pi - target[6]
    return pts.astype(np.float32), obj.inside[index].astype(np.int64), target


class FrustumTask(Task):
    """Frustum PointNet 3D-stage training (see the module docstring)."""

    def __init__(self, cfg: FrustumExperiment) -> None:
        self.config = cfg
        self.objects: list[FrustumObject] = []

    def build_model(self) -> FrustumPointNet:
        return build_frustum_model(self.config)

    def prepare(self, progress: bool) -> None:
        data, classes = self.config.data, self.config.model.classes
        root = require_root(data, self.config.task)
        ds = KittiObjectDataset(root, data.train_split, max_frames=data.max_train_frames)
        margin = data.jitter_shift + data.jitter_scale / 2 + 0.02
        self.objects = collect_frustum_objects(ds, classes, margin, data.min_object_points,
                                               progress, data.boxes_dir,
                                               data.boxes_min_iou)  # fmt: skip
        if not self.objects:
            raise ValueError(f"{data.root}: no training objects in {data.train_split!r}")

    def describe(self) -> dict:
        return {"objects": len(self.objects)}

    def steps_per_epoch(self, shard: DistInfo) -> int:  # batch norm needs two samples
        return count_index_batches(len(self.objects), self.config.train.batch_size, shard, 2)

    def batches(self, epoch: int, shard: DistInfo):
        tc, data = self.config.train, self.config.data
        eye = torch.eye(len(self.config.model.classes))
        for idx in index_batches(len(self.objects), tc.batch_size, tc.seed, epoch, shard, 2):
            items = [
                make_training_frustum(
                    self.objects[i], self.config.model.num_points, data.jitter_shift,
                    data.jitter_scale, np.random.default_rng([tc.seed, epoch, int(i)]),
                )
                for i in idx
            ]  # fmt: skip
            cls = torch.tensor([self.objects[i].class_index for i in idx])
            yield (
                torch.from_numpy(np.stack([it[0] for it in items])),
                eye[cls],
                torch.from_numpy(np.stack([it[1] for it in items])),
                torch.from_numpy(np.stack([it[2] for it in items])).float(),
                cls,
            )

    def loss(self, model, batch):
        points, one_hot, seg, boxes, cls = batch
        out = model(points, one_hot)
        core = unwrap(model)
        return compute_frustum_loss(out, seg, boxes, cls, core.templates_lhw,
                                    self.config.model.corner_loss_weight)  # fmt: skip

    def evaluate(self, model: FrustumPointNet, out_dir: Path, progress: bool) -> dict:
        """The 3D stage on the val split's ground-truth 2D boxes (``out_dir/val_gt2d/``)."""
        data = self.config.data
        val_dir = out_dir / "val_gt2d"
        infer_frustum(None, model, data.root, data.val_split, val_dir, None,
                      data.max_val_frames, progress, overwrite=True)  # fmt: skip
        return evaluate_results(data.root, val_dir, data.val_split, data.max_val_frames)
