"""PointPainting: each point gets the scores of the pixel it projects to (hand-checked on the
real sample frame 000008), the paint command's round trip, painted detection data, and the
LiDAR-only -> painted weight expansion."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from perception3d.checkpoint import read_checkpoint
from perception3d.cli import main
from perception3d.data.kitti import KittiObjectDataset, read_image
from perception3d.engine.config import load_experiment
from perception3d.lidar.dataset import LidarDetectionDataset
from perception3d.models.detector import VoxelBatch, build_detector
from perception3d.models.fusion import (
    load_expanded_state,
    load_painted_points,
    paint_points,
    project_to_pixels,
)
from perception3d.models.segnet import SEG_CLASSES, SegNet, predict_scores, save_segnet

H, W = 375, 1242


def _coordinate_scores() -> np.ndarray:
    """(2, H, W) score map whose values are the pixel's row and column."""
    rows, cols = np.mgrid[0:H, 0:W].astype(np.float32)
    return np.stack([rows, cols])


def _hand_projection(points: np.ndarray, calib) -> tuple[np.ndarray, np.ndarray]:
    """u, v, depth by the KITTI chain written out: P2 @ R0_rect @ Tr_velo_to_cam @ [x y z 1]."""
    tr = np.vstack([calib.Tr_velo_to_cam, [0, 0, 0, 1]])
    r0 = np.eye(4)
    r0[:3, :3] = calib.R0_rect
    hom = np.hstack([points[:, :3].astype(np.float64), np.ones((len(points), 1))])
    proj = (calib.P2 @ r0 @ tr @ hom.T).T  # (N, 3)
    return proj[:, :2] / proj[:, 2:3], proj[:, 2]


def test_painting_assigns_the_projected_pixel_scores(kitti_root):
    frame = KittiObjectDataset(kitti_root, ids=["000008"]).frame(8)
    # the sample sweep is cropped to the camera's view: add the same points turned by 180 deg
    # (behind the camera) and by 60 deg (in front of it, outside the image)
    behind = frame.points * np.array([-1, -1, 1, 1], np.float32)
    c, s = np.cos(np.pi / 3), np.sin(np.pi / 3)
    side = frame.points.copy()
    side[:, 0], side[:, 1] = (
        c * frame.points[:, 0] - s * frame.points[:, 1],
        (s * frame.points[:, 0] + c * frame.points[:, 1]),
    )
    points = np.concatenate([frame.points, behind, side])
    painted = paint_points(points, _coordinate_scores(), frame.calib)
    assert painted.shape == (len(points), 6) and painted.dtype == np.float32
    np.testing.assert_array_equal(painted[:, :4], points)
    uv, depth = _hand_projection(points, frame.calib)
    inside = (depth > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < W) & (uv[:, 1] >= 0) & (uv[:, 1] < H)
    assert 1000 < inside.sum() < len(points)
    # the nearest pixel centre (integers are pixel centres), clipped at the last row/column
    np.testing.assert_array_equal(
        painted[inside, 4], np.minimum(np.floor(uv[inside, 1] + 0.5), H - 1)
    )
    np.testing.assert_array_equal(
        painted[inside, 5], np.minimum(np.floor(uv[inside, 0] + 0.5), W - 1)
    )
    # every point left out (behind the camera or outside the image) gets the zero fill
    assert not painted[~inside, 4:].any()
    assert (depth[~inside] <= 0).any() and (depth[~inside] > 0).any()


def test_painting_one_point_by_hand(kitti_root):
    calib = KittiObjectDataset(kitti_root, ids=["000008"]).frame(8).calib
    # a point 20 m ahead, 2 m left, on the LiDAR's height: projects near the image centre
    point = np.array([[20.0, 2.0, 0.0, 0.5]], np.float32)
    uv, _ = _hand_projection(point, calib)
    scores = np.zeros((3, H, W), np.float32)
    r, c = int(np.floor(uv[0, 1] + 0.5)), int(np.floor(uv[0, 0] + 0.5))
    scores[:, r, c] = [0.2, 0.7, 0.1]
    out = paint_points(point, scores, calib)
    np.testing.assert_allclose(out[0], [20.0, 2.0, 0.0, 0.5, 0.2, 0.7, 0.1], atol=1e-6)
    behind = paint_points(np.array([[-20.0, 2.0, 0.0, 0.5]], np.float32), scores + 1, calib)
    assert behind[0, 4:].tolist() == [0.0, 0.0, 0.0]
    filled = paint_points(np.array([[-20.0, 2.0, 0.0, 0.5]], np.float32), scores, calib, -1.0)
    assert filled[0, 4:].tolist() == [-1.0, -1.0, -1.0]


