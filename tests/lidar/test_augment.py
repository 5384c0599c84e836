"""The physical augmentation set from YAML, in order, deterministic; what the global transforms
do to the spherical form (rotation commutes with it, scaling takes points off the beams)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from perception3d.data.sample import apply_transforms
from perception3d.errors import ConfigError
from perception3d.geometry.boxes import rotate_points_z
from perception3d.geometry.spherical import RangeImage, to_spherical
from perception3d.lidar.augment import (
    PhysicalAugmentConfig,
    ScannerConfig,
    build_scanner,
    build_transforms,
    load_augment_config,
)
from perception3d.lidar.scanner import KITTI_HDL64E_ELEVATIONS_DEG

CONFIGS = Path(__file__).parents[2] / "configs" / "augment"


@pytest.mark.parametrize("name", ["physical", "naive_paste", "none"])
def test_shipped_configs_load(name):
    config = load_augment_config(CONFIGS / f"{name}.yaml")
    assert isinstance(config, PhysicalAugmentConfig)
    assert (config.paste.database is None) == (name == "none")
    assert config.paste.physical == (name != "naive_paste")


def test_unknown_key_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("weather: {prob: 0.1, fgo: {}}\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['fgo'\]"):
        load_augment_config(tmp_path / "a.yaml")


def test_full_set_in_order_deterministic(sweep_004139, real_database):
    config = load_augment_config(
        CONFIGS / "physical.yaml",
        ["paste.max_occluded=2", "weather.prob=1.0", "intensity.prob=1.0",
         "beam_downsample.prob=1.0", "sector_dropout.prob=1.0", "object_dropout.prob=1.0"],
    )  # fmt: skip
    transforms = build_transforms(config, database=real_database)
    assert [type(t).__name__ for t in transforms] == [
        "PasteObjects", "IntensityPerturbation", "ObjectPointDropout", "Weather",
        "BeamDownsample", "SectorDropout",
    ]  # fmt: skip
    a = apply_transforms(sweep_004139, transforms, np.random.default_rng(0))
    b = apply_transforms(sweep_004139, transforms, np.random.default_rng(0))
    assert a.points.tobytes() == b.points.tobytes() and a.names.tolist() == b.names.tolist()
    for key in ("pasted_mask", "weather_clutter_mask"):
        assert a.extras[key].shape == (len(a.points),)
    assert a.extras["pasted_mask"].any() and len(a.boxes_lidar) > len(sweep_004139.boxes_lidar)


def test_custom_scanner():
    scanner = build_scanner(ScannerConfig(model="custom", elevations_deg=(2.0, 0.0, -2.0)))
    assert scanner.num_beams == 3
    with pytest.raises(ValueError, match="elevations_deg is required"):
        ScannerConfig(model="custom")


@pytest.mark.parametrize("columns", [1, 37, 1024])
def test_rotation_by_whole_columns_rolls_the_range_image(sweep_004139, columns):
    width = 2048
    points = sweep_004139.points
    rotated = rotate_points_z(points.astype(np.float64), columns * 2 * np.pi / width)
    beams = np.radians(KITTI_HDL64E_ELEVATIONS_DEG)
    before = RangeImage.from_points(points.astype(np.float64), beams, width)
    after = RangeImage.from_points(rotated, beams, width)
    # exact: azimuth + k * 2 pi / W lands in column col - k (float64; 0 pixels differ here)
    np.testing.assert_array_equal(after.point_index, np.roll(before.point_index, -columns, 1))
    np.testing.assert_array_equal(after.point_row, before.point_row)


def test_rotation_commutes_with_spherical_projection(sweep_004139):
    angle = 0.7345
    points = sweep_004139.points.astype(np.float64)
    sph = to_spherical(points, np.float64)
    sph_rot = to_spherical(rotate_points_z(points, angle), np.float64)
    np.testing.assert_allclose(sph_rot[:, [0, 2, 3]], sph[:, [0, 2, 3]], atol=1e-9)
    shift = (sph_rot[:, 1] - sph[:, 1] - angle + np.pi) % (2 * np.pi) - np.pi
    assert np.abs(shift).max() < 1e-9


def test_scaling_takes_points_off_the_beams(sweep_004139, scanner):
    def off_beam_share(pts):
        rows = scanner.rows(pts)
        d = np.hypot(pts[:, 0], pts[:, 1])
        return np.mean(np.abs(pts[:, 2] - scanner.beam_z(rows, d)) > 0.05 * d * np.pi / 180)

    points = sweep_004139.points.astype(np.float64)
    assert off_beam_share(points) < 0.01
    assert off_beam_share(rotate_points_z(points, 1.0)) < 0.01  # rotation keeps them on
    scaled = points.copy()
    scaled[:, :3] *= 1.05  # the laser heads move with the points: 0.2 m -> 0.21 m
    assert off_beam_share(scaled) > 0.1
