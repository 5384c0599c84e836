"""Camera 2: KITTI calibration, rays through pixel centres, HDR radiance, the default camera
model."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.data.synth.camera import camera_calibration, camera_rig, kitti_default_calibration
from perception3d.data.synth.config import CameraConfig
from perception3d.data.synth.frame import generate_frame
from perception3d.data.synth.semantics import SEMANTIC_ID
from perception3d.data.synth.tonemap import radiance_to_srgb8, srgb_oetf
from perception3d.geometry.calib import Calibration

from .conftest import tiny_config


def test_default_calibration_is_kitti_000008(kitti_root):
    real = Calibration.from_file(kitti_root / "training/calib/000008.txt")
    ours = kitti_default_calibration()
    for name in ("P0", "P1", "P2", "P3", "R0_rect", "Tr_velo_to_cam", "Tr_imu_to_velo"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(real, name))


def test_scaled_calibration_scales_the_projection():
    full, half = camera_calibration(CameraConfig()), camera_calibration(CameraConfig(image_scale=0.5))
    np.testing.assert_allclose(half.P2[:2], full.P2[:2] / 2)
    np.testing.assert_array_equal(half.P2[2], full.P2[2])
    assert CameraConfig(image_scale=0.5).image_shape_hw == (188, 621)


def test_rays_pass_through_pixel_centres_at_depth_t():
    calib = camera_calibration(CameraConfig())
    rig = camera_rig(calib, (375, 1242))
    pick = np.array([0, 1241, 1242 * 200 + 600, 375 * 1242 - 1])
    for t in (1.0, 37.5):
        points = rig.origin.astype(np.float64) + t * rig.directions[pick].astype(np.float64)
        uv, depth = calib.lidar_to_image(points)
        np.testing.assert_allclose(uv, np.stack([pick % 1242, pick // 1242], 1), atol=2e-3)
        np.testing.assert_allclose(depth, t, rtol=1e-5)
    assert camera_rig(calib, (375, 1242)) is rig  # cached


@pytest.fixture(scope="module")
def frames():
    cfg = tiny_config(40, 0, "camera.image_scale=0.5")
    return {i: generate_frame(cfg, i) for i in (0, 11)}  # frame 11 of seed 0 is a night


def test_sky_is_the_only_place_without_depth(frames):
    cam = frames[0].camera
    sky = ~np.isfinite(cam.depth_m)
    assert 0.02 < sky.mean() < 0.6
    assert np.all(cam.semantic[sky] == 0) and np.all(cam.instance[sky] == 0)
    assert np.all(cam.semantic[~sky] > 0)
    assert (cam.semantic == SEMANTIC_ID["road"]).mean() > 0.1
    assert (cam.semantic == SEMANTIC_ID["lane_marking"]).any()


def test_daylight_radiance_is_high_dynamic_range(frames):
    rad = frames[0].camera.radiance
    assert rad.dtype == np.float32 and np.all(np.isfinite(rad)) and rad.min() >= 0
    assert rad.max() > 10.0  # glints of the sun on cars, far above diffuse white
    assert rad.max() < 65504  # fits float16
    assert 0.01 < np.median(rad) < 1.0


def test_night_is_dark_but_lit_by_lamps(frames):
    day, night = frames[0], frames[11]
    assert night.scene.night and not day.scene.night
    assert np.median(night.camera.radiance) < 1e-3 * np.median(day.camera.radiance)
    assert night.camera.radiance.max() > 0.1  # lamps and headlights glow
    assert night.exposure > 100 * day.exposure


def test_default_camera_model():
    assert srgb_oetf(np.array([0.0, 0.0031308, 1.0])).tolist() == pytest.approx([0.0, 0.04045, 1.0], abs=1e-5)
    ramp = np.geomspace(1e-4, 100, 50, dtype=np.float32)
    rad = np.broadcast_to(ramp, (3, 4, 50)).copy()
    img, exposure = radiance_to_srgb8(rad, key=0.1)
    row = img[0, :, 0].astype(int)
    assert np.all(np.diff(row) >= 0) and row[0] == 0 and row[-1] == 255  # monotonic, clips
    img2, exposure2 = radiance_to_srgb8(rad * 4, key=0.1)
    assert exposure2 == pytest.approx(exposure / 4, rel=1e-4)  # auto exposure undoes a gain
    assert np.abs(img2.astype(int) - img).max() <= 1
