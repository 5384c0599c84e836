"""The report's statistics on synthetic geometry with known answers and on the tiny real pair."""

import numpy as np
import pytest

from perception3d.experiments.sim2real import raydrop
from perception3d.experiments.sim2real.compare import compare_histograms, compare_objects
from perception3d.experiments.sim2real.divergence import histogram
from perception3d.experiments.sim2real.fp_kinds import classify_box
from perception3d.experiments.sim2real.ground import curve_ahead, fit_ground, height_above
from perception3d.experiments.sim2real.noise import planar_range_errors, robust_std
from perception3d.experiments.sim2real.objects import (
    INTENSITY_EDGES,
    coarse_intensity,
    normalized_count,
    object_points,
)
from perception3d.experiments.sim2real.stats import sweep_statistics
from perception3d.experiments.sim2real.sweeps import RANGE_IMAGE_WIDTH, load_sweeps
from perception3d.lidar.scanner import ScannerModel

GROUND = np.array([0.0, 0.0, -1.73])


def _plane(rng, n, x, y, z):
    """n points uniform on a box given per axis as (lo, hi) or a constant."""
    cols = [rng.uniform(*v, n) if isinstance(v, tuple) else np.full(n, v) for v in (x, y, z)]
    return np.column_stack([*cols, np.full(n, 0.3)])


def test_ground_fit_ignores_what_stands_on_it(rng):
    ground = _plane(rng, 5000, (3, 40), (-20, 20), 0.0)
    ground[:, 2] = -1.6 - 0.03 * ground[:, 1]  # rolled: lower on the left (+y)
    cars = _plane(rng, 3000, (10, 14), (-2, 2), (-1.3, 0.0))  # car bodies over two cells
    fit = fit_ground(np.concatenate([ground, cars]))
    assert fit.height_m == pytest.approx(1.6 / np.sqrt(1 + 0.03**2), abs=1e-6)
    assert fit.roll_deg == pytest.approx(np.degrees(np.arctan(-0.03)), abs=1e-6)
    assert fit.pitch_deg == pytest.approx(0.0, abs=1e-6)
    assert np.abs(height_above(ground, fit)).max() < 1e-9


def test_curve_ahead_finds_a_crest_under_cars_and_walls_and_not_on_a_plane(rng):
    road = _plane(rng, 20000, (-20, 45), (-15, 15), 0.0)
    x = road[:, 0]
    clutter = np.concatenate([
        _plane(rng, 3000, (30, 34), (-2, 2), (-1.2, 0.2)),  # a car ahead (over the crest)
        _plane(rng, 3000, (5, 45), (9, 9.3), (-1.5, 4.0)),  # a wall beside the road
    ])  # fmt: skip
    for k in (-3e-4, 0.0, 2e-4):
        road[:, 2] = -1.73 + 0.01 * x + k * x * x  # climbing 0.6 degrees, then bending
        got = curve_ahead(np.concatenate([road, clutter]))
        assert got == pytest.approx(k, abs=1e-5)
    # the road ahead hidden beyond 25 m (a truck, a wall): no answer rather than a guess
    near = road[road[:, 0] < 25]
    assert np.isnan(curve_ahead(near))


def test_holes_need_the_same_surface_on_both_sides():
    r = np.array([[10.0, 10.0, 0.0, 10.2, 0, 0, 0, 30.0, 0.0, 10.0]])
    holes, hole_range = raydrop.find_holes(r, r > 0)
    assert holes[0].nonzero()[0].tolist() == [2]  # cols 4-6: gap of 3; col 8: 30 m vs 10 m
    assert hole_range[0, 2] == pytest.approx(10.1)


def test_incidence_of_a_wall_and_the_ground(kitti_root):
    scanner = ScannerModel.kitti_hdl64e(RANGE_IMAGE_WIDTH)
    rows, cols = np.meshgrid(np.arange(30, 50), np.arange(980, 1020), indexing="ij")
    rows, cols = rows.ravel(), cols.ravel()
    # every ray meets the ground plane z = -1.73: horizontal distance d = (-1.73 - h) / tan
    d = (-1.73 - scanner.head_height_m[rows]) / scanner.tan_elevation[rows]
    pts = np.column_stack([scanner.ray_points(rows, cols, d), np.zeros(len(d))])
    img = raydrop.range_image(pts, rows, RANGE_IMAGE_WIDTH)
    inc = raydrop.incidence_deg(img, pts)
    ray = pts[:, :3] / np.linalg.norm(pts[:, :3], axis=1, keepdims=True)
    expected = np.degrees(np.arccos(np.abs(ray[:, 2])))  # ground normal is +z
    got = inc[rows, cols]
    assert np.isfinite(got).all()
    assert np.abs(got - expected).max() < 0.5  # heads are not at the origin: rays differ a bit


