"""Detection frames of a KITTI raw drive (``perception3d.data.drive_frames``) on a tiny drive
written in the raw layout: a parked car seen from a moving sensor; tracklet labels in the
current frame, the DontCare rules, the sweep history, and the detection dataset's
``sweeps`` option."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("pykitti", reason="the kitti-raw extra is not installed")

from perception3d.data.drive_frames import DriveDetectionFrames  # noqa: E402
from perception3d.data.kitti_raw import KittiRawDrive  # noqa: E402
from perception3d.data.kitti_raw_write import (  # noqa: E402
    format_oxts,
    write_raw_calibration,
    write_timestamps,
)
from perception3d.data.kitti_tracklets import Tracklet, write_tracklets  # noqa: E402
from perception3d.errors import MissingFrameError  # noqa: E402
from perception3d.geometry.boxes import points_in_boxes  # noqa: E402
from perception3d.geometry.calib import Calibration  # noqa: E402
from perception3d.lidar.multisweep import accumulate_sweeps  # noqa: E402

FRAMES = 3
SPEED_MPS = 10.0
CAR_WORLD = np.array([15.0, 2.0, -0.95, 4.0, 1.8, 1.5, 0.3])  # in the first LiDAR frame
SIZES = {"Car": (4.0, 1.8, 1.5), "Pedestrian": (0.8, 0.6, 1.7)}


def _oxts(k: int) -> str:
    lat, lon0 = 49.0, 8.4
    dlon = SPEED_MPS * 0.1 * k / (np.cos(np.radians(lat)) * np.pi * 6378137.0 / 180.0)
    return format_oxts([lat, lon0 + dlon, 110.0, 0, 0, 0.02 * k] + [0.0] * 19 + [4, 10, 4, 4, 4])


def _box_in(box_first: np.ndarray, first_from_k: np.ndarray) -> np.ndarray:
    """A box given in the first LiDAR frame, in frame k's (first_from_k: k -> first)."""
    k_from_first = np.linalg.inv(first_from_k)
    out = box_first.copy()
    out[:3] = k_from_first[:3, :3] @ box_first[:3] + k_from_first[:3, 3]
    out[6] = box_first[6] - np.arctan2(first_from_k[1, 0], first_from_k[0, 0])
    return out


def _tracklet(kind: str, boxes: list[np.ndarray], occlusion: int, truncation: int) -> Tracklet:
    l, w, h = SIZES[kind]
    poses = np.array([[b[0], b[1], b[2] - h / 2, 0, 0, b[6]] for b in boxes])
    n = len(boxes)
    return Tracklet(kind, np.array([h, w, l]), 0, poses, np.full(n, 2), np.full(n, occlusion),
                    np.full(n, occlusion), np.full(n, truncation))  # fmt: skip


@pytest.fixture(scope="module")
def drive_root(tmp_path_factory, kitti_root):
    root = tmp_path_factory.mktemp("drives")
    day = root / "2011_09_26"
    drive = day / "2011_09_26_drive_0001_sync"
    calib = Calibration.from_file(kitti_root / "training/calib/000008.txt")
    day.mkdir()
    write_raw_calibration(day, calib, (1242, 375), "09-Jan-2012 13:57:47")
    for sub in ("image_02/data", "velodyne_points/data", "oxts/data"):
        (drive / sub).mkdir(parents=True)
    shutil.copy(kitti_root / "training/image_2/000008.png", drive / "image_02/data/0000000000.png")
    start = np.datetime64("2011-09-26T13:02:25.000000000", "ns")
    times = [start + np.timedelta64(100 * k, "ms") for k in range(FRAMES)]
    for k in range(FRAMES):
        (drive / f"oxts/data/{k:010d}.txt").write_text(_oxts(k))
    write_timestamps(drive / "oxts/timestamps.txt", times)
    write_timestamps(drive / "velodyne_points/timestamps.txt", times)
    raw = KittiRawDrive(root, "2011_09_26", "0001")
    first_inv = np.linalg.inv(raw.pose_world_lidar(0))
    first_from = [first_inv @ raw.pose_world_lidar(k) for k in range(FRAMES)]
    rng = np.random.default_rng(0)
    for k in range(FRAMES):  # the parked car's returns, fresh samples in each sweep
        local = rng.uniform(-0.45, 0.45, (300, 3)) * CAR_WORLD[3:6]
        c, s = np.cos(CAR_WORLD[6]), np.sin(CAR_WORLD[6])
        pts_first = local @ np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]]) + CAR_WORLD[:3]
        inv = np.linalg.inv(first_from[k])
        pts = pts_first @ inv[:3, :3].T + inv[:3, 3]
        sweep = np.column_stack([pts, rng.uniform(0, 1, len(pts))]).astype(np.float32)
        sweep.tofile(drive / f"velodyne_points/data/{k:010d}.bin")
    boxes = {
        "car": CAR_WORLD,
        "far": np.array([45.0, -3.0, -0.9, 0.8, 0.6, 1.7, 0.0]),  # occlusion unset: DontCare
        "empty": np.array([25.0, -6.0, -0.95, 4.0, 1.8, 1.5, 0.0]),  # no returns: DontCare
        "behind": np.array([-12.0, 0.0, -0.95, 4.0, 1.8, 1.5, 0.0]),  # outside the image
    }
    per_frame = {n: [_box_in(b, first_from[k]) for k in range(FRAMES)] for n, b in boxes.items()}
    write_tracklets(drive / "tracklet_labels.xml", [
        _tracklet("Car", per_frame["car"], 1, 0),
        _tracklet("Pedestrian", per_frame["far"], -1, 0),
        _tracklet("Car", per_frame["empty"], 0, 0),
        _tracklet("Car", per_frame["behind"], -1, 2),
    ])  # fmt: skip
    (root / "ImageSets").mkdir()
    (root / "ImageSets" / "val.txt").write_text("2011_09_26_drive_0001_sync\n")
    return root, per_frame


