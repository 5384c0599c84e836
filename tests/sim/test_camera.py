"""Camera 2: KITTI calibration, rays through pixel centres, HDR radiance, the default camera
model."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.geometry.calib import Calibration
from perception3d.sim.camera import (
    camera_calibration,
    camera_rig,
    kitti_default_calibration,
    render_camera,
)
from perception3d.sim.config import CameraConfig
from perception3d.sim.frame import generate_frame
from perception3d.sim.semantics import SEMANTIC_ID
from perception3d.sim.tonemap import radiance_to_srgb8, srgb_oetf

from .conftest import tiny_config


def test_default_calibration_is_kitti_000008(kitti_root):
    real = Calibration.from_file(kitti_root / "training/calib/000008.txt")
    ours = kitti_default_calibration()
    for name in ("P0", "P1", "P2", "P3", "R0_rect", "Tr_velo_to_cam", "Tr_imu_to_velo"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(real, name))


def test_scaled_calibration_scales_the_projection():
    full, half = (
        camera_calibration(CameraConfig()),
        camera_calibration(CameraConfig(image_scale=0.5)),
    )
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
def day_frames():
    cfg = tiny_config(4, 0, "camera.image_scale=0.5", "scene.night_probability=0.0",
                      "scene.overcast_probability=0.0")  # fmt: skip
    return [generate_frame(cfg, i) for i in range(4)]


@pytest.fixture(scope="module")
def night_frame():
    return generate_frame(
        tiny_config(1, 0, "camera.image_scale=0.5", "scene.night_probability=1.0"), 0
    )


def test_sky_is_the_only_place_without_depth(day_frames):
    for frame in day_frames:
        cam = frame.camera
        sky = ~np.isfinite(cam.depth_m)
        assert 0.02 < sky.mean() < 0.6
        assert np.all(cam.semantic[sky] == 0) and np.all(cam.instance[sky] == 0)
        assert np.all(cam.semantic[~sky] > 0)
        assert (cam.semantic == SEMANTIC_ID["road"]).mean() > 0.1
    assert any((f.camera.semantic == SEMANTIC_ID["lane_marking"]).any() for f in day_frames)


def test_daylight_radiance_is_high_dynamic_range(day_frames):
    maxima = []
    for frame in day_frames:
        rad = frame.camera.radiance
        assert rad.dtype == np.float32 and np.all(np.isfinite(rad)) and rad.min() >= 0
        assert rad.max() < 65504  # fits float16
        assert 0.01 < np.median(rad) < 1.0
        maxima.append(rad.max())
    # Glints of the sun on cars (glass, paint) reach above diffuse white (far above when the
    # geometry is right, test_glint_of_the_sun_in_glass; full-size frames catch more of them).
    assert max(maxima) > 1.0


def _glass_scene(sun_lidar: np.ndarray):
    """A road and a 2 x 2 m glass panel 10 m ahead, tilted like a windshield (normal up and
    back, 20 deg from vertical), lit by a clear-day sun from ``sun_lidar``."""
    from perception3d.sim import materials as mat
    from perception3d.sim.meshes import box
    from perception3d.sim.scene import road_frame
    from perception3d.sim.scenery import ground_quad
    from perception3d.sim.world import Surface
    from tests.sim.bare_scenes import bare_scene

    calib = camera_calibration(CameraConfig(image_scale=0.5))
    t = road_frame(calib)
    tilt = np.radians(20.0)
    rot = np.array([[np.cos(tilt), 0, np.sin(tilt)], [0, 1, 0], [-np.sin(tilt), 0, np.cos(tilt)]])
    panel = box((0.05, 2.0, 2.0), part="window").transformed(rot, (10.0, 0.0, 1.5))
    road = ground_quad(-300, 300, -300, 300, 0.0, "road")
    surfaces = (
        Surface(road.transformed(t.rotation, t.translation), {"road": mat.SIDEWALK}, {"road": 1}),
        Surface(panel.transformed(t.rotation, t.translation), {"window": mat.GLASS}, {"window": 9}),
    )
    return bare_scene(surfaces, sun_lidar, t), calib


@pytest.mark.parametrize("mirror, low, high", [(True, 10.0, 1e3), (False, 0.0, 1.0)])
def test_glint_of_the_sun_in_glass(mirror, low, high):
    """The sun seen in the mirror direction of a glass panel is far brighter than diffuse
    white (HDR); away from it the panel is dark glass."""
    from perception3d.sim.raycast import build_geometry

    cfg = CameraConfig(image_scale=0.5, sky_occlusion=False)
    # The view ray (about +x) mirrored by the panel (normal 20 deg above -x) goes back and up,
    # 40 deg above -x: a sun there glints; one 40 deg above +x does not.
    elevation = np.radians(40.0)
    sun = np.array([-np.cos(elevation) if mirror else np.cos(elevation), 0.0, np.sin(elevation)])
    scene, calib = _glass_scene(sun)
    frame = render_camera(build_geometry(scene), scene, camera_rig(calib, cfg.image_shape_hw), cfg)
    on_panel = frame.semantic == 9
    assert on_panel.sum() > 100
    assert low < frame.radiance[:, on_panel].max() < high


def test_night_is_dark_but_lit_by_lamps(day_frames, night_frame):
    day = day_frames[0]
    assert night_frame.scene.night and not day.scene.night
    assert np.median(night_frame.camera.radiance) < 1e-3 * np.median(day.camera.radiance)
    assert night_frame.camera.radiance.max() > 0.1  # lamps and headlights glow
    assert night_frame.exposure > 100 * day.exposure


def test_default_camera_model():
    assert srgb_oetf(np.array([0.0, 0.0031308, 1.0])).tolist() == pytest.approx(
        [0.0, 0.04045, 1.0], abs=1e-5
    )
    ramp = np.geomspace(1e-4, 100, 50, dtype=np.float32)
    rad = np.broadcast_to(ramp, (3, 4, 50)).copy()
    img, exposure = radiance_to_srgb8(rad, key=0.1)
    row = img[0, :, 0].astype(int)
    assert np.all(np.diff(row) >= 0) and row[0] == 0 and row[-1] == 255  # monotonic, clips
    img2, exposure2 = radiance_to_srgb8(rad * 4, key=0.1)
    assert exposure2 == pytest.approx(exposure / 4, rel=1e-4)  # auto exposure undoes a gain
    assert np.abs(img2.astype(int) - img).max() <= 1