def test_painting_checks_shapes(kitti_root):
    calib = KittiObjectDataset(kitti_root, ids=["000008"]).frame(8).calib
    with pytest.raises(ValueError, match=r"points_lidar must be \(N, 4\+\)"):
        paint_points(np.zeros((5, 3), np.float32), np.zeros((2, 4, 4)), calib)
    with pytest.raises(ValueError, match=r"scores must be \(C, H, W\)"):
        paint_points(np.zeros((5, 4), np.float32), np.zeros((4, 4)), calib)
    _, inside = project_to_pixels(np.zeros((0, 4), np.float32), calib, (H, W))
    assert inside.shape == (0,)


def test_paint_command_round_trip_and_painted_dataset(kitti_copy, tmp_path):
    torch.manual_seed(0)
    seg = save_segnet(SegNet(width=4), tmp_path / "seg.pt")
    (kitti_copy / "ImageSets" / "val.txt").write_text("000008\n")
    out = tmp_path / "painted"
    argv = ["fusion", "paint", "--data-root", str(kitti_copy), "--seg", str(seg)]
    assert main([*argv, "--out", str(out), "--split", "val"]) == 0
    frame = KittiObjectDataset(kitti_copy, ids=["000008"]).frame(8)
    painted = load_painted_points(out, "000008")
    net = SegNet(width=4)
    net.load_state_dict(read_checkpoint(seg, "segnet")["model"])
    scores = predict_scores(net.eval(), read_image(kitti_copy / "training/image_2/000008.png"))
    np.testing.assert_allclose(painted, paint_points(frame.points, scores, frame.calib), atol=1e-6)
    assert painted.shape == (len(frame.points), 4 + len(SEG_CLASSES))
    assert (out / "training/label_2/000008.txt").read_bytes() == (
        kitti_copy / "training/label_2/000008.txt"
    ).read_bytes()
    assert (out / "ImageSets/val.txt").read_text() == "000008\n"
    # the painted columns reach the voxelizer when the config asks for them
    cfg = load_experiment("configs/models/pointpainting_lite.yaml")
    ds = LidarDetectionDataset(
        out, "val", cfg.model.voxel, point_source="velodyne_painted", point_features=8
    )
    item = ds[0]
    assert item["voxel_points"].shape[2] == 8
    assert item["voxel_points"][..., 4:].sum() > 0
    # a second run keeps what exists (resumable) and gives the same bytes
    before = (out / "training/velodyne_painted/000008.npy").read_bytes()
    assert main([*argv, "--out", str(out), "--split", "val"]) == 0
    assert (out / "training/velodyne_painted/000008.npy").read_bytes() == before


def test_expanded_weights_reproduce_the_lidar_only_detector():
    painted_cfg = load_experiment("configs/models/pointpainting_lite.yaml").model
    lidar_cfg = load_experiment("configs/models/pointpillars_lite.yaml").model
    # the same intensity input as the painted model (which reads it; the lite config does not)
    reading = replace(lidar_cfg.pillar_encoder, read_intensity=True)
    lidar_cfg = replace(lidar_cfg, pillar_encoder=reading)
    torch.manual_seed(0)
    lidar = build_detector(lidar_cfg).eval()
    painted = build_detector(painted_cfg).eval()
    painted.load_state_dict(load_expanded_state(lidar.state_dict(), painted.state_dict()))
    g = torch.Generator().manual_seed(1)
    pts = torch.rand(30, 5, 8, generator=g) * torch.tensor([50, 50, 2, 1, 1, 1, 1, 1])
    pts[..., 1] -= 25
    coords = torch.stack(
        [torch.zeros(30), torch.zeros(30), torch.arange(30) + 40, torch.arange(30) + 10], 1
    ).int()
    num = torch.full((30,), 5, dtype=torch.int32)
    out_l = lidar(VoxelBatch(pts[..., :4], num, coords, 1))
    out_p = painted(VoxelBatch(pts, num, coords, 1))
    for a, b in zip(out_l, out_p):
        torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="missing from the source"):
        load_expanded_state({}, painted.state_dict())
