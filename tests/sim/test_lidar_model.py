"""The simulated LiDAR's response: detection, intensity, range noise, glass, the ego mask."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from perception3d.sim.config import LidarConfig
from perception3d.sim.lidar import LidarHits, lidar_beams, lidar_rays, respond
from perception3d.sim.lidar_ego import ego_blocked, ego_mask

# A plain response: power rho cos / r^2 for both thresholds, no saturation, no spread, no noise
BASE = LidarConfig(
    incidence_exponent=1.0,
    intensity_range_exponent=2.0,
    intensity_incidence_exponent=0.0,
    intensity_softness=0.4,
    saturation_share=0.0,
    range_bias_m=0.0,
    range_noise_m=0.0,
    dropout_probability=0.0,
    intensity_noise=0.0,
    intensity_speckle=0.0,
    reflectivity_spread=0.0,
    detection_threshold=1e-6,
    intensity_threshold=1e-5,
)


def _hits(range_m, reflectivity=0.3, cos=1.0, ring=0, instance=0) -> LidarHits:
    """Hits straight ahead along +x at the given ranges."""
    r = np.asarray(range_m, dtype=np.float64)
    n = len(r)
    full = lambda v, dt=np.float64: np.broadcast_to(np.asarray(v, dt), (n,)).copy()  # noqa: E731
    direction = np.tile([1.0, 0.0, 0.0], (n, 1))
    return LidarHits(
        np.arange(n),
        np.zeros((n, 3)),
        direction,
        r,
        full(cos),
        full(reflectivity),
        full(1, np.uint8),
        full(instance, np.int32),
        full(ring, np.int64),
        full(0.0),
    )


def test_intensity_is_the_reflectivity_until_the_power_is_too_weak():
    """KITTI's intensity is range compensated, and weak (far, dark, grazing) returns read 0."""
    hits = _hits(np.repeat([5.0, 20.0, 60.0, 150.0], 2000), reflectivity=0.3)
    keep, intensity, _ = respond(hits, BASE, 1, np.random.default_rng(0))
    by_range = intensity.reshape(4, -1)
    # power 0.3 / r^2: 1.2e-2 and 7.5e-4 are far above the 1e-5 threshold, 8.3e-5 above it
    # (soft threshold: logistic of width 0.4 in log power), 1.3e-5 about at it
    np.testing.assert_allclose(by_range[:2], 0.3)
    assert 0.98 < np.mean(by_range[2] == 0.3) < 1.0
    assert 0.2 < np.mean(by_range[3] == 0.0) < 0.6
    assert keep.reshape(4, -1)[:3].all()  # detection at 50 % at 1e-6: 150 m (1.3e-5) nearly all
    assert keep.mean() > 0.99
    # the same with grazing incidence (cos 0.05, exponent 1): 20 times less power
    grazing = replace(hits, cos_incidence=np.full(len(hits), 0.05))
    _, intensity, _ = respond(grazing, BASE, 1, np.random.default_rng(0))
    assert np.mean(intensity.reshape(4, -1)[2] == 0.0) > 0.5  # 4.2e-6 at 60 m


def test_detection_falls_with_power_and_dropout_is_uniform():
    hits = _hits(np.repeat([10.0, 400.0], 4000), reflectivity=0.3)
    cfg = replace(BASE, detection_threshold=0.3 / 400.0**2, dropout_probability=0.1)
    keep, _, _ = respond(hits, cfg, 1, np.random.default_rng(1))
    near, far = keep.reshape(2, -1).mean(axis=1)
    assert near == pytest.approx(0.9, abs=0.02)  # only the random drop-outs
    assert far == pytest.approx(0.45, abs=0.03)  # 50 % detection, then the drop-outs


def test_range_noise_and_per_laser_offsets():
    hits = _hits(np.full(20000, 30.0), ring=np.repeat(np.arange(4), 5000))
    cfg = replace(BASE, range_noise_m=0.03, range_bias_m=0.05)
    _, _, range_m = respond(hits, cfg, 4, np.random.default_rng(2))
    per_laser = range_m.reshape(4, -1)
    assert per_laser.std(axis=1) == pytest.approx([0.03] * 4, rel=0.05)
    offsets = per_laser.mean(axis=1) - 30.0
    assert np.ptp(offsets) > 0.01  # each laser carries its own offset
    _, _, again = respond(hits, cfg, 4, np.random.default_rng(2))
    np.testing.assert_array_equal(again, range_m)  # the generator fixes every number


