"""KITTI object roots of drive frames (``perception3d.data.drive_object_root``) on a tiny
synthetic drive: each label row is its tracklet's box at the frame (3D round trip), its 2D box
is the clipped projection, its truncation the share of the projection outside the image; the
sweep, image and calibration are the drive's; and KITTI's evaluator scores the labels as
perfect detections."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from perception3d.data.drive_frames import DriveDetectionFrames
from perception3d.data.drive_object_root import FRAMES_FILE, write_drive_object_root
from perception3d.data.kitti import KittiObjectDataset, read_label_file, read_split_file
from perception3d.eval.kitti import evaluate_kitti
from perception3d.geometry.boxes import boxes_to_image_2d
from perception3d.geometry.calib import Calibration, boxes_cam_to_lidar

pytest.importorskip("pykitti")
pytest.importorskip("open3d")

FRAMES = 3


def write_tiny_drives(root, frames: int = FRAMES, seed: int = 3, drives: int = 1):
    """``perception3d synth-drive --frames F --seed S --set camera.image_scale=0.25`` into
    ``root``; returns the drive config."""
    from perception3d.config import apply_overrides, from_dict, to_dict
    from perception3d.sim.drive.config import DriveConfig
    from perception3d.sim.drive.writer import generate_drives

    data = to_dict(DriveConfig(seed=seed, frames=frames, drives=drives))
    cfg = from_dict(DriveConfig, apply_overrides(data, ["camera.image_scale=0.25"]))
    generate_drives(root, cfg, progress=False)
    return cfg


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    raw = tmp_path_factory.mktemp("drive")
    write_tiny_drives(raw)
    out = tmp_path_factory.mktemp("object")
    ids = write_drive_object_root(raw, out)
    return raw, out, ids


@pytest.mark.slow
def test_label_rows_are_the_tracklet_boxes(converted):
    raw, out, ids = converted
    frames = DriveDetectionFrames(raw)
    index = json.loads((out / FRAMES_FILE).read_text())
    assert ids == [f"{i:06d}" for i in range(FRAMES)] == read_split_file(out / "ImageSets/val.txt")
    labelled = 0
    for oid in ids:
        frame = frames.frame(index[oid]["frame"])
        assert index[oid]["frame"].endswith(f"_{int(oid):010d}")
        boxes, names, _, cared = frame.objects_in_image
        calib = Calibration.from_file(out / "training/calib" / f"{oid}.txt")
        np.testing.assert_allclose(calib.P2, frame.calib.P2, atol=1e-9)
        np.testing.assert_allclose(calib.Tr_velo_to_cam, frame.calib.Tr_velo_to_cam, atol=1e-9)
        np.testing.assert_array_equal(KittiObjectDataset(out, "val").frame(oid).points,
                                      frame.points)  # fmt: skip
        rows = read_label_file(out / "training/label_2" / f"{oid}.txt", allow_score=False)
        tracks = index[oid]["tracklets"]
        assert len(rows) == len(tracks)
        h, w = frame.image_shape
        for row, track in zip(rows, tracks):
            m = int(np.flatnonzero(frame.tracklet_index == track)[0])
            full, _ = boxes_to_image_2d(boxes[m : m + 1], frame.calib, None)
            clipped = np.clip(full[0], 0, [w - 1, h - 1, w - 1, h - 1])
            np.testing.assert_allclose(row.bbox, clipped, atol=0.006)  # 2 decimals
            if not cared[m]:
                assert row.type == "DontCare"
                continue
            labelled += 1
            assert row.type == names[m]
            back = boxes_cam_to_lidar(row.box_cam[None], calib)[0]
            np.testing.assert_allclose(back[:6], boxes[m, :6], atol=0.012)
            assert abs(np.angle(np.exp(1j * (back[6] - boxes[m, 6])))) < 0.006
            area = (full[0, 2] - full[0, 0]) * (full[0, 3] - full[0, 1])
            inside = (clipped[2] - clipped[0]) * (clipped[3] - clipped[1])
            assert row.truncated == pytest.approx(1 - inside / area, abs=0.006)
    assert labelled >= 3  # the drive has objects to check


@pytest.mark.slow
def test_labels_as_detections_score_perfectly(converted):
    _, out, ids = converted
    gt = {i: read_label_file(out / "training/label_2" / f"{i}.txt", allow_score=False) for i in ids}
    pred = {i: [replace(r, score=1.0) for r in rows if r.type != "DontCare"]
            for i, rows in gt.items()}  # fmt: skip
    result = evaluate_kitti(gt, pred, ("Car",))
    counted = result["meta"]["gt_counted"]["Car"]["moderate"]
    assert counted > 0
    for values in result["Car"]["all_point"].values():
        assert values[1] == pytest.approx(100.0)


@pytest.mark.slow
def test_frames_per_drive_and_max_drives(tmp_path):
    raw = tmp_path / "raw"
    write_tiny_drives(raw, frames=2, drives=2)
    ids = write_drive_object_root(raw, tmp_path / "a", frames_per_drive=1)
    index = json.loads((tmp_path / "a" / FRAMES_FILE).read_text())
    assert [index[i]["frame"][-15:] for i in ids] == ["0001_0000000000", "0002_0000000000"]
    ids = write_drive_object_root(raw, tmp_path / "b", max_drives=1)
    index = json.loads((tmp_path / "b" / FRAMES_FILE).read_text())
    assert [index[i]["frame"][-15:] for i in ids] == ["0001_0000000000", "0001_0000000001"]