def test_planar_range_errors_measure_the_noise(rng):
    wall = _plane(rng, 4000, 12.5, (-1.9, 1.9), (-1.9, 1.9))
    direction = wall[:, :3] / np.linalg.norm(wall[:, :3], axis=1, keepdims=True)
    noisy = wall.copy()
    noisy[:, :3] += direction * rng.normal(0, 0.03, (len(wall), 1))  # 3 cm along the rays
    assert robust_std(planar_range_errors(noisy)) == pytest.approx(0.03, rel=0.1)
    assert robust_std(planar_range_errors(wall)) < 1e-6
    scatter = _plane(rng, 4000, (10, 12), (-1, 1), (-1, 1))  # a volume: no planar patch
    assert len(planar_range_errors(scatter)) == 0


def test_object_points_and_normalized_count():
    pts = np.array([[10.0, 0, -1, 0.5], [10.5, 0.2, -1.2, 0.7], [20.0, 0, -1, 0.1]])
    boxes = np.array(
        [[10.0, 0, -1, 4, 2, 1.5, 0], [20, 0, -1, 1, 1, 1, 0], [30, 0, -1, 1, 1, 1, 0]]
    )
    rows = object_points(pts, boxes, np.array(["Car", "Pedestrian", "Car"], dtype=object))
    assert [r["points"] for r in rows] == [2, 1, 0]
    assert rows[0]["intensity"].tolist() == pytest.approx([0.5, 0.7])
    assert np.isnan(rows[2]["intensity_mean"])
    # box 0 spans z -1.75..-0.25: heights 0.75 / 1.5 and 0.55 / 1.5 of the box
    assert rows[0]["height_in_box"].tolist() == pytest.approx([0.5, 0.55 / 1.5], abs=1e-6)
    # a count falling as 1 / d^2 normalizes to one value
    assert np.ptp(normalized_count([400, 100, 25], [5.0, 10.0, 20.0])) == 0.0


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        ("pole or trunk", lambda rng: _plane(rng, 300, (19.9, 20.1), (-0.1, 0.1), (-1.7, 1.5))),
        ("vegetation", lambda rng: _plane(rng, 600, (18.5, 21.5), (-1.2, 1.2), (-1.5, 0.5))),
        ("wall", lambda rng: _plane(rng, 600, 20.0, (-1.5, 1.5), (-1.5, 0.5))),
        ("ground", lambda rng: _plane(rng, 300, (18.5, 21.5), (-1, 1), -1.73)),
    ],
)
def test_false_positive_kinds(rng, kind, make):
    box = np.array([20.0, 0.0, -0.95, 3.9, 1.6, 1.56, np.pi / 2])
    assert classify_box(box, make(rng), GROUND, np.zeros((0, 7)), []) == kind


def test_fence_has_gaps_a_labelled_van_wins(rng):
    box = np.array([20.0, 0.0, -0.95, 3.9, 1.6, 1.56, np.pi / 2])
    slats = _plane(rng, 3000, 20.0, (-1.5, 1.5), (-1.2, 0.0))
    slats = slats[np.mod(slats[:, 1], 0.5) < 0.1]  # 10 cm slats every 50 cm
    assert classify_box(box, slats, GROUND, np.zeros((0, 7)), []) == "fence"
    van = np.array([[20.0, 0.3, -0.8, 5.0, 2.0, 2.0, 0.0]])
    assert classify_box(box, slats, GROUND, van, ["Van"]) == "other vehicle class"
    assert classify_box(box, slats, GROUND, van, ["Car"]) == "car (misplaced box)"
    assert classify_box(box, slats, GROUND, np.zeros((0, 7)), [], True) == "DontCare region"
    assert classify_box(box, slats[:5], GROUND, np.zeros((0, 7)), []) == "nearly empty"