def test_speckle_and_spread_widen_the_intensity_histogram():
    hits = _hits(np.full(4000, 10.0), reflectivity=0.3, instance=np.repeat(np.arange(1, 41), 100))
    cfg = replace(BASE, intensity_speckle=0.3, reflectivity_spread=0.3)
    _, intensity, _ = respond(hits, cfg, 1, np.random.default_rng(3))
    per_object = intensity.reshape(40, 100)
    assert np.log(per_object.mean(axis=1)).std() > 0.15  # objects differ
    assert np.median(np.log(per_object[:, :] / per_object.mean(axis=1, keepdims=True)).std(1)) > 0.2
    assert intensity.max() <= 1.0 and intensity.min() >= 0.0
    np.testing.assert_allclose(intensity * 100, np.round(intensity * 100), atol=1e-9)


def test_ego_mask_blocks_the_lowest_lasers_ahead_and_behind_only():
    mask = ego_mask()
    assert mask.shape == (64, 400) and not mask[:36].any()
    az = np.radians([0.0, 180.0, 90.0, -100.0, 100.0])
    lowest = ego_blocked(np.full(5, 63), az)
    assert lowest.tolist() == [True, True, False, False, False]
    assert not ego_blocked(np.full(5, 20), az).any()
    # rays of a stride-4 sensor use the mask of the KITTI lasers they are
    beams = lidar_beams(LidarConfig(beam_stride=4, azimuth_steps=400))
    assert beams.laser.tolist() == list(range(0, 64, 4))
    rays = lidar_rays(beams).reshape(16, 400, 6)
    blocked = ego_blocked(
        np.repeat(beams.laser, 400), np.arctan2(rays[..., 4], rays[..., 3]).ravel()
    )
    assert blocked.reshape(16, 400)[-1].any() and not blocked.reshape(16, 400)[:9].any()


def _panel_scene(transmission: float):
    """A wall 20 m ahead and a glass panel 10 m ahead (a 4 x 4 m patch around +x)."""
    from perception3d.sim import materials as mat
    from perception3d.sim.meshes import box
    from perception3d.sim.raycast import build_geometry
    from perception3d.sim.world import Surface, Transform
    from tests.sim.bare_scenes import bare_scene

    glass = replace(mat.GLASS, lidar_transmission=transmission)
    wall = box((0.2, 8.0, 8.0), part="wall").transformed(np.eye(3), (20.0, 0.0, 0.0))
    panel = box((0.02, 4.0, 4.0), part="window").transformed(np.eye(3), (10.0, 0.0, 0.0))
    surfaces = (
        Surface(wall, {"wall": mat.CURB}, {"wall": 5}),
        Surface(panel, {"window": glass}, {"window": 9}),
    )
    identity = Transform(np.eye(3), np.zeros(3))
    return build_geometry(bare_scene(surfaces, np.array([0.0, 0.0, 1.0]), identity))


@pytest.mark.parametrize(("transmission", "through"), [(0.0, 0.0), (1.0, 1.0), (0.6, 0.36)])
def test_glass_passes_pulses_with_its_transmission(transmission, through):
    pytest.importorskip("open3d")
    from perception3d.sim.lidar import cast_sweep

    cfg = LidarConfig(azimuth_steps=4000, glass_passes=2)  # front and back face of the pane
    beams = lidar_beams(cfg)
    hits = cast_sweep(_panel_scene(transmission), cfg, beams, np.random.default_rng(4))
    ahead = np.abs(np.arctan2(hits.direction[:, 1], hits.direction[:, 0])) < np.radians(8)
    ahead &= np.abs(hits.direction[:, 2]) < 0.1
    behind = hits.range_m[ahead] > 15.0
    assert ahead.sum() > 500
    assert behind.mean() == pytest.approx(through, abs=0.05)
    assert (hits.semantic[ahead][behind] == 5).all()  # the wall behind, through both faces


