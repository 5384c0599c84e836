"""Beam downsampling keeps whole beams, sector dropout empties sectors, intensity changes follow
the range/incidence model (detectability and noise)."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.lidar.beam_aug import (
    BeamDownsample,
    BeamDownsampleConfig,
    IntensityConfig,
    IntensityPerturbation,
    SectorDropout,
    SectorDropoutConfig,
    downsample_beams,
    drop_sectors,
    perturb_intensity,
)
from perception3d.lidar.intensity import DETECTION_FLOOR, apparent_reflectivity


@pytest.mark.parametrize(("keep_every", "beams"), [(2, 32), (4, 16)])
def test_downsampling_keeps_whole_beams(sweep_004139, scanner, keep_every, beams):
    out = downsample_beams(sweep_004139, scanner, keep_every, phase=1)
    rows_in = scanner.rows(sweep_004139.points)
    rows_out = scanner.rows(out.points)
    assert len(np.unique(rows_out)) == beams
    assert np.all(rows_out % keep_every == 1)
    np.testing.assert_array_equal(out.points, sweep_004139.points[rows_in % keep_every == 1])
    assert 0.6 / keep_every < len(out.points) / len(sweep_004139.points) < 1.4 / keep_every


def test_sector_dropout_empties_exactly_the_sectors(sweep_004139):
    sectors = np.array([[0.0, np.radians(20.0)], [np.pi, np.radians(10.0)]])
    out = drop_sectors(sweep_004139, sectors)
    az = np.degrees(np.arctan2(sweep_004139.points[:, 1], sweep_004139.points[:, 0]))
    inside = (np.abs(az) <= 10.0) | (np.abs(az) >= 175.0)
    np.testing.assert_array_equal(out.points, sweep_004139.points[~inside])
    assert inside.sum() > 1000


def test_identity_perturbation_changes_nothing(sweep_004139, rng):
    ones = np.ones(len(sweep_004139.boxes_lidar))
    out = perturb_intensity(sweep_004139, 1.0, ones, 0.0, rng)
    np.testing.assert_array_equal(out.points, sweep_004139.points)


def test_darker_surfaces_drop_out_where_the_model_says(sweep_004139, rng):
    factor = 0.05
    ones = np.ones(len(sweep_004139.boxes_lidar))
    out = perturb_intensity(sweep_004139, factor, ones, 0.0, rng)
    pts = sweep_004139.points
    range_m = np.linalg.norm(pts[:, :3].astype(np.float64), axis=1)
    # Hand-computed: a return survives iff rho * factor / r^2 >= floor.
    rho = apparent_reflectivity(pts[:, 3], range_m)
    survives = rho * factor / range_m**2 >= DETECTION_FLOOR
    np.testing.assert_array_equal(out.points[:, :3], pts[survives, :3])
    far, near = range_m > 40, range_m < 10
    assert survives[near].mean() > 0.9 and survives[far].mean() < 0.5  # dark ones go first


def test_noise_grows_with_range(sweep_004139):
    ones = np.ones(len(sweep_004139.boxes_lidar))
    out = perturb_intensity(sweep_004139, 1.0, ones, 0.3, np.random.default_rng(0))
    pts = sweep_004139.points
    range_m = np.linalg.norm(pts[:, :3], axis=1)
    bright = pts[:, 3] >= 0.2  # 0.01 quantization matters little there
    change = np.abs(out.points[:, 3] - pts[:, 3]) / np.maximum(pts[:, 3], 1e-6)
    assert np.median(change[bright & (range_m > 40)]) > 3 * np.median(
        change[bright & (range_m < 10)]
    )


def test_object_factors_act_inside_their_boxes_only(sweep_004139, rng):
    from perception3d.geometry.boxes import points_in_boxes

    factors = np.full(len(sweep_004139.boxes_lidar), 2.0)
    out = perturb_intensity(sweep_004139, 1.0, factors, 0.0, rng)
    inside = points_in_boxes(sweep_004139.points, sweep_004139.boxes_lidar) >= 0
    before, after = sweep_004139.points[:, 3], out.points[:, 3]
    np.testing.assert_array_equal(after[~inside], before[~inside])
    np.testing.assert_allclose(after[inside], np.clip(np.round(2 * before[inside], 2), 0, 1))


def test_transforms_are_seeded_and_honour_prob(sweep_004139, scanner):
    for transform in (
        BeamDownsample(scanner, BeamDownsampleConfig(prob=1.0)),
        SectorDropout(SectorDropoutConfig(prob=1.0)),
        IntensityPerturbation(IntensityConfig(prob=1.0)),
    ):
        a = transform(sweep_004139, np.random.default_rng(1))
        b = transform(sweep_004139, np.random.default_rng(1))
        assert a.points.tobytes() == b.points.tobytes()
        assert a.points.tobytes() != sweep_004139.points.tobytes()
    off = SectorDropout(SectorDropoutConfig(prob=0.0))
    assert off(sweep_004139, np.random.default_rng(1)) is sweep_004139


def test_config_errors():
    with pytest.raises(ValueError, match=r"beam_downsample.prob must be in \[0, 1\]"):
        BeamDownsampleConfig(prob=1.5)
    with pytest.raises(ValueError, match="beams_choices must be positive"):
        BeamDownsampleConfig(beams_choices=(0,))
    with pytest.raises(ValueError, match="max_sectors >= 1"):
        SectorDropoutConfig(width_deg=(5.0, 1.0))
    with pytest.raises(ValueError, match="keep_every"):
        downsample_beams(None, None, keep_every=2, phase=2)
