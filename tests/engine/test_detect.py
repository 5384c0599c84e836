"""Detection on raw point clouds: the Python API (``perception3d.Detector``), the full-circle
coverage, the decoded head dump, and ``perception3d detect`` on .npy, .pcd and .bin files
without calibration."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from perception3d.cli import main
from perception3d.data.kitti import KittiObjectDataset, read_label_file, read_velodyne
from perception3d.engine.checkpoint import CheckpointError, save_checkpoint
from perception3d.engine.detect import Detector
from perception3d.models.detector import build_detector
from tests.data.test_pointcloud import write_pcd
from tests.models.conftest import CONFIGS, TINY_OVERRIDES, tiny_config

SWEEP = "training/velodyne/004139.bin"  # a full 360-degree sweep


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory, kitti_root):
    """A random-weight tiny PointPillars checkpoint (range x 0..25.6 m: front only)."""
    cfg = tiny_config(kitti_root)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    return cfg, save_checkpoint(path, build_detector(cfg.model), None, 0, cfg)


@pytest.fixture(scope="module")
def detector(tiny_ckpt):
    cfg, ckpt = tiny_ckpt
    # random weights score about 0.01 everywhere: a zero threshold keeps boxes to compare
    return Detector.from_checkpoint(cfg, ckpt, device="cpu", score_threshold=0.0)


def _turn(points: np.ndarray) -> np.ndarray:
    out = points.copy()
    out[:, :2] *= -1
    return out


def test_top_level_import_is_lazy_and_gives_the_detector():
    code = (
        "import sys, perception3d; assert 'torch' not in sys.modules; "
        "from perception3d import Detector, Detections; print(Detector.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "perception3d.engine.detect"


def test_inference_does_not_import_training_code(tiny_ckpt, kitti_root, tmp_path):
    _, ckpt = tiny_ckpt
    code = (
        "import sys\n"
        "from perception3d.engine.detect import Detector\n"
        "from perception3d.engine.detect_files import run_detector_on_files\n"
        f"detector = Detector.from_checkpoint(None, {str(ckpt)!r}, device='cpu')\n"
        f"run_detector_on_files(detector, [{str(kitti_root / SWEEP)!r}], {str(tmp_path)!r},"
        " progress=False)\n"
        "bad = [m for m in ('perception3d.engine.train', 'perception3d.engine.validate',"
        " 'perception3d.engine.distributed', 'torch.utils.tensorboard', 'torch.distributed.run')"
        " if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_detections_are_numpy_lidar_boxes(detector, kitti_root):
    dets = detector(read_velodyne(kitti_root / SWEEP))
    assert len(dets) == detector.model.post_cfg.max_detections  # capped (threshold 0)
    assert dets.boxes_lidar.dtype == np.float32 and dets.boxes_lidar.shape == (len(dets), 7)
    assert dets.scores.dtype == np.float32 and (np.diff(dets.scores) <= 0).all()
    assert set(dets.names) <= {"Car", "Pedestrian", "Cyclist"}
    assert dets.classes == ("Car", "Pedestrian", "Cyclist")
    result = dets.to_json("004139")
    assert result["frame"] == "004139" and len(result["boxes"]) == len(dets)
    assert set(result["boxes"][0]) == {"label", "score", "center", "size", "heading"}


def test_full_circle_covers_the_rear_symmetrically(detector, kitti_root):
    points = read_velodyne(kitti_root / SWEEP)
    assert detector.pass_angles(cropped_to_fov=False) == (0.0, math.pi)
    dets = detector(points)
    assert (dets.boxes_lidar[:, 0] < 0).any() and (dets.boxes_lidar[:, 0] > 0).any()
    # the sweep turned by 180 degrees swaps the two passes: the same boxes, turned
    turned = detector(_turn(points))
    expected = dets.boxes_lidar.copy()
    expected[:, :2] *= -1
    expected[:, 6] = np.remainder(expected[:, 6] + 2 * math.pi, 2 * math.pi) - math.pi
    np.testing.assert_allclose(turned.scores, dets.scores, atol=1e-5)
    order_a, order_b = np.lexsort(expected[:, :2].T), np.lexsort(turned.boxes_lidar[:, :2].T)
    np.testing.assert_allclose(turned.boxes_lidar[order_b, :6], expected[order_a, :6], atol=1e-4)
    heading_gap = np.remainder(
        turned.boxes_lidar[order_b, 6] - expected[order_a, 6] + math.pi, 2 * math.pi
    )
    np.testing.assert_allclose(heading_gap, math.pi, atol=1e-4)


def test_rear_headings_keep_the_models_convention(kitti_root, tmp_path):
    # OpenPCDet's models leave headings in [dir_offset, dir_offset + 2 pi): so does the rear pass
    cfg = tiny_config(kitti_root, "model.wrap_heading=false")
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "u.pt", build_detector(cfg.model), None, 0, cfg)
    dets = Detector.from_checkpoint(cfg, ckpt, "cpu", 0.0)(read_velodyne(kitti_root / SWEEP))
    rear = dets.boxes_lidar[:, 0] < 0
    assert rear.any()
    offset = cfg.model.dir_offset_rad
    assert (
        (dets.boxes_lidar[:, 6] >= offset) & (dets.boxes_lidar[:, 6] < offset + 2 * math.pi)
    ).all()


def test_front_only_and_camera_view_crop(tiny_ckpt, kitti_root):
    cfg, ckpt = tiny_ckpt
    front = Detector.from_checkpoint(cfg, ckpt, "cpu", 0.0, full_circle=False)
    points = read_velodyne(kitti_root / SWEEP)
    assert front.pass_angles(False) == (0.0,)
    assert (front(points).boxes_lidar[:, 0] > -1.0).all()
    full = Detector.from_checkpoint(cfg, ckpt, "cpu", 0.0)
    calib = KittiObjectDataset(kitti_root).frame("004139").calib
    assert full.pass_angles(cropped_to_fov=True) == (0.0,)
    in_view = full(points, calib)
    from perception3d.data.dataset import crop_to_fov
    from perception3d.data.sample import LidarSample

    cropped = crop_to_fov(LidarSample("f", points, np.zeros((0, 7)), np.zeros(0, object), calib))
    np.testing.assert_array_equal(in_view.boxes_lidar, front(cropped.points).boxes_lidar)


def test_dumped_head_holds_every_anchor_and_the_detections(tiny_ckpt, kitti_root):
    cfg, ckpt = tiny_ckpt
    front = Detector.from_checkpoint(cfg, ckpt, "cpu", 0.0, full_circle=False)
    out = front.run(read_velodyne(kitti_root / SWEEP), decode_all=True)
    (head,) = out.heads
    num_anchors = len(front.model.anchors)
    assert head.boxes_lidar.shape == (num_anchors, 7) and head.scores.shape == (num_anchors, 3)
    assert ((head.scores > 0) & (head.scores < 1)).all()
    # every detection is one anchor's decoded box, with that anchor's score of its class
    dets = out.detections
    gap = np.abs(dets.boxes_lidar[:, None, :] - head.boxes_lidar[None]).max(axis=2)
    anchor = gap.argmin(axis=1)
    assert gap.min(axis=1).max() == 0.0
    np.testing.assert_array_equal(dets.scores, head.scores[anchor, dets.labels])


def test_points_are_checked(detector):
    with pytest.raises(ValueError, match=r"expected \(N, 3\)"):
        detector(np.zeros((10, 5), np.float32))
    with pytest.raises(ValueError, match="not finite"):
        detector(np.full((3, 4), np.nan, np.float32))
    # nothing in range: no detections (even at threshold 0), but the head is still decoded
    empty = detector.run(np.zeros((0, 4), np.float32), decode_all=True)
    assert len(empty.detections) == 0 and empty.detections.boxes_lidar.shape == (0, 7)
    assert len(empty.heads[0].scores) == len(detector.model.anchors)
    far = np.array([[500.0, 0, 0, 0.5]], np.float32)
    assert len(detector(far)) == 0


def test_foreign_checkpoint_is_refused(tmp_path, tiny_ckpt):
    cfg, _ = tiny_ckpt
    foreign = tmp_path / "openpcdet.pth"
    torch.save({"model_state": {"vfe.w": torch.zeros(2)}, "epoch": 80}, foreign)
    with pytest.raises(CheckpointError, match=r"not a perception3d checkpoint.*model_state"):
        Detector.from_checkpoint(cfg, foreign, "cpu")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"junk\.pt: not a readable checkpoint"):
        Detector.from_checkpoint(None, tmp_path / "junk.pt", "cpu")


def _cli(tiny_ckpt, *args):
    _, ckpt = tiny_ckpt
    sets = [a for o in TINY_OVERRIDES for a in ("--set", o)]
    config = str(CONFIGS / "pointpillars_lite.yaml")
    return main(["detect", config, str(ckpt), *args, "--device", "cpu", "--no-progress", *sets])


def test_cli_on_npy_pcd_and_bin_without_calibration(tiny_ckpt, kitti_root, tmp_path, capsys):
    points = read_velodyne(kitti_root / SWEEP)
    np.save(tmp_path / "scan_npy.npy", points[:, :3])
    write_pcd(tmp_path / "scan_pcd.pcd", points, "binary")
    out = tmp_path / "out"
    rc = _cli(tiny_ckpt, str(tmp_path / "scan_*"), str(kitti_root / SWEEP), "--out", str(out),
              "--score-threshold", "0", "--dump-head", str(tmp_path / "heads"))  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    assert "in 3 point clouds" in capsys.readouterr().out
    results = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert set(results) == {"scan_npy", "scan_pcd", "004139"}
    for frame, result in results.items():
        assert result["frame"] == frame and result["boxes"]
        box = result["boxes"][0]
        assert len(box["center"]) == len(box["size"]) == 3
        assert isinstance(box["heading"], float)
    # the .pcd holds the .bin's points exactly
    assert results["scan_pcd"]["boxes"] == results["004139"]["boxes"]
    heads = np.load(tmp_path / "heads" / "004139.npz", allow_pickle=False)
    assert set(heads) == {"classes", "boxes", "scores", "boxes_rear", "scores_rear"}


def test_cli_kitti_rows_with_calibration(tiny_ckpt, kitti_root, tmp_path, capsys):
    velo = kitti_root / "training" / "velodyne" / "000008.bin"
    out = tmp_path / "kitti"
    args = [str(velo), "--out", str(out), "--score-threshold", "0", "--format", "kitti"]
    assert _cli(tiny_ckpt, *args) == 2
    assert "--format kitti needs --calib" in capsys.readouterr().err
    assert _cli(tiny_ckpt, *args, "--calib", str(kitti_root / "training" / "calib")) == 0
    rows = read_label_file(out / "000008.txt")
    assert rows and all(r.score is not None and r.bbox[2] > r.bbox[0] for r in rows)


def test_cli_bad_input_names_the_file(tiny_ckpt, tmp_path, capsys):
    np.save(tmp_path / "bad.npy", np.zeros((5, 6), np.float32))
    assert _cli(tiny_ckpt, str(tmp_path / "bad.npy"), "--out", str(tmp_path / "o")) == 2
    assert "bad.npy: expected (N, 3)" in capsys.readouterr().err
    assert _cli(tiny_ckpt, str(tmp_path / "none.pcd"), "--out", str(tmp_path / "o")) == 2
    assert "none.pcd: no such file" in capsys.readouterr().err