def test_strong_near_returns_read_zero_as_kittis_do():
    hits = _hits(np.repeat([2.5, 25.0], 4000), reflectivity=0.5)
    cfg = replace(BASE, saturation_threshold=0.01, saturation_share=0.8)
    _, intensity, _ = respond(hits, cfg, 1, np.random.default_rng(5))
    near, far = (intensity.reshape(2, -1) == 0.0).mean(axis=1)
    assert near == pytest.approx(0.8, abs=0.03)  # power 0.08: far above the threshold
    assert far < 0.01  # power 8e-4
    # a steeper range exponent for the reading (k = 3): the far returns lose their reading
    steep = replace(BASE, intensity_range_exponent=3.0, intensity_threshold=0.5 / 25.0**3)
    _, intensity, _ = respond(hits, steep, 1, np.random.default_rng(5))
    assert (intensity.reshape(2, -1)[1] == 0.0).mean() == pytest.approx(0.5, abs=0.03)


def test_unreadable_returns_read_zero_at_any_power():
    hits = _hits(np.repeat([5.0, 20.0], 4000), reflectivity=0.3)
    hits = replace(hits, unread=np.full(len(hits), 0.4))
    keep, intensity, _ = respond(hits, BASE, 1, np.random.default_rng(6))
    assert keep.all()  # detected: only the reading is lost
    assert (intensity.reshape(2, -1) == 0.0).mean(axis=1) == pytest.approx([0.4, 0.4], abs=0.03)


def test_a_return_not_read_reports_exactly_zero_despite_the_reading_noise():
    """KITTI reports 0 (14.7 % of the unlabelled sweeps' returns) or a reading of about 0.03 and
    more (0.01-0.02: 0.07 %): its 0 is a flag, never a noisy low reading."""
    cfg = replace(BASE, intensity_noise=0.02)
    hits = _hits(np.repeat([5.0, 20.0], 4000), reflectivity=0.3)
    hits = replace(hits, unread=np.full(len(hits), 0.5))
    _, intensity, _ = respond(hits, cfg, 1, np.random.default_rng(8))
    assert np.mean(intensity == 0.0) == pytest.approx(0.5, abs=0.03)  # the unread half, exactly
    assert not np.any((intensity > 0.0) & (intensity < cfg.intensity_floor))
    read = intensity[intensity > 0]
    assert read.mean() == pytest.approx(0.3, abs=0.005) and read.std() > 0.015  # noise kept


def test_readings_under_the_sensors_lowest_level_report_zero():
    """A dark surface (glass's own echo, 0.003) read at short range reports 0 or, when the
    reading noise lifts it over the floor, at least 0.03: never KITTI-impossible 0.01-0.02."""
    dark = _hits(np.full(4000, 5.0), reflectivity=0.003)
    cfg = replace(BASE, detection_threshold=1e-6, intensity_threshold=1e-6)
    keep, intensity, _ = respond(dark, cfg, 1, np.random.default_rng(9))
    assert keep.all() and np.all(intensity == 0.0)  # detected (power 1.2e-4), under 7 / 256
    # with the fitted reading noise (0.02) it reads 0 unless the noise lifts it over the floor:
    # P(0.003 + 0.02 N < 7 / 256) = Phi(1.217) = 0.888, and never 0.01-0.02
    noisy = replace(cfg, intensity_noise=0.02)
    _, intensity, _ = respond(dark, noisy, 1, np.random.default_rng(9))
    assert np.mean(intensity == 0.0) == pytest.approx(0.888, abs=0.02)
    assert not np.any((intensity > 0.0) & (intensity < 0.025))


def test_unread_share_scaled_by_incidence():
    """With ``unread_incidence_exponent`` e, a material's unread share u applies as
    u (1 - cos)^e: none at normal incidence, u / 2 at cos 0.5 (e = 1), u at grazing; e = 0
    keeps u at every incidence."""
    cfg = replace(BASE, unread_incidence_exponent=1.0, intensity_threshold=1e-9)
    shares = []
    for cos in (1.0, 0.5, 0.02):
        hits = replace(_hits(np.full(4000, 5.0), cos=cos), unread=np.full(4000, 0.6))
        keep, intensity, _ = respond(hits, cfg, 1, np.random.default_rng(10))
        assert keep.all()
        shares.append(np.mean(intensity == 0.0))
    assert shares == pytest.approx([0.0, 0.3, 0.588], abs=0.03)  # 0.6 x (1 - 0.02) at 0.02
    flat = replace(cfg, unread_incidence_exponent=0.0)
    hits = replace(_hits(np.full(4000, 5.0), cos=1.0), unread=np.full(4000, 0.6))
    _, intensity, _ = respond(hits, flat, 1, np.random.default_rng(10))
    assert np.mean(intensity == 0.0) == pytest.approx(0.6, abs=0.03)
