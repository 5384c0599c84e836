"""A small synthetic drive written in the KITTI raw layout, read back through pykitti: OXTS
poses, sweeps, tracklets and optical flow agree with each other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from perception3d.data.kitti_tracklets import read_tracklets
from perception3d.geometry.boxes import points_in_boxes
from perception3d.sim.drive.config import DriveConfig
from perception3d.sim.drive.oxts import imu_to_world
from perception3d.sim.drive.plan import plan_drive
from perception3d.sim.drive.sweep import firing_time_offset_s
from perception3d.sim.drive.writer import drive_dir, generate_drives

pytest.importorskip("pykitti")
pytest.importorskip("open3d")

FRAMES = 3
SEED = 3


def _cfg(**kw) -> DriveConfig:
    from perception3d.config import apply_overrides, from_dict, to_dict

    data = to_dict(DriveConfig(seed=SEED, frames=FRAMES, **kw))
    return from_dict(DriveConfig, apply_overrides(data, ["camera.image_scale=0.25"]))


@pytest.fixture(scope="module")
def drive(tmp_path_factory):
    root = tmp_path_factory.mktemp("drives")
    cfg = _cfg()
    generate_drives(root, cfg, progress=False)
    from perception3d.data.kitti_raw import KittiRawDrive

    return root, cfg, KittiRawDrive(root, cfg.date, "0001")


def _lidar_to_world(raw, k: int) -> np.ndarray:
    """(4, 4) LiDAR -> ENU (origin at the first IMU position) from pykitti's OXTS poses."""
    return raw.frame(k).pose_world_imu @ np.linalg.inv(raw._raw.calib.T_velo_imu)


@pytest.mark.slow
def test_pykitti_reads_the_drive(drive):
    _, cfg, raw = drive
    assert len(raw) == FRAMES
    h, w = cfg.camera.image_shape_hw
    frame = raw.frame(1)
    assert frame.image.shape == (3, h, w)
    assert frame.points.shape[1] == 4 and len(frame.points) > 10000
    assert len(raw._raw.oxts[0].packet) == 30
    assert raw._raw.timestamps[1] - raw._raw.timestamps[0] == np.timedelta64(100, "ms").item()
    plan = plan_drive(cfg, 0)
    np.testing.assert_allclose(raw.calib.P2, plan.calib.P2, rtol=1e-9)
    np.testing.assert_allclose(raw.calib.Tr_velo_to_cam, plan.calib.Tr_velo_to_cam, atol=1e-12)


@pytest.mark.slow
def test_oxts_poses_are_the_simulated_ones(drive):
    _, cfg, raw = drive
    plan = plan_drive(cfg, 0)
    c, s = np.cos(plan.enu_heading_rad), np.sin(plan.enu_heading_rad)
    to_enu = np.array([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]])
    first = to_enu @ imu_to_world(plan, 0.0)
    for k in range(FRAMES):
        want = to_enu @ imu_to_world(plan, plan.frame_time(k))
        want[:3, 3] -= first[:3, 3]
        np.testing.assert_allclose(raw.frame(k).pose_world_imu, want, atol=1e-6)
    # the packets' velocity is the poses' motion: forward speed against the distance driven
    moved = np.linalg.norm(raw.frame(2).pose_world_imu[:3, 3] - raw.frame(0).pose_world_imu[:3, 3])
    speeds = [raw.frame(k).oxts.vf for k in range(3)]
    assert moved / 0.2 == pytest.approx(np.mean(speeds), rel=0.05)
    assert 0.5 < np.mean(speeds) < 14.0
    for k in range(FRAMES):
        packet = raw.frame(k).oxts
        assert abs(packet.az - 9.81) < 0.5  # specific force: gravity's reaction included
        assert abs(packet.vl) < 0.02 * packet.vf + 0.01  # the car moves where its nose points


def _deskewed(points: np.ndarray, raw, k: int, period_s: float) -> np.ndarray:
    """Points of sweep k moved into the LiDAR frame of frame k's time, through the OXTS poses
    (linear between frames) and the documented firing times."""
    az = np.arctan2(points[:, 1], points[:, 0])
    dt = firing_time_offset_s(az, period_s)
    poses = [_lidar_to_world(raw, j) for j in range(FRAMES)]
    out = np.empty((len(points), 3))
    ref_inv = np.linalg.inv(poses[k])
    for sign in (-1, 1):
        sel = (dt < 0) if sign < 0 else (dt >= 0)
        j = min(max(k + sign, 0), FRAMES - 1)
        if j == k:  # extrapolate from the other neighbour
            j = k - sign
            frac = -np.abs(dt[sel]) / period_s
        else:
            frac = np.abs(dt[sel]) / period_s
        trans = poses[k][:3, 3] + frac[:, None] * (poses[j][:3, 3] - poses[k][:3, 3])
        world = points[sel, :3] @ poses[k][:3, :3].T + trans  # rotation: ~constant in 50 ms
        out[sel] = world @ ref_inv[:3, :3].T + ref_inv[:3, 3]
    return out