def test_identical_sweeps_are_at_distance_zero_brighter_ones_are_not(tiny_pair):
    real_root, same_root, bright_root = tiny_pair
    counted = None
    records = {}
    for name, root in (("real", real_root), ("same", same_root), ("bright", bright_root)):
        (sweep,), skipped = load_sweeps(root, name)
        assert skipped == [] and sweep.labelled and not sweep.full_turn
        if counted is None:
            scanner = ScannerModel.kitti_hdl64e(RANGE_IMAGE_WIDTH)
            counted = raydrop.counted_cells(scanner, sweep.calib, sweep.image_hw)
        records[name] = sweep_statistics(sweep, counted)
    keys = list(records["real"]["hist"])
    same = compare_histograms([records["real"]], [records["same"]], keys)
    assert all(same[k]["js_distance"] == 0.0 for k in keys if sum(same[k]["real"]) > 0)
    bright = compare_histograms([records["real"]], [records["bright"]], keys)
    for k in keys:
        if k.startswith("intensity/"):
            assert bright[k]["js_distance"] > 0.9  # real 000008 has almost no return above 0.9
        elif sum(bright[k]["real"]) > 0:
            assert bright[k]["js_distance"] == 0.0
    objects = compare_objects([records["real"]], [records["bright"]], ["Car"])
    assert objects["points_per_object"]["Car"]["js_distance"] == 0.0
    assert objects["reflectivity"]["Car"]["js_distance"] > 0.9
    assert objects["height_in_box"]["Car"]["js_distance"] == 0.0  # brighter, not moved
    assert sum(objects["height_in_box"]["Car"]["real"]) > 0  # 000008 has cars beyond 20 m
    assert objects["clearance"]["Car"]["js_distance"] == 0.0  # brighter, not moved
    assert objects["clutter"]["Car"]["js_distance"] == 0.0
    assert objects["overhead"]["Car"]["js_distance"] == 0.0
    # 000008: 6 labelled cars, the 000008 crop's camera field of view
    assert len(records["real"]["objects"]) == 6
    # none within 4 m of another; camera (x, z) of the first three (-2.70, 3.68), (-1.17, 7.86),
    # (3.81, 6.15): the first two 4.45 m apart, each other's nearest, 4-5 degrees off their
    # long axes (rotation_y -1.29, 1.90): nose to tail; the third's nearest is the second, 5.27 m
    # off, 86 degrees from its long axis (rotation_y -1.31): side by side; the others have no
    # car within 6 m
    cars = records["real"]["objects"]
    assert [o["neighbours"] for o in cars] == [0] * 6
    sides = np.array([o["side_by_side"] for o in cars])
    assert sides[:3].tolist() == [0.0, 0.0, 1.0] and np.isnan(sides[3:]).all()
    assert objects["neighbours"]["Car"]["js_distance"] == 0.0
    assert objects["car_pairs"]["side_by_side_share_real"] == pytest.approx(1 / 3)
    assert records["real"]["ground"]["height_m"] == pytest.approx(1.7, abs=0.1)


def test_intensity_zero_is_its_own_bin_beside_the_coarse_bins():
    """KITTI's 0 is a flag: 0 and 0.01-0.04 fall in different bins, and the 0.05-wide bins of
    earlier reports are kept (``js_distance_005``)."""
    values = [0.0, 0.0, 0.01, 0.02, 0.03, 0.05, 0.07, 1.0]
    hist = histogram(values, INTENSITY_EDGES)
    assert len(hist) == 21 and hist[:3].tolist() == [2.0, 3.0, 2.0] and hist[-1] == 1.0
    assert coarse_intensity(hist)[:2].tolist() == [5.0, 2.0] and coarse_intensity(hist).sum() == 8
    real = {"hist": {"intensity/ground": histogram([0.0] * 3 + [0.3], INTENSITY_EDGES)}}
    synth = {"hist": {"intensity/ground": histogram([0.02] * 3 + [0.3], INTENSITY_EDGES)}}
    out = compare_histograms([real], [synth], ["intensity/ground"])["intensity/ground"]
    # exact 0 against 0.02: disjoint in 3 / 4 of the mass; p = (3/4, 0, 1/4), q = (0, 3/4, 1/4),
    # m = (3/8, 3/8, 1/4): JSD = 3/4 log2(2) = 0.75 bits, distance sqrt(0.75)
    assert out["js_distance"] == pytest.approx(np.sqrt(0.75))
    assert out["js_distance_005"] == 0.0  # one bin on the 0.05 grid
    assert out["zero_share_real"] == 0.75 and out["zero_share_synthetic"] == 0.0
