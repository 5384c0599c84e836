"""The detection dataset on the real sample frames: FOV crop, range crop, voxels, targets,
collate; training samples depend only on (seed, epoch, index)."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.data.dataset import crop_to_fov
from perception3d.lidar.dataset import LidarDetectionDataset, collate_batch
from perception3d.data.kitti import KittiObjectDataset
from perception3d.data.sample import sample_from_frame
from perception3d.lidar.global_aug import GlobalAugConfig, global_transforms
from perception3d.models.anchors import AnchorTargetAssigner
from tests.models.conftest import tiny_config


@pytest.fixture(scope="module")
def cfg():
    return tiny_config()


def test_fov_crop_keeps_points_projecting_into_the_image(kitti_root):
    frame = KittiObjectDataset(kitti_root).frame("004139")  # a full 360-degree sweep
    cropped = crop_to_fov(sample_from_frame(frame))
    uv, depth = frame.calib.lidar_to_image(cropped.points)
    h, w = 375, 1242  # no image_2 for this frame: the KITTI size is used
    assert (depth > 0).all() and (uv >= 0).all() and (uv[:, 0] < w).all() and (uv[:, 1] < h).all()
    assert 0.1 < len(cropped.points) / len(frame.points) < 0.4  # about 90 of 360 degrees
    # the same points as the calibration's own projection selects
    uv, depth = frame.calib.lidar_to_image(frame.points)
    ref = (depth > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
    np.testing.assert_array_equal(cropped.points, frame.points[ref])
    assert len(cropped.boxes_lidar) == len(frame.boxes_lidar)  # labels untouched


def test_items_and_collate(kitti_root, cfg):
    ds = LidarDetectionDataset(
        kitti_root, "training", cfg.model.voxel, assign_targets=AnchorTargetAssigner(cfg.model)
    )
    items = [ds[i] for i in range(len(ds))]
    a = len(AnchorTargetAssigner(cfg.model).__call__(np.zeros((0, 7)), np.array([]))["anchor_labels"])
    for it in items:
        n = it["voxel_num_points"]
        assert it["voxel_points"].shape[1:] == (32, 4) and (n >= 1).all() and (n <= 32).all()
        assert it["anchor_labels"].shape == (a,)
    batch = collate_batch(items)
    assert batch["batch_size"] == 3 and batch["frame_ids"] == ["000000", "000008", "004139"]
    assert batch["voxel_coords"][:, 0].unique().tolist() == [0, 1, 2]
    counts = [len(it["gt_boxes_lidar"]) for it in items]
    assert batch["gt_count"].tolist() == counts
    assert batch["gt_boxes_lidar"].shape == (3, max(counts), 7)
    assert batch["anchor_labels"].shape == (3, a)


def test_training_samples_depend_on_seed_epoch_index(kitti_root, cfg):
    def make(seed):
        return LidarDetectionDataset(
            kitti_root, "training", cfg.model.voxel,
            transforms=global_transforms(GlobalAugConfig()), training=True, seed=seed,
        )
    a, b = make(0), make(0)
    np.testing.assert_array_equal(a[1]["voxel_points"], b[1]["voxel_points"])
    a.set_epoch(1)
    assert not np.array_equal(a[1]["gt_boxes_lidar"], b[1]["gt_boxes_lidar"])
    assert not np.array_equal(make(1)[1]["gt_boxes_lidar"], b[1]["gt_boxes_lidar"])


def test_training_drops_boxes_outside_the_range(kitti_root, cfg):
    ds = LidarDetectionDataset(kitti_root, "training", cfg.model.voxel, training=True)
    boxes = ds[2]["gt_boxes_lidar"]  # 004139 has objects beyond the 25.6 m tiny range
    assert len(boxes) < len(KittiObjectDataset(kitti_root).frame("004139").boxes_lidar)
    assert ((boxes[:, 0] >= 0) & (boxes[:, 0] < 25.6) & (np.abs(boxes[:, 1]) < 12.8)).all()


def test_inference_runs_on_unlabelled_frames_training_refuses_them(kitti_copy, cfg):
    from perception3d.errors import MissingFrameError

    (kitti_copy / "training" / "label_2" / "000008.txt").unlink()
    infer = LidarDetectionDataset(kitti_copy, "training", cfg.model.voxel, ids=["000008"])
    assert len(infer[0]["gt_boxes_lidar"]) == 0 and len(infer[0]["voxel_points"]) > 0
    grid = cfg.model.voxel
    train = LidarDetectionDataset(kitti_copy, "training", grid, training=True, ids=["000008"])
    with pytest.raises(MissingFrameError, match=r"000008\.txt not found"):
        train[0]
