"""Scenes and degraded captures: seeded, physically consistent, in the documented ranges."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from perception3d.isp import conditions as cond
from perception3d.isp.color import luminance
from perception3d.isp.data import build_pool, random_crops
from perception3d.isp.scenes import ground_plane_depth, load_radiance_frame, procedural_scene


def _scene(seed=0, h=96, w=320):
    rad, depth = procedural_scene(h, w, np.random.default_rng(seed), night=False)
    return torch.from_numpy(rad)[None], torch.from_numpy(depth)[None, None]


def test_procedural_scene_is_seeded_and_has_sky_and_road():
    a, da = procedural_scene(60, 200, np.random.default_rng(3))
    b, db = procedural_scene(60, 200, np.random.default_rng(3))
    assert np.array_equal(a, b) and np.array_equal(da, db)
    assert a.shape == (3, 60, 200) and a.dtype == np.float32 and a.min() >= 0
    assert np.isinf(da[0]).any() and np.isfinite(da[-1]).all()


def test_ground_plane_depth_falls_towards_the_bottom():
    d = ground_plane_depth(100, 10, horizon=40.0)
    assert np.isinf(d[:41]).all()
    assert np.all(np.diff(d[41:, 0]) < 0)


def test_lowlight_capture_is_high_iso_and_exposed_to_target():
    rad, _ = _scene()
    s = cond.make_raw_sample(rad, np.random.default_rng(0), "lowlight")
    assert 1600 <= float(s.meta.iso[0]) <= 12800
    assert 0.03 < float(s.raw.mean()) < 0.25
    assert torch.allclose(s.reference_linear, rad * float(s.meta.linear_scale[0]))


def test_hdr_capture_clips_a_few_percent_and_keeps_the_hdr_reference():
    rad, _ = _scene(1)
    s = cond.make_hdr_sample(rad, np.random.default_rng(0))
    clipped = float((s.input_srgb.amax(1) >= 1.0).float().mean())
    assert 0.002 < clipped < 0.1
    assert float(s.reference_linear.max()) > 1.5
    assert torch.equal(s.input_srgb, torch.round(s.input_srgb * 255) / 255)  # 8-bit


def test_haze_capture_matches_the_scattering_model():
    rad, depth = _scene(2)
    s = cond.make_haze_sample(rad, depth, np.random.default_rng(0))
    t = s.extras["transmission"]
    finite = torch.isfinite(depth)
    beta = -torch.log(t[finite]) / depth[finite]
    assert 50 <= math.log(20.0) / float(beta.mean()) <= 150  # MOR in the documented range
    assert float(beta.std()) < 1e-4
    # contrast is lost: the hazy image's luminance spread is below the clean one's
    from perception3d.isp.color import srgb_to_linear

    hazy = luminance(srgb_to_linear(s.input_srgb))
    clean = luminance(s.reference_linear.clamp(0, 1))
    assert float(hazy.std()) < float(clean.std())


def test_captures_are_deterministic():
    rad, depth = _scene(4)
    for make in (
        lambda r: cond.make_raw_sample(rad, r, "lowlight").raw,
        lambda r: cond.make_hdr_sample(rad, r).input_srgb,
        lambda r: cond.make_haze_sample(rad, depth, r).input_srgb,
    ):
        assert torch.equal(make(np.random.default_rng(9)), make(np.random.default_rng(9)))


def test_pool_reads_synthetic_frames_and_crops_keep_bayer_phase(tmp_path):
    root = tmp_path / "training"
    (root / "radiance_2").mkdir(parents=True)
    (root / "depth_2").mkdir()
    np.save(root / "radiance_2" / "000003.npy", np.ones((3, 40, 50), np.float16))
    np.save(root / "depth_2" / "000003.npy", np.full((40, 50), np.inf, np.float16))
    (tmp_path / "ImageSets").mkdir()
    (tmp_path / "ImageSets" / "val.txt").write_text("000003\n")
    pool = build_pool(tmp_path, "val", 5)
    assert [s.name for s in pool] == ["synth/000003"]
    crops = random_crops(pool, 3, 16, np.random.default_rng(0))
    assert all(c[0].shape == (1, 3, 16, 16) and c[1].shape == (1, 1, 16, 16) for c in crops)
    with pytest.raises(FileNotFoundError, match="radiance_2"):
        load_radiance_frame(tmp_path, "000004")


def test_strip_and_highlight_crops():
    """Crops taller than the frame are full-height strips; highlight crops contain one of the
    frame's brightest pixels; exposing a crop as its whole frame clips the frame's share."""
    rng = np.random.default_rng(0)
    rad = rng.uniform(0.05, 0.15, (3, 40, 200)).astype(np.float32)
    rad[:, 10:30, 175:200] = 50.0  # a lamp: 500 of 8000 pixels
    from perception3d.isp.data import Scene

    scene = Scene("lamp", rad, np.full((40, 200), 30.0, np.float32))
    strips = random_crops([scene], 20, 32, rng, height=375, highlight_fraction=1.0)
    assert all(c.radiance.shape == (1, 3, 40, 32) for c in strips)
    assert all(float(c.radiance.max()) == 50.0 for c in strips)
    plain = random_crops([scene], 20, 32, rng, height=375)
    assert sum(float(c.radiance.max()) == 50.0 for c in plain) < 10
    # the dim crop exposed alone clips a few % of itself; exposed as its frame, nothing
    dim = torch.from_numpy(rad[:, :, :100].copy())[None]
    ref = torch.from_numpy(rad.max(0).ravel())
    alone = cond.make_hdr_sample(dim, np.random.default_rng(1))
    framed = cond.make_hdr_sample(dim, np.random.default_rng(1), exposure_reference=ref)
    assert float((alone.input_srgb.amax(1) >= 1.0).float().mean()) > 0.005
    assert float((framed.input_srgb.amax(1) >= 1.0).float().mean()) == 0.0
