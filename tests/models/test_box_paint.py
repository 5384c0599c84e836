"""PointPainting from 2D boxes (perception3d.models.box_paint): hand-computed painting on a
pinhole camera, the nearest-depth-cluster refinement, the segmentation painting's layout and
storage, and the paint command with --boxes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from perception3d.cli import main
from perception3d.data.kitti import KittiObjectDataset, write_label_file
from perception3d.data.kitti_labels import KittiObject
from perception3d.engine.config import load_experiment
from perception3d.lidar.dataset import LidarDetectionDataset
from perception3d.models.box_paint import (
    nearest_depth_cluster,
    paint_points_boxes,
    read_boxes_2d,
)
from perception3d.models.fusion import load_painted_points, project_to_pixels
from perception3d.models.segnet import SEG_CLASSES, SegNet, save_segnet
from tests.toy_scenes import permuted_pinhole

# A pinhole camera: LiDAR (x forward, y left, z up) -> camera (x right, y down, z forward),
# focal 100 px, principal point (50, 40), image 80 x 100 (H x W): a point (d, y, z) ahead
# lands at u = 50 - 100 y / d, v = 40 - 100 z / d.
CALIB = permuted_pinhole(100.0, 50.0, 40.0)
HW = (80, 100)
POINTS = np.array(
    [
        [10, 0, 0, 0.1],  # A: (u, v) = (50, 40), depth 10
        [10, -1, 0, 0.2],  # B: (60, 40)
        [20, 0, 0, 0.3],  # C: (50, 40), depth 20: behind A
        [-10, 0, 0, 0.4],  # D: behind the camera
        [10, -10, 0, 0.5],  # E: u = 150, right of the image
        [10, 2, 0, 0.6],  # F: (30, 40), in no box
        [10, -1.5, 0.5, 0.7],  # G: (65, 35), on the corner of box 1
    ],
    np.float32,
)
BOXES = np.array([[45, 35, 65, 45], [55, 30, 70, 50], [40, 38, 52, 42]], np.float64)
SCORES = np.array([0.8, 0.6, 0.5])
LABELS = np.array([1, 2, 1])  # Car, Pedestrian, Car


def test_points_take_the_best_box_score_of_each_class():
    painted = paint_points_boxes(POINTS, BOXES, SCORES, LABELS, CALIB, HW)
    assert painted.shape == (7, 8) and painted.dtype == np.float32
    np.testing.assert_array_equal(painted[:, :4], POINTS)
    expected = [
        [0.2, 0.8, 0.0, 0.0],  # A: boxes 1 and 3 (Car 0.8, 0.5 -> max)
        [0.2, 0.8, 0.6, 0.0],  # B: box 1 (Car) and box 2 (Pedestrian): 1 - max
        [0.2, 0.8, 0.0, 0.0],  # C: same pixel as A
        [0.0, 0.0, 0.0, 0.0],  # D: not seen by the camera, the segmentation painting's fill
        [0.0, 0.0, 0.0, 0.0],  # E: outside the image
        [1.0, 0.0, 0.0, 0.0],  # F: in the image, in no box
        [0.2, 0.8, 0.6, 0.0],  # G: box 1's corner pixel (inclusive) and box 2
    ]
    np.testing.assert_allclose(painted[:, 4:], expected, atol=1e-6)


def test_nearest_depth_cluster_drops_what_lies_behind_the_object():
    painted = paint_points_boxes(POINTS, BOXES, SCORES, LABELS, CALIB, HW, cluster_gap_m=1.0)
    # box 1 holds A, B, G at 10-10.03 m and C at 20 m: C is background behind them; box 3
    # holds A and C, the nearest (A) is kept
    np.testing.assert_allclose(painted[2, 4:], [1, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(painted[[0, 1, 6], 5], [0.8, 0.8, 0.8], atol=1e-6)
    # a cluster below the minimum fraction of the box's points does not capture it
    depth = np.array([3.0, 10.0, 10.2, 10.4, 10.1, 20.0, 20.5])
    assert nearest_depth_cluster(depth, 1.0, 0.2).tolist() == [0, 1, 1, 1, 1, 0, 0]
    assert nearest_depth_cluster(depth, 1.0, 0.1).tolist() == [1, 0, 0, 0, 0, 0, 0]
    # none large enough: the largest
    assert nearest_depth_cluster(depth, 1.0, 0.9).tolist() == [0, 1, 1, 1, 1, 0, 0]


def test_bad_boxes_are_refused():
    with pytest.raises(ValueError, match="same length"):
        paint_points_boxes(POINTS, BOXES, SCORES[:2], LABELS, CALIB, HW)
    with pytest.raises(ValueError, match="object classes"):
        paint_points_boxes(POINTS, BOXES, SCORES, np.array([0, 1, 1]), CALIB, HW)
    with pytest.raises(ValueError, match="cluster_gap_m must be > 0"):
        paint_points_boxes(POINTS, BOXES, SCORES, LABELS, CALIB, HW, cluster_gap_m=0.0)
    with pytest.raises(ValueError, match=r"points_lidar must be \(N, 4\+\)"):
        paint_points_boxes(POINTS[:, :3], BOXES, SCORES, LABELS, CALIB, HW)


def _row(kind: str, box, score: float) -> KittiObject:
    return KittiObject(kind, 0.0, 0, -10.0, tuple(box), (-1.0, -1.0, -1.0),
                       (-1000.0, -1000.0, -1000.0), -10.0, score)  # fmt: skip


def test_result_files_map_to_the_segmentation_classes(tmp_path):
    rows = [_row("Cyclist", (1, 2, 3, 4), 0.7), _row("Van", (0, 0, 9, 9), 0.9),
            _row("Pedestrian", (5, 6, 7, 8), 0.25)]  # fmt: skip
    write_label_file(tmp_path / "000001.txt", rows)
    boxes, scores, labels = read_boxes_2d(tmp_path / "000001.txt")
    np.testing.assert_array_equal(boxes, [[1, 2, 3, 4], [5, 6, 7, 8]])
    np.testing.assert_allclose(scores, [0.7, 0.25])
    assert [SEG_CLASSES[k] for k in labels] == ["Cyclist", "Pedestrian"]
    with pytest.raises(FileNotFoundError, match=r"000002\.txt: 2D box result file not found"):
        read_boxes_2d(tmp_path / "000002.txt")


def test_paint_command_with_boxes_matches_the_segmentation_layout(kitti_copy, tmp_path):
    (kitti_copy / "ImageSets" / "val.txt").write_text("000008\n")
    frame = KittiObjectDataset(kitti_copy, ids=["000008"]).frame(8)
    # boxes: the labelled cars' own 2D boxes as Car detections, one Pedestrian box
    cars = [_row("Car", o.bbox, 0.9) for o in frame.objects if o.type == "Car"]
    ped = _row("Pedestrian", (0, 150, 40, 250), 0.4)
    write_label_file(tmp_path / "boxes/000008.txt", [*cars, ped])
    torch.manual_seed(0)
    seg = save_segnet(SegNet(width=4), tmp_path / "seg.pt")
    base = ["fusion", "paint", "--data-root", str(kitti_copy), "--split", "val"]
    assert main([*base, "--seg", str(seg), "--out", str(tmp_path / "seg_painted")]) == 0
    assert main([*base, "--boxes", str(tmp_path / "boxes"), "--out", str(tmp_path / "bp")]) == 0
    seg_gap = [*base, "--seg", str(seg), "--cluster-gap-m", "1.0", "--out", str(tmp_path / "x")]
    assert main(seg_gap) == 2 and not (tmp_path / "x").exists()  # the gap is for boxes only
    by_seg = load_painted_points(tmp_path / "seg_painted", "000008")
    by_box = load_painted_points(tmp_path / "bp", "000008")
    assert by_box.shape == by_seg.shape == (len(frame.points), 4 + len(SEG_CLASSES))
    np.testing.assert_array_equal(by_box[:, :4], by_seg[:, :4])
    info_seg = json.loads((tmp_path / "seg_painted/painting.json").read_text())
    info_box = json.loads((tmp_path / "bp/painting.json").read_text())
    assert info_box["columns"] == info_seg["columns"] and info_box["classes"] == info_seg["classes"]
    inside = project_to_pixels(frame.points, frame.calib, (375, 1242))[1]
    assert not by_box[~inside, 4:].any() and not by_seg[~inside, 4:].any()  # same fill
    car = by_box[inside, 5] > 0
    assert car.sum() > 500 and np.allclose(by_box[inside][car, 4:6], [0.1, 0.9])
    np.testing.assert_allclose(by_box[inside, 4], 1 - by_box[inside, 5:].max(1), atol=1e-6)
    # the PointPainting detector's dataset reads it as it reads the segmentation painting
    cfg = load_experiment("configs/models/pointpainting_lite.yaml")
    ds = LidarDetectionDataset(tmp_path / "bp", "val", cfg.model.voxel,
                               point_source="velodyne_painted", point_features=8)  # fmt: skip
    assert ds[0]["voxel_points"].shape[2] == 8 and ds[0]["voxel_points"][..., 5].max() > 0.89
