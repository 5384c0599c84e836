"""Flip test-time augmentation: the mirrored batch is the batch of the mirrored sweep, boxes
mirror back exactly, fusion follows its rule by hand, and detection with it is equivariant
to mirroring the sweep."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from perception3d.data.pointcloud import read_point_cloud
from perception3d.engine.detect import Detector
from perception3d.engine.infer import _detect_batch
from perception3d.engine.tta import fuse_passes, mirror_boxes_y, mirror_voxel_batch
from perception3d.errors import ConfigError
from perception3d.geometry.boxes import corners_lidar
from perception3d.lidar.voxelize import VoxelGridConfig
from perception3d.models.detector import Detections

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "perception3d/assets/weights/pointpillars_lite_synth.pt"
SWEEP = REPO / "tests/data/kitti_samples/training/velodyne/004139.bin"


@pytest.fixture(scope="module")
def detector() -> Detector:
    torch.set_num_threads(1)
    return Detector.from_checkpoint(None, WEIGHTS, device="cpu")


def _voxel_set(batch, frame: int) -> set:
    sel = batch.coords[:, 0] == frame
    return {tuple(c) for c in batch.coords[sel, 1:].tolist()}


def test_mirrored_batch_is_the_batch_of_the_mirrored_sweep(detector):
    points = read_point_cloud(SWEEP)
    mirrored = points.copy()
    mirrored[:, 1] *= -1
    grid = detector.experiment.model.voxel
    both = mirror_voxel_batch(detector.voxel_batch(points, [0.0]), grid)
    direct = detector.voxel_batch(mirrored, [0.0])
    assert both.batch_size == 2
    assert _voxel_set(both, 0) == _voxel_set(detector.voxel_batch(points, [0.0]), 0)
    # float32 coordinates on a voxel boundary can round to the neighbouring voxel once
    # negated: allow one voxel in a thousand to differ
    mine, theirs = _voxel_set(both, 1), _voxel_set(direct, 0)
    assert len(mine ^ theirs) <= len(theirs) // 1000

    def sums(batch, frame):  # the points of each voxel, by the sum of their features
        sel = batch.coords[:, 0] == frame
        keys = [tuple(c) for c in batch.coords[sel, 1:].tolist()]
        return dict(zip(keys, batch.points[sel].sum(1).numpy().round(3).tolist()))

    a, b = sums(both, 1), sums(direct, 0)
    same = sum(a[k] == b[k] for k in mine & theirs)
    assert same >= len(theirs) - len(theirs) // 1000


def test_asymmetric_grid_is_refused(detector):
    grid = VoxelGridConfig((0, -8, -3, 16, 4, 1), (0.5, 0.5, 4), 8, 100, 100)
    batch = detector.voxel_batch(read_point_cloud(SWEEP)[:100], [0.0])
    with pytest.raises(ConfigError, match="symmetric in y"):
        mirror_voxel_batch(batch, grid)


def test_mirrored_boxes_are_the_mirror_images_and_mirror_back():
    rng = np.random.default_rng(0)
    boxes = torch.from_numpy(
        np.column_stack([rng.uniform(0, 40, 20), rng.uniform(-20, 20, 20), rng.uniform(-2, 0, 20),
                         rng.uniform(1, 4, (20, 3)), rng.uniform(-math.pi, math.pi, 20)])
    ).float()  # fmt: skip
    out = mirror_boxes_y(boxes, -math.pi)
    assert out[:, 6].min() >= -math.pi and out[:, 6].max() < math.pi
    corners = corners_lidar(boxes.double().numpy())  # (N, 8, 3)
    mirrored_corners = corners_lidar(out.double().numpy())
    corners[:, :, 1] *= -1
    # the same corner set (a mirror image reverses the corner order)
    for a, b in zip(corners, mirrored_corners):
        d = np.linalg.norm(a[:, None] - b[None], axis=2).min(1)
        assert d.max() < 1e-4
    back = mirror_boxes_y(out, -math.pi)
    np.testing.assert_allclose(back[:, :6], boxes[:, :6], atol=1e-6)
    dh = torch.remainder(back[:, 6] - boxes[:, 6] + math.pi, 2 * math.pi) - math.pi
    assert dh.abs().max() < 1e-5


def _dets(rows, scores, labels) -> Detections:
    return Detections(torch.tensor(rows, dtype=torch.float32), torch.tensor(scores),
                      torch.tensor(labels, dtype=torch.long))  # fmt: skip


def test_fusion_by_hand():
    a = [10.0, 0.0, -1.0, 4.0, 2.0, 1.5, 0.1]
    b = [10.4, 0.2, -1.0, 4.4, 2.0, 1.5, 0.3]  # BEV IoU with a well above 0.3
    far = [30.0, 5.0, -1.0, 4.0, 2.0, 1.5, 0.0]
    ped = [10.0, 0.0, -1.0, 0.8, 0.6, 1.7, 0.0]  # on the car, another class: not fused
    p0 = _dets([a, far, ped], [0.8, 0.6, 0.5], [0, 0, 1])
    p1 = _dets([b], [0.4], [0])
    out = fuse_passes([p0, p1], nms_iou=0.01, max_detections=10)
    scores, labels, boxes = out.scores.tolist(), out.labels.tolist(), out.boxes_lidar.numpy()
    # the car seen by both passes: score (0.8 + 0.4) / 2, box weighted 2:1, heading of a
    assert scores[0] == pytest.approx(0.6)
    expected = (np.array(a[:6]) * 0.8 + np.array(b[:6]) * 0.4) / 1.2
    np.testing.assert_allclose(boxes[0, :6], expected, atol=1e-5)
    assert boxes[0, 6] == pytest.approx(0.1)
    # seen by one pass only: half its score
    assert sorted(zip(labels[1:], scores[1:])) == [(0, pytest.approx(0.3)),
                                                   (1, pytest.approx(0.25))]  # fmt: skip


def test_flip_tta_is_equivariant_to_mirroring_the_sweep(detector):
    grid, model = detector.experiment.model.voxel, detector.model
    points = read_point_cloud(SWEEP)
    # a point within float rounding of a y voxel boundary can fall on the other side of it once
    # mirrored (419 of the sweep's 123,266 points): leave those out, so the voxels are mirrored
    # exactly and only the network's rounding remains
    u = (points[:, 1] - grid.point_range_m[1]) / grid.voxel_size_m[1]
    points = points[np.abs(u - np.round(u)) > 1e-3]
    mirrored = points.copy()
    mirrored[:, 1] *= -1
    with torch.no_grad():
        det = _detect_batch(model, detector.voxel_batch(points, [0.0]), grid, "flip")[0]
        det_m = _detect_batch(model, detector.voxel_batch(mirrored, [0.0]), grid, "flip")[0]
    assert len(det.scores) > 0 and len(det.scores) == len(det_m.scores)
    back = mirror_boxes_y(det_m.boxes_lidar, -math.pi)
    dist = torch.cdist(det.boxes_lidar[:, :3], back[:, :3])
    assert dist.min(1).values.max() < 0.05 and dist.min(0).values.max() < 0.05
    np.testing.assert_allclose(np.sort(det.scores.numpy()), np.sort(det_m.scores.numpy()),
                               atol=0.01)  # fmt: skip


def test_detector_with_flip_gives_the_inference_path_boxes(detector):
    """``Detector(tta="flip")`` (raw point clouds) and ``infer``'s batch path agree."""
    points = read_point_cloud(SWEEP)
    flip = Detector(detector.model, detector.experiment, full_circle=False, tta="flip")
    got = flip(points)
    with torch.no_grad():
        grid = detector.experiment.model.voxel
        want = _detect_batch(detector.model, detector.voxel_batch(points, [0.0]), grid, "flip")[0]
    np.testing.assert_allclose(got.boxes_lidar, want.boxes_lidar.numpy(), atol=1e-5)
    np.testing.assert_allclose(got.scores, want.scores.numpy(), atol=1e-6)
    plain = Detector(detector.model, detector.experiment, full_circle=False)(points)
    assert len(got) != len(plain) or not np.allclose(got.scores, plain.scores)
    with pytest.raises(ConfigError, match="tta must be one of"):
        Detector(detector.model, detector.experiment, tta="mirror")
