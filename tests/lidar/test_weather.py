"""Fog (Hahner et al. 2021) and rain/snow (LISA-style): returns beyond the predicted range are
gone, clutter is marked, and the predictions match an independent numerical integration."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize

from perception3d.data.sample import LidarSample
from perception3d.lidar.intensity import DETECTION_FLOOR
from perception3d.lidar.precipitation import (
    PrecipitationConfig,
    add_precipitation,
    extinction_per_m,
    size_distribution,
)
from perception3d.lidar.weather import (
    SPEED_OF_LIGHT,
    FogConfig,
    Weather,
    WeatherConfig,
    add_fog,
    fog_max_range,
)
from tests.lidar.synthetic import raycast


def _reference_max_range(rho, mor):
    """fog_max_range re-derived with scipy quad/brentq from the formulas of Hahner et al."""
    cfg, alpha = FogConfig(), np.log(20) / mor
    beta, pulse = cfg.beta_times_mor / mor, SPEED_OF_LIGHT * cfg.half_power_width_ns * 1e-9
    r1, r2 = cfg.overlap_m

    def fog(r):
        return np.clip((r - r1) / (r2 - r1), 0, 1) * np.exp(-2 * alpha * r) / r**2

    def echo(big_r):  # surface far behind: the whole pulse sees fog
        lo = max(big_r - pulse, r1)
        weight = lambda r: np.sin(np.pi * (big_r - r) / pulse) ** 2 * fog(r)  # noqa: E731
        return integrate.quad(weight, lo, big_r, points=[r2], limit=200)[0] if big_r > lo else 0.0

    peak = -optimize.minimize_scalar(lambda x: -echo(x), bounds=(1.0, 12.0), method="bounded").fun
    gain = beta * np.pi / cfg.gamma * 2 / SPEED_OF_LIGHT * peak
    cross = optimize.brentq(lambda r: r * r * gain - np.exp(-2 * alpha * r), 12.0, 2000.0)
    floor = optimize.brentq(
        lambda r: rho * np.exp(-2 * alpha * r) / r**2 - DETECTION_FLOOR, 1, 2000
    )
    return min(cross, floor)


@pytest.mark.parametrize(("rho", "mor"), [(0.3, 50.0), (1.0, 50.0), (0.3, 20.0), (0.8, 150.0)])
def test_fog_max_range_matches_independent_integration(rho, mor):
    assert fog_max_range(rho, np.log(20) / mor) == pytest.approx(
        _reference_max_range(rho, mor), abs=0.15
    )


@pytest.mark.parametrize("mor", [30.0, 50.0, 100.0])
def test_fog_removes_returns_beyond_mor_real_sweep(sweep_004139, scanner, mor):
    alpha = np.log(20) / mor
    pts = sweep_004139.points
    tagged = sweep_004139.with_(extras={"source_index": np.arange(len(pts))})  # follows points
    out = add_fog(tagged, scanner, alpha, FogConfig(), np.random.default_rng(0))
    clutter = out.extras["weather_clutter_mask"]
    assert np.linalg.norm(out.points[~clutter, :3], axis=1).max() < mor  # none beyond the MOR
    # As the model predicts for returns of reflectivity 0.3: all before, none after its range.
    survived = np.zeros(len(pts), bool)
    source = out.extras["source_index"][~clutter]
    survived[source] = True
    range_in = np.linalg.norm(pts[:, :3], axis=1)
    limit = fog_max_range(0.3, alpha)
    of_03 = np.isclose(pts[:, 3], 0.3)
    assert survived[of_03 & (range_in < limit - 0.05)].all()
    assert not survived[of_03 & (range_in > limit + 0.05)].any()
    assert (of_03 & (range_in > limit + 0.05)).sum() > 100
    # survivors keep their position and get the attenuated intensity i exp(-2 alpha r)
    np.testing.assert_array_equal(out.points[~clutter, :3], pts[source, :3])
    expected = np.round(pts[source, 3] * np.exp(-2 * alpha * range_in[source]), 2)
    np.testing.assert_allclose(out.points[~clutter, 3], expected, atol=1e-6)


def test_dense_fog_clutter_is_near_the_sensor_and_on_beams(sweep_004139, scanner):
    out = add_fog(sweep_004139, scanner, np.log(20) / 30.0, FogConfig(), np.random.default_rng(1))
    fog_pts = out.points[out.extras["weather_clutter_mask"]].astype(np.float64)
    assert len(fog_pts) > 1000 and out.extras["weather"]["mor_m"] == pytest.approx(30.0)
    assert np.linalg.norm(fog_pts[:, :3], axis=1).max() < 12.0  # peak ~1.6 m + noise
    rows = scanner.rows(fog_pts)
    d = np.hypot(fog_pts[:, 0], fog_pts[:, 1])
    assert np.percentile(np.abs(fog_pts[:, 2] - scanner.beam_z(rows, d)), 99) < 0.01


def test_fog_on_synthetic_sweep_cuts_at_the_predicted_range(scanner):
    boxes = np.array([[r, 0.0, -0.5, 0.5, 30.0, 4.0, 0.0] for r in np.arange(8.0, 70.0, 6.0)])
    walls = raycast(scanner, boxes[:1], box_intensity=0.6, ground=False)
    hard_ranges = []
    for box in boxes:  # one wall at a time, so each is seen
        sweep = raycast(scanner, box[None], box_intensity=0.6, ground=False)
        sample = LidarSample("walls", sweep, np.zeros((0, 7)), np.array([], dtype=object))
        out = add_fog(sample, scanner, np.log(20) / 60.0, FogConfig(), np.random.default_rng(2))
        hard = out.points[~out.extras["weather_clutter_mask"]]
        hard_ranges.append((box[0], len(hard) / len(sweep)))
    limit = fog_max_range(0.6, np.log(20) / 60.0)
    for wall_x, kept in hard_ranges:
        if wall_x < limit - 2:
            assert kept == 1.0, (wall_x, kept)
        elif wall_x > limit + 3:  # the wall spans a few metres of range
            assert kept == 0.0, (wall_x, kept)
    assert len(walls) > 0


def test_rain_extinction_and_size_distribution_hand_values():
    n0, lam = size_distribution("rain", 25.0)  # Marshall-Palmer
    assert lam == pytest.approx(4.1 * 25.0**-0.21)
    # Q_ext = 2: alpha = pi N0 / Lambda^3, in 1/m with D in mm
    assert extinction_per_m(n0, lam) == pytest.approx(np.pi * 8000 / lam**3 * 1e-6)
    n0s, lams = size_distribution("snow", 1.0)  # Gunn-Marshall
    assert (n0s, lams) == (3800.0, 2.55)
    with pytest.raises(ValueError, match="kind must be 'rain' or 'snow'"):
        size_distribution("hail", 1.0)


@pytest.mark.parametrize("kind", ["rain", "snow"])
def test_precipitation_clutter_grows_with_rate_and_stays_near(sweep_004139, scanner, kind):
    counts = []
    for rate in (0.5, 2.0, 8.0):
        out = add_precipitation(sweep_004139, scanner, kind, rate, PrecipitationConfig(),
                                np.random.default_rng(3))  # fmt: skip
        clutter = out.extras["weather_clutter_mask"]
        counts.append(int(clutter.sum()))
        ranges = np.linalg.norm(out.points[clutter, :3], axis=1)
        # 1.5 m from the laser head (bistatic blind zone), heads 0.12-0.21 m above the origin
        assert ranges.min() >= 1.5 - 0.21 and ranges.max() < 15.0  # power falls as 1/r^4
        hard = out.points[~clutter]
        assert len(hard) <= len(sweep_004139.points)
        assert hard[:, 3].sum() < sweep_004139.points[:, 3].sum()  # attenuated
    assert counts[0] < counts[1] < counts[2]


def test_rain_clutter_also_on_rays_without_return(sweep_004139, scanner):
    rows = scanner.rows(sweep_004139.points)
    band = (rows >= 10) & (rows <= 20)  # these rays now return nothing (e.g. a dark facade)
    sample = sweep_004139.with_(points=sweep_004139.points[~band])
    out = add_precipitation(sample, scanner, "rain", 10.0, PrecipitationConfig(),
                            np.random.default_rng(4))  # fmt: skip
    clutter = out.points[out.extras["weather_clutter_mask"]]
    clutter_rows = scanner.rows(clutter)
    assert np.sum((clutter_rows >= 10) & (clutter_rows <= 20)) > 50


def test_clutter_stays_where_the_crop_has_rays(crop_000008, scanner):
    rows, cols, _ = scanner.cells(crop_000008.points)
    top, bottom = np.full(scanner.width, 99), np.full(scanner.width, -1)
    np.minimum.at(top, cols, rows)
    np.maximum.at(bottom, cols, rows)
    out = add_precipitation(crop_000008, scanner, "snow", 2.0, PrecipitationConfig(),
                            np.random.default_rng(5))  # fmt: skip
    c_rows, c_cols, _ = scanner.cells(out.points[out.extras["weather_clutter_mask"]])
    assert len(c_rows) > 20
    assert np.all((top[c_cols] <= c_rows) & (c_rows <= bottom[c_cols]))


def test_weather_transform_is_seeded(sweep_004139, scanner):
    transform = Weather(scanner, WeatherConfig(prob=1.0))
    kinds = set()
    for seed in range(6):
        a = transform(sweep_004139, np.random.default_rng(seed))
        b = transform(sweep_004139, np.random.default_rng(seed))
        assert a.points.tobytes() == b.points.tobytes()
        assert len(a.extras["weather_clutter_mask"]) == len(a.points)
        kinds.add(a.extras["weather"]["kind"])
    assert kinds == {"fog", "rain", "snow"}
    off = Weather(scanner, WeatherConfig(prob=0.0))
    assert off(sweep_004139, np.random.default_rng(0)) is sweep_004139


def test_config_errors():
    with pytest.raises(ValueError, match="alpha_range_per_m"):
        FogConfig(alpha_range_per_m=(0.0, 0.1))
    with pytest.raises(ValueError, match=r"weather\.weights"):
        WeatherConfig(weights={"hail": 1.0})
    with pytest.raises(ValueError, match="rain_rate_mm_h"):
        PrecipitationConfig(rain_rate_mm_h=(5.0, 1.0))


def test_fog_on_a_generated_synthetic_sweep(generated_sweep, scanner):
    out = add_fog(
        generated_sweep, scanner, np.log(20) / 40.0, FogConfig(), np.random.default_rng(6)
    )
    clutter = out.extras["weather_clutter_mask"]
    assert np.linalg.norm(out.points[~clutter, :3], axis=1).max() < 40.0
    assert clutter.sum() > 0 and (~clutter).sum() < len(generated_sweep.points)
