"""Reprojection alignment: the flow of a static scene from a known pose change and depth
(hand-computed), a de-skewed sweep, movers and occlusions masked, and the temporal eval aligned
by reprojection on a drive whose ground-truth flow is known."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from perception3d.geometry.calib import Calibration
from perception3d.isp.reproject import (
    ReprojectionParams,
    clip_reprojection,
    reprojection_alignment,
    reprojection_flow,
)
from perception3d.isp.reproject_depth import deskew_sweep, grid_hw, lidar_depth, scaled_calib
from perception3d.isp.temporal_data import capture_frames

F_PX, H, W = 100.0, 64, 96
VELO_TO_CAM = np.array([[0, -1.0, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0]])  # x fwd -> z, no offset
CALIB = Calibration(
    P2=np.array([[F_PX, 0, (W - 1) / 2, 0], [0, F_PX, (H - 1) / 2, 0], [0, 0, 1, 0]]),
    R0_rect=np.eye(3),
    Tr_velo_to_cam=VELO_TO_CAM,
)
GEOMETRY_ONLY = ReprojectionParams(scale=0.5, above_lidar="invalid", photometric=False,
                                   deskew=False)  # fmt: skip


def _pose(x_m: float = 0.0, y_m: float = 0.0) -> np.ndarray:
    pose = np.eye(4)
    pose[0, 3], pose[1, 3] = x_m, y_m
    return pose


def _wall(distance_m: float, sensor_y_m: float = 0.0, step_m: float = 0.02) -> np.ndarray:
    """(N, 4) returns of a wall x = distance_m (world), seen from a sensor at y = sensor_y_m."""
    y, z = np.meshgrid(np.arange(-6.0, 6.0, step_m), np.arange(-4.0, 4.0, step_m))
    pts = np.stack([np.full(y.size, distance_m), y.ravel() - sensor_y_m, z.ravel(),
                    np.full(y.size, 0.5)], 1)  # fmt: skip
    return pts.astype(np.float32)


def test_static_wall_flow_matches_the_hand_computed_zoom():
    # the car drives 1 m forward towards a wall 10 m ahead: a pixel u of the current frame
    # (depth 10 m) was at cu + (u - cu) x 10 / 11 in the previous frame (depth 11 m)
    poses = [_pose(0.0), _pose(1.0)]
    sweeps = [_wall(11.0), _wall(10.0)]  # seen from 1 m further back, then from here
    back, ok = clip_reprojection(sweeps, poses, CALIB, (H, W), GEOMETRY_ONLY)
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    cu, cv = (W - 1) / 2, (H - 1) / 2
    expected = np.stack([(u - cu) * (10 / 11 - 1), (v - cv) * (10 / 11 - 1)])
    valid = ok[1, 0].numpy() > 0
    assert valid.mean() > 0.9  # the previous, wider view saw every pixel's point
    err = np.abs(back[1].numpy() - expected)[:, valid]
    assert err.max() < 0.05  # the flow of a plane is linear: its upsampling is exact
    assert torch.equal(ok[0], torch.zeros_like(ok[0]))  # the first frame has no history


def test_sideways_motion_flow_and_previous_depth():
    # 0.5 m to the left (LiDAR +y) in front of a wall 10 m away: 100 px x 0.5 / 10 = 5 px
    depth = torch.full((H, W), 10.0)
    flow, depth_prev = reprojection_flow(depth, CALIB, _pose(y_m=0.5))
    assert torch.allclose(flow[0, 0], torch.full((H, W), -5.0), atol=1e-4)
    assert torch.allclose(flow[0, 1], torch.zeros(H, W), atol=1e-4)
    assert torch.allclose(depth_prev, torch.full((1, 1, H, W), 10.0))


def test_deskew_moves_a_skewed_sweep_back_onto_the_wall():
    # a wall 10 m ahead recorded while driving 1.5 m per frame: a return at azimuth a fired a
    # share a / 2 pi of the period before the frame time, 1.5 a / 2 pi m further back, so it
    # reads 10 + 1.5 a / 2 pi; de-skewing with the frame-to-frame motion restores x = 10
    y = np.linspace(-8.0, 8.0, 41)
    x = np.full_like(y, 10.0)
    for _ in range(20):  # the firing azimuth is the one measured, in the firing frame
        x = 10.0 + 1.5 * np.arctan2(y, x) / (2 * np.pi)
    skewed = np.stack([x, y, np.zeros_like(y), np.ones_like(y)], 1)
    motion = _pose(-1.5)  # the previous frame's sensor, 1.5 m behind
    out = deskew_sweep(skewed.astype(np.float32), motion)
    assert np.allclose(out[:, 0], 10.0, atol=1e-4)
    assert np.allclose(out[:, 1:], skewed[:, 1:], atol=1e-6)  # y, z and intensity unchanged
    with pytest.raises(ValueError, match="4, 4"):
        deskew_sweep(skewed, np.eye(3))


def test_no_depth_above_the_lidar_and_outside_the_sweep():
    pts = _wall(10.0)
    pts = pts[pts[:, 2] < 0.0]  # the LiDAR sees only the lower half
    grid = grid_hw((H, W), 0.5)
    depth = lidar_depth(pts, scaled_calib(CALIB, (H, W), grid), *grid, support_px=2)
    assert (depth[: grid[0] // 2 - 3] == 0).all()  # above: no value
    assert np.allclose(depth[grid[0] // 2 + 1 :], 10.0, atol=1e-3)
    extended = lidar_depth(pts, scaled_calib(CALIB, (H, W), grid), *grid, 2, extend_top=True)
    assert np.allclose(extended, 10.0, atol=1e-3)  # Ku et al.'s upward extension


def _box_scene(sensor_prev, sensor_now, box_prev_m: float, box_now_m: float):
    """Sweeps of a wall at x = 10 m (world) and a 1.6 x 1.0 m box face at x = box_*_m (world,
    centred on y = 0), from sensors at (x, y) ``sensor_prev`` then ``sensor_now``: the wall's
    returns behind the box are not seen."""
    sweeps = []
    for (sx, sy), box_x in ((sensor_prev, box_prev_m), (sensor_now, box_now_m)):
        wall = _wall(10.0 - sx, sy)
        box = _wall(box_x - sx, sy)
        box = box[(np.abs(box[:, 1] + sy) < 0.8) & (np.abs(box[:, 2]) < 0.5)]
        scale = (box_x - sx) / wall[:, 0]  # the wall's returns scaled onto the box's plane
        hidden = (np.abs(wall[:, 1] * scale + sy) < 0.8) & (np.abs(wall[:, 2] * scale) < 0.5)
        sweeps.append(np.concatenate([wall[~hidden], box]))
    return sweeps, [_pose(*sensor_prev), _pose(*sensor_now)]


def test_a_mover_gets_masked():
    # the ego drives 1 m forward; a car ahead (the box, 5 m ahead now) drives along with it,
    # so it kept its place in the image, where the static-world flow moves it 1/6 of the way
    # to the centre; in the previous frame that point was 6 m away, the car 5 m: masked
    cu, cv = int((W - 1) / 2), int((H - 1) / 2)
    box = (slice(cv - 6, cv + 7), slice(cu - 12, cu + 13))  # it spans 32 x 20 px
    sweeps, poses = _box_scene((0.0, 0.0), (1.0, 0.0), box_prev_m=5.0, box_now_m=6.0)
    _, ok = clip_reprojection(sweeps, poses, CALIB, (H, W), GEOMETRY_ONLY)
    assert not (ok[1, 0][box] > 0).any()
    assert (ok[1, 0][4:12, 4:20] > 0).all()  # the wall far from the box stays valid
    # the same box standing still: the static-world flow is right there, and it is valid
    sweeps, poses = _box_scene((0.0, 0.0), (1.0, 0.0), box_prev_m=6.0, box_now_m=6.0)
    _, ok = clip_reprojection(sweeps, poses, CALIB, (H, W), GEOMETRY_ONLY)
    assert (ok[1, 0][box] > 0).all()


def test_occluded_source_gets_masked():
    # the ego moves 1 m to the left past a box 5 m ahead of a wall 10 m ahead: the box's image
    # moves 20 px right, the wall's 10 px, so the wall just left of the box now was behind
    # the box before (masked) and the wall right of it was in view (valid)
    cu, cv = int((W - 1) / 2), int((H - 1) / 2)
    sweeps, poses = _box_scene((0.0, 0.0), (0.0, 1.0), box_prev_m=5.0, box_now_m=5.0)
    back, ok = clip_reprojection(sweeps, poses, CALIB, (H, W), GEOMETRY_ONLY)
    valid = ok[1, 0] > 0
    # the box (LiDAR y -1.8..-0.2 m now, to the right) spans u - cu in (4, 36), before in
    # (-16, 16); the wall now at u - cu in (-6, 4) came from (-16, -6): behind the box
    assert not valid[cv - 2 : cv + 3, cu - 4 : cu + 2].any()
    # the wall now at (-34, -22) came from (-44, -32): seen in both frames
    assert valid[cv - 2 : cv + 3, cu - 34 : cu - 22].all()
    assert torch.allclose(back[1, 0][cv, cu - 34 : cu - 22], torch.tensor(-10.0), atol=0.05)


def test_photometric_check_masks_a_mover_at_the_walls_own_range():
    # a textured wall 10 m ahead, the ego standing still; a panel of the wall (a vehicle
    # passing along its own flank, at the wall's range) slides 6 px sideways between the
    # frames: depths agree everywhere, only the photometric check sees the panel move
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    texture = 0.3 + 0.2 * np.sign(np.sin(u / 2.5)) * np.sign(np.sin(v / 3.0))
    rad0 = np.repeat(texture[None], 3, 0)
    rad1 = rad0.copy()
    panel = (slice(20, 44), slice(30, 66))
    rad1[:, panel[0], panel[1]] = np.repeat(
        (0.3 + 0.2 * np.sign(np.sin((u + 6) / 2.5)) * np.sign(np.sin(v / 3.0)))[None], 3, 0
    )[:, panel[0], panel[1]]
    rad = torch.from_numpy(np.stack([rad0, rad1]).astype(np.float32))
    raw, meta, _, _ = capture_frames(rad, [0, 1], 3.0, 1.0, seed=0, drive=0)
    raws = [(raw[t : t + 1], meta.select(t)) for t in range(2)]
    sweeps, poses = [_wall(10.0), _wall(10.0)], [_pose(), _pose()]
    params = dataclasses.replace(GEOMETRY_ONLY, photometric=True)
    _, ok_geo = clip_reprojection(sweeps, poses, CALIB, (H, W), GEOMETRY_ONLY)
    _, ok = clip_reprojection(sweeps, poses, CALIB, (H, W), params, raws)
    inner = (slice(26, 38), slice(36, 60))
    assert ok_geo[1, 0][inner].all()  # geometry cannot tell
    assert ok[1, 0][inner].mean() < 0.2  # the photometric check does
    assert ok[1, 0][4:14, 4:24].mean() > 0.9  # the still wall passes it


def test_alignment_errors():
    with pytest.raises(ValueError, match="scale"):
        ReprojectionParams(scale=0.0)
    with pytest.raises(ValueError, match="above_lidar"):
        ReprojectionParams(above_lidar="sky")
    depth = torch.full((8, 12), 10.0)
    with pytest.raises(ValueError, match="photometric"):  # extend needs the photometric check
        reprojection_alignment(depth, depth, CALIB, np.eye(4), (16, 24), ReprojectionParams())
    with pytest.raises(ValueError, match="pose per sweep"):
        clip_reprojection([_wall(10.0)], [], CALIB, (H, W))