def test_frames_and_labels_in_the_current_frame(drive_root):
    root, per_frame = drive_root
    frames = DriveDetectionFrames(root, "val")
    assert frames.ids == [f"2011_09_26_0001_{k:010d}" for k in range(FRAMES)]
    frame = frames.frame("2011_09_26_0001_0000000002")
    assert frame.labels.names.tolist() == ["Car"]
    np.testing.assert_allclose(frame.boxes_lidar[0], per_frame["car"][2], atol=1e-5)
    assert frame.occlusion.tolist() == [1]
    # the unset-occlusion pedestrian and the car without returns are DontCare; the car
    # outside the image is no label at all
    dontcare = frame.dontcare_boxes_lidar
    assert len(dontcare) == 2
    np.testing.assert_allclose(dontcare[:, :2], [per_frame[n][2][:2] for n in ("far", "empty")],
                               atol=1e-5)  # fmt: skip
    assert frame.image_shape == (375, 1242)
    # every object stands still in the world: the OXTS poses undo the sensor's 10 m/s
    np.testing.assert_allclose(frame.speeds_mps, 0.0, atol=0.01)  # files round to 1e-6
    assert len(frame.speeds_mps) == len(frame.objects_in_image[0]) == 3


def test_accumulated_sweeps_of_a_parked_car_fall_in_its_box(drive_root):
    root, _ = drive_root
    frame = DriveDetectionFrames(root)[2]
    points, poses, times = frame.sweep_history(2)
    assert len(points) == 3
    acc = accumulate_sweeps(points, poses, times)
    np.testing.assert_allclose(np.unique(acc[:, 4]), [0.0, 0.1, 0.2], atol=1e-6)
    inside = points_in_boxes(acc, frame.boxes_lidar) == 0
    assert inside.all()
    # without the compensation, about half of the returns of two sweeps back (the sensor 2 m
    # behind) miss the 4 m box
    assert (points_in_boxes(points[2], frame.boxes_lidar) == 0).mean() < 0.6
    # the drive's first frames have fewer earlier sweeps
    assert len(DriveDetectionFrames(root)[1].sweep_history(5)[0]) == 2


def test_unknown_frames_and_splits_raise(drive_root):
    root, _ = drive_root
    frames = DriveDetectionFrames(root)
    with pytest.raises(MissingFrameError, match="not a frame of the drives"):
        frames.frame("2011_09_26_0002_0000000000")
    with pytest.raises(MissingFrameError, match="has 3 frames"):
        frames.frame("2011_09_26_0001_0000000003")
    with pytest.raises(MissingFrameError, match="train.txt: split file not found"):
        DriveDetectionFrames(root, "train")


@pytest.mark.parametrize(("sweeps", "columns"), [(0, 4), (2, 5)])
def test_detection_dataset_feeds_multi_sweep_points(drive_root, sweeps, columns):
    from perception3d.engine.config import load_experiment
    from perception3d.lidar.dataset import LidarDetectionDataset

    root, _ = drive_root
    cfg = load_experiment(
        "configs/models/pointpillars_lite_multisweep.yaml",
        [f"data.sweeps={sweeps}", f"model.point_features={columns}", f"data.root={root}"],
    )
    ds = LidarDetectionDataset.of_experiment(cfg, root, "val")
    item = ds[2]
    assert item["voxel_points"].shape[2] == columns
    assert item["gt_names"].tolist() == ["Car"]
    kept = item["voxel_num_points"].sum()
    assert kept == 300 * (1 + sweeps)  # every return of the car, from each sweep, in view


def test_config_rejects_sweeps_without_drives_or_the_time_channel():
    from perception3d.engine.config import load_experiment

    path = "configs/models/pointpillars_lite_multisweep.yaml"
    with pytest.raises(ValueError, match="point_features must be 5"):
        load_experiment(path, ["model.point_features=4"])
    with pytest.raises(ValueError, match="point_features must be 4"):
        load_experiment(path, ["data.sweeps=0"])
    with pytest.raises(ValueError, match="needs data.format kitti_raw"):
        load_experiment(path, ["data.format=kitti"])
    with pytest.raises(ValueError, match="unknown|sweep_count"):
        load_experiment(path, ["data.sweep_count=3"])