@pytest.mark.slow
def test_tracklet_points_move_with_their_boxes(drive):
    """Each tracked object's returns lie in its tracklet box once the sweep is de-skewed with
    the OXTS poses; without that, returns behind the moving car fall short of their boxes."""
    root, cfg, raw = drive
    d = drive_dir(root, cfg, 0)
    tracklets = read_tracklets(d / "tracklet_labels.xml")
    assert tracklets and all(t.object_type for t in tracklets)
    deskewed_rear, raw_rear, checked = [], [], 0
    for k in range(FRAMES):
        ids = np.load(d / "velodyne_instance" / "data" / f"{k:010d}.npy", allow_pickle=False)
        points = raw.frame(k).points
        assert len(ids) == len(points)
        xyz = _deskewed(points, raw, k, cfg.frame_period_s)
        for j, tr in enumerate(tracklets):
            mine = ids == j + 1
            if mine.sum() < 10:
                continue
            assert tr.first_frame <= k < tr.first_frame + len(tr.poses)
            box = tr.boxes_lidar()[k - tr.first_frame].copy()
            box[3:6] += 0.4  # 0.2 m a side: range noise (5 cm) + laser bias (3 cm), 1 sigma
            inside = (points_in_boxes(xyz[mine], box[None]) == 0).mean()
            assert inside > 0.99, (k, j, inside)
            if abs(np.arctan2(box[1], box[0])) > np.radians(120):
                deskewed_rear.append(inside)
                raw_rear.append((points_in_boxes(points[mine], box[None]) == 0).mean())
            checked += 1
    assert checked >= 5 and len(raw_rear) >= 2
    assert np.mean(raw_rear) < np.mean(deskewed_rear) - 0.01


def _depth_and_flow(d: Path, index: int) -> tuple[np.ndarray, np.ndarray]:
    """The (H, W) depth and (3, H, W) flow the writer stored for frame ``index`` of the drive
    folder ``d``."""
    depth = np.load(d / "depth_02" / "data" / f"{index:010d}.npy", allow_pickle=False)
    flow = np.load(d / "flow_02" / "data" / f"{index:010d}.npy", allow_pickle=False)
    return depth, flow


@pytest.mark.slow
def test_flow_matches_a_reprojected_static_point(drive):
    root, cfg, raw = drive
    d = drive_dir(root, cfg, 0)
    depth, flow = _depth_and_flow(d, 0)
    assert flow.shape == (3, *depth.shape) and flow.dtype == np.float32
    assert not (d / "flow_02" / "data" / f"{FRAMES - 1:010d}.npy").exists()
    plan = plan_drive(cfg, 0)
    calib = raw.calib
    h, w = depth.shape
    # a road pixel low in the image (static), and a far one
    for v, u in ((h - 5, w // 2), (h // 2 + 3, w // 3)):
        assert np.isfinite(depth[v, u])
        p_rect = calib.image_to_rect(np.array([[u, v]], float), depth[v, u : u + 1])
        p_lidar = calib.rect_to_lidar(p_rect)
        hom = np.r_[p_lidar[0], 1.0]
        world = _lidar_to_world(raw, 0) @ hom
        p_next = (np.linalg.inv(_lidar_to_world(raw, 1)) @ world)[:3]
        uv_next, z_next = calib.lidar_to_image(p_next[None])
        np.testing.assert_allclose(flow[:2, v, u], uv_next[0] - [u, v], atol=2e-3)
        assert flow[2, v, u] == pytest.approx(z_next[0], abs=1e-3)
    assert plan.ego.velocity(0.0)[0] > 0.5  # the car moves: the flow is not trivially zero
    assert np.abs(flow[:2, h - 5, w // 2]).max() > 0.1


@pytest.mark.slow
def test_same_seed_same_bytes(tmp_path):
    cfg = _cfg()
    cfg = type(cfg)(**{**cfg.__dict__, "frames": 2})
    a, b = tmp_path / "a", tmp_path / "b"
    generate_drives(a, cfg, progress=False)
    generate_drives(b, cfg, workers=2, progress=False)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) > 20
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def _box_to_lidar(box: np.ndarray) -> np.ndarray:
    """(4, 4) box frame (centre, heading) -> LiDAR frame."""
    c, s = np.cos(box[6]), np.sin(box[6])
    out = np.eye(4)
    out[:2, :2] = [[c, -s], [s, c]]
    out[:3, 3] = box[:3]
    return out


@pytest.mark.slow
def test_flow_of_a_moving_object_follows_its_tracklet(drive):
    root, cfg, raw = drive
    d = drive_dir(root, cfg, 0)
    depth, flow = _depth_and_flow(d, 0)
    calib = raw.calib
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w]
    ok = np.isfinite(depth.ravel())
    uv = np.stack([u.ravel(), v.ravel()], 1)[ok].astype(float)
    pts = calib.rect_to_lidar(calib.image_to_rect(uv, depth.ravel()[ok]))
    moving = 0
    for tr in read_tracklets(d / "tracklet_labels.xml"):
        if not (tr.first_frame <= 0 and tr.first_frame + len(tr.poses) > 1):
            continue
        b0, b1 = tr.boxes_lidar()[[0 - tr.first_frame, 1 - tr.first_frame]]
        world0 = _lidar_to_world(raw, 0) @ _box_to_lidar(b0)
        world1 = _lidar_to_world(raw, 1) @ _box_to_lidar(b1)
        if np.linalg.norm(world1[:3, 3] - world0[:3, 3]) < 0.05:
            continue  # standing still
        shrunk = b0.copy()
        shrunk[3:6] -= 0.2
        shrunk[2] += 0.1  # off the road
        on = np.flatnonzero(points_in_boxes(pts, shrunk[None]) == 0)
        if len(on) < 3:
            continue
        motion = np.linalg.inv(_lidar_to_world(raw, 1)) @ world1 @ np.linalg.inv(world0)
        motion = motion @ _lidar_to_world(raw, 0)  # LiDAR 0 -> LiDAR 1 with the box
        p1 = pts[on] @ motion[:3, :3].T + motion[:3, 3]
        uv1, z1 = calib.lidar_to_image(p1)
        px = uv[on].astype(int)
        np.testing.assert_allclose(flow[:2, px[:, 1], px[:, 0]].T, uv1 - uv[on], atol=1e-2)
        np.testing.assert_allclose(flow[2, px[:, 1], px[:, 0]], z1, rtol=1e-4)
        moving += 1
    assert moving >= 1
