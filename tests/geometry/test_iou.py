"""Tests of perception3d.geometry.iou: against shapely polygons, Monte Carlo volumes, exact
degenerate cases (identical, touching, contained, rotated by 90/180 degrees), both frames."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import torch

from perception3d.geometry.iou import (
    bev_iou_cam,
    bev_iou_lidar,
    iou3d_cam,
    iou3d_lidar,
    iou_2d,
    rotated_rect_intersection,
)

ROTATED_FUNCS = [bev_iou_lidar, iou3d_lidar, bev_iou_cam, iou3d_cam]


def random_boxes_lidar(rng: np.random.Generator, num: int, spread_m: float = 2.0) -> np.ndarray:
    """(num, 7) LiDAR boxes, 2/3 cars and 1/3 pedestrians, centres within spread_m of a point
    far from the origin (so most pairs overlap and coordinates are realistic)."""
    boxes = np.empty((num, 7))
    boxes[:, 0] = 35.0 + rng.uniform(-spread_m, spread_m, num)
    boxes[:, 1] = -12.0 + rng.uniform(-spread_m, spread_m, num)
    boxes[:, 2] = -0.9 + rng.uniform(-0.5, 0.5, num)
    is_car = rng.uniform(size=num) < 2 / 3
    boxes[:, 3] = np.where(is_car, rng.uniform(3.2, 4.8, num), rng.uniform(0.4, 1.0, num))
    boxes[:, 4] = np.where(is_car, rng.uniform(1.4, 2.0, num), rng.uniform(0.4, 0.9, num))
    boxes[:, 5] = np.where(is_car, rng.uniform(1.3, 1.9, num), rng.uniform(1.5, 1.9, num))
    boxes[:, 6] = rng.uniform(-np.pi, np.pi, num)
    return boxes


def lidar_to_cam_identity(boxes_lidar: np.ndarray) -> np.ndarray:
    """The KITTI lidar -> camera box conversion with identity calibration (pure axis mapping)."""
    x, y, z, dx, dy, dz, heading = boxes_lidar.T
    return np.stack([-y, -(z - dz / 2), x, dx, dz, dy, -heading - np.pi / 2], axis=1)


def bev_polygons_lidar(boxes_lidar: np.ndarray) -> np.ndarray:
    """Shapely polygons of LiDAR boxes in the x-y plane."""
    x, y, _, dx, dy, _, heading = (col[:, None] for col in boxes_lidar.T)
    a = np.array([0.5, -0.5, -0.5, 0.5]) * dx
    b = np.array([0.5, 0.5, -0.5, -0.5]) * dy
    cos_h, sin_h = np.cos(heading), np.sin(heading)
    corners = np.stack([x + a * cos_h - b * sin_h, y + a * sin_h + b * cos_h], axis=-1)
    return shapely.polygons(corners)


def bev_polygons_cam(boxes_cam: np.ndarray) -> np.ndarray:
    """Shapely polygons of camera boxes in the x-z plane, corners by the KITTI formula."""
    x, _, z, length, _, width, ry = (col[:, None] for col in boxes_cam.T)
    a = np.array([0.5, -0.5, -0.5, 0.5]) * length
    b = np.array([0.5, 0.5, -0.5, -0.5]) * width
    cos_r, sin_r = np.cos(ry), np.sin(ry)
    corners = np.stack([x + a * cos_r + b * sin_r, z - a * sin_r + b * cos_r], axis=-1)
    return shapely.polygons(corners)


def shapely_bev(polys_a: np.ndarray, polys_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, M) intersection areas and IoU with shapely."""
    inter = shapely.area(shapely.intersection(polys_a[:, None], polys_b[None, :]))
    union = shapely.area(polys_a)[:, None] + shapely.area(polys_b)[None, :] - inter
    return inter, inter / union


# ---------------------------------------------------------------- against shapely


def test_rotated_rect_intersection_matches_shapely():
    rng = np.random.default_rng(0)
    boxes_a, boxes_b = random_boxes_lidar(rng, 300), random_boxes_lidar(rng, 250)
    inter = rotated_rect_intersection(boxes_a[:, [0, 1, 3, 4, 6]], boxes_b[:, [0, 1, 3, 4, 6]])
    expected, _ = shapely_bev(bev_polygons_lidar(boxes_a), bev_polygons_lidar(boxes_b))
    assert inter.shape == (300, 250) and inter.dtype == np.float64
    assert (expected > 0).mean() > 0.5  # heavy overlap: most pairs really clip
    np.testing.assert_allclose(inter, expected, rtol=0, atol=1e-9)


def test_bev_iou_lidar_matches_shapely():
    rng = np.random.default_rng(1)
    boxes_a, boxes_b = random_boxes_lidar(rng, 200), random_boxes_lidar(rng, 200)
    polys_a, polys_b = bev_polygons_lidar(boxes_a), bev_polygons_lidar(boxes_b)
    inter, expected = shapely_bev(polys_a, polys_b)
    np.testing.assert_allclose(bev_iou_lidar(boxes_a, boxes_b), expected, rtol=0, atol=1e-9)
    over_a = inter / shapely.area(polys_a)[:, None]
    got = bev_iou_lidar(boxes_a, boxes_b, criterion="a")
    np.testing.assert_allclose(got, over_a, rtol=0, atol=1e-9)


def test_bev_iou_cam_matches_shapely():
    rng = np.random.default_rng(2)
    boxes_a = lidar_to_cam_identity(random_boxes_lidar(rng, 200))
    boxes_b = lidar_to_cam_identity(random_boxes_lidar(rng, 150))
    _, expected = shapely_bev(bev_polygons_cam(boxes_a), bev_polygons_cam(boxes_b))
    np.testing.assert_allclose(bev_iou_cam(boxes_a, boxes_b), expected, rtol=0, atol=1e-9)


# ---------------------------------------------------------------- 3D against Monte Carlo


def monte_carlo_iou3d_lidar(box_a, box_b, rng, num_samples=400_000):
    """IoU from the fraction of points sampled uniformly in A that fall inside B."""
    local = rng.uniform(-0.5, 0.5, (num_samples, 3)) * box_a[3:6]
    cos_a, sin_a = np.cos(box_a[6]), np.sin(box_a[6])
    pts = np.stack(
        [
            box_a[0] + local[:, 0] * cos_a - local[:, 1] * sin_a,
            box_a[1] + local[:, 0] * sin_a + local[:, 1] * cos_a,
            box_a[2] + local[:, 2],
        ],
        axis=1,
    )
    d = pts - box_b[:3]
    cos_b, sin_b = np.cos(box_b[6]), np.sin(box_b[6])
    along, across = d[:, 0] * cos_b + d[:, 1] * sin_b, -d[:, 0] * sin_b + d[:, 1] * cos_b
    inside = (np.abs(along) <= box_b[3] / 2) & (np.abs(across) <= box_b[4] / 2)
    inside &= np.abs(d[:, 2]) <= box_b[5] / 2
    vol_a, vol_b = np.prod(box_a[3:6]), np.prod(box_b[3:6])
    inter = inside.mean() * vol_a
    return inter / (vol_a + vol_b - inter)


def monte_carlo_iou3d_cam(box_a, box_b, rng, num_samples=400_000):
    """Same in the camera frame: (x, y, z) bottom centre, y down, [l, h, w], ry about +y."""
    a, b = (rng.uniform(-0.5, 0.5, (num_samples, 2)) * box_a[[3, 5]]).T
    cos_a, sin_a = np.cos(box_a[6]), np.sin(box_a[6])
    x = box_a[0] + a * cos_a + b * sin_a
    y = box_a[1] - rng.uniform(0.0, box_a[4], num_samples)
    z = box_a[2] - a * sin_a + b * cos_a
    dx, dz = x - box_b[0], z - box_b[2]
    cos_b, sin_b = np.cos(box_b[6]), np.sin(box_b[6])
    along, across = dx * cos_b - dz * sin_b, dx * sin_b + dz * cos_b  # inverse of the corners
    inside = (np.abs(along) <= box_b[3] / 2) & (np.abs(across) <= box_b[5] / 2)
    inside &= (y <= box_b[1]) & (y >= box_b[1] - box_b[4])
    vol_a, vol_b = np.prod(box_a[3:6]), np.prod(box_b[3:6])
    inter = inside.mean() * vol_a
    return inter / (vol_a + vol_b - inter)


MC_CASES_LIDAR = [
    ([10.0, 5.0, -1.0, 4.2, 1.8, 1.6, 0.3], [10.8, 5.4, -0.7, 3.9, 1.7, 1.5, 0.9]),
    ([10.0, 5.0, -1.0, 4.2, 1.8, 1.6, -2.0], [11.5, 4.6, -1.2, 4.5, 1.9, 1.4, 1.2]),
    ([-3.0, 20.0, 0.5, 0.8, 0.6, 1.8, 1.0], [-2.8, 20.1, 0.2, 0.7, 0.6, 1.7, -0.4]),
    ([40.0, -7.0, -1.5, 4.0, 1.6, 1.5, 2.5], [40.3, -7.2, -1.4, 0.6, 0.6, 1.8, 0.7]),
]


@pytest.mark.parametrize(("box_a", "box_b"), MC_CASES_LIDAR)
def test_iou3d_lidar_monte_carlo(box_a, box_b):
    rng = np.random.default_rng(3)
    expected = monte_carlo_iou3d_lidar(np.array(box_a), np.array(box_b), rng)
    assert expected > 0.02
    assert iou3d_lidar([box_a], [box_b])[0, 0] == pytest.approx(expected, abs=4e-3)


@pytest.mark.parametrize(("box_a", "box_b"), MC_CASES_LIDAR)
def test_iou3d_cam_monte_carlo(box_a, box_b):
    rng = np.random.default_rng(4)
    cam_a, cam_b = lidar_to_cam_identity(np.array([box_a, box_b]))
    cam_b = cam_b + np.array([0.1, 0.0, -0.2, 0.0, 0.0, 0.0, 0.3])  # not just a mapped case
    expected = monte_carlo_iou3d_cam(cam_a, cam_b, rng)
    assert expected > 0.02
    assert iou3d_cam([cam_a], [cam_b])[0, 0] == pytest.approx(expected, abs=4e-3)


def test_iou3d_lidar_hand_computed():
    # 2 x 2 x 2 cube vs the same cube raised by 1 m: overlap 4 m^3, union 12 m^3
    cube = [0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 0.0]
    raised = [0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 0.0]
    assert iou3d_lidar([cube], [raised])[0, 0] == pytest.approx(1 / 3, abs=1e-15)
    assert bev_iou_lidar([cube], [raised])[0, 0] == 1.0


# ---------------------------------------------------------------- exact and degenerate cases


@pytest.mark.parametrize("func", ROTATED_FUNCS)
def test_identical_boxes_give_exactly_one(func):
    rng = np.random.default_rng(5)
    boxes = random_boxes_lidar(rng, 500, spread_m=60.0)
    boxes[:, 6] = rng.uniform(-10.0, 10.0, 500)  # any angle, not only (-pi, pi]
    if func in (bev_iou_cam, iou3d_cam):
        boxes = lidar_to_cam_identity(boxes)
    iou = func(boxes, boxes)
    assert np.all(np.diag(iou) == 1.0)
    assert np.all(iou <= 1.0)
    boxes_f32 = torch.from_numpy(boxes).float()  # exact for float32 values too
    assert np.all(np.diag(func(boxes_f32, boxes_f32)) == 1.0)


def test_identical_rects_intersection_equals_own_area():
    rects = np.array([[35.123, -12.7, 4.2, 1.8, 0.7], [0.0, 0.0, 3.0, 3.0, -2.2]])
    inter = rotated_rect_intersection(rects, rects)
    np.testing.assert_allclose(np.diag(inter), [4.2 * 1.8, 9.0], rtol=1e-14)


def _touching_pairs(heading: float) -> list[tuple[list[float], list[float]]]:
    """LiDAR box pairs sharing a long edge, a short edge, or only a corner."""
    box = [23.7, -4.1, -1.0, 4.0, 2.0, 1.5, heading]
    cos_h, sin_h = np.cos(heading), np.sin(heading)
    offsets = [
        (4.0 * cos_h, 4.0 * sin_h),
        (-2.0 * sin_h, 2.0 * cos_h),
        (4.0 * cos_h - 2.0 * sin_h, 4.0 * sin_h + 2.0 * cos_h),
    ]
    return [(box, [box[0] + ox, box[1] + oy, *box[2:]]) for ox, oy in offsets]


@pytest.mark.parametrize("heading", [0.0, np.pi / 2, 0.4, -2.9])
def test_touching_boxes_give_zero(heading):
    for box_a, box_b in _touching_pairs(heading):
        assert bev_iou_lidar([box_a], [box_b])[0, 0] == 0.0
        assert iou3d_lidar([box_a], [box_b])[0, 0] == 0.0
        cam = lidar_to_cam_identity(np.array([box_a, box_b]))
        assert bev_iou_cam(cam[:1], cam[1:])[0, 0] == 0.0
    # stacked on top of each other: BEV identical, 3D touching
    box = [5.0, 1.0, -1.0, 4.0, 2.0, 1.5, heading]
    on_top = [5.0, 1.0, 0.5, 4.0, 2.0, 1.5, heading]
    assert iou3d_lidar([box], [on_top])[0, 0] == 0.0


def test_contained_box_gives_area_ratio():
    big = [10.0, 3.0, -1.0, 4.0, 2.0, 1.6, 0.6]
    small = [10.3, 3.1, -1.1, 1.0, 0.5, 0.8, -1.1]
    area_ratio, vol_ratio = (1.0 * 0.5) / (4.0 * 2.0), (1.0 * 0.5 * 0.8) / (4.0 * 2.0 * 1.6)
    assert bev_iou_lidar([small], [big])[0, 0] == pytest.approx(area_ratio, rel=1e-12)
    assert bev_iou_lidar([big], [small])[0, 0] == pytest.approx(area_ratio, rel=1e-12)
    assert iou3d_lidar([big], [small])[0, 0] == pytest.approx(vol_ratio, rel=1e-12)
    # criterion "a": intersection over the first box
    assert bev_iou_lidar([small], [big], criterion="a")[0, 0] == 1.0
    assert iou3d_lidar([small], [big], criterion="a")[0, 0] == 1.0
    assert bev_iou_lidar([big], [small], criterion="a")[0, 0] == pytest.approx(area_ratio)
    cam = lidar_to_cam_identity(np.array([small, big]))
    assert iou3d_cam(cam[:1], cam[1:], criterion="a")[0, 0] == 1.0
    assert iou3d_cam(cam[1:], cam[:1], criterion="a")[0, 0] == pytest.approx(vol_ratio)


def test_disjoint_and_zero_size_boxes_give_zero():
    box = [0.0, 0.0, 0.0, 4.0, 2.0, 1.5, 0.3]
    assert bev_iou_lidar([box], [[30.0, 0.0, 0.0, 4.0, 2.0, 1.5, 0.3]])[0, 0] == 0.0
    near = [[0.0, 2.6, 0.0, 4.0, 2.0, 1.5, 0.0]]  # within the early-out radius, yet disjoint
    assert bev_iou_lidar([[0.0, 0.0, 0.0, 4.0, 2.0, 1.5, 0.0]], near)[0, 0] == 0.0
    flat = [[0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.3]]  # zero width and height in both frames
    for func in ROTATED_FUNCS:
        assert func([box], flat)[0, 0] == 0.0
        assert func(flat, flat)[0, 0] == 0.0
        assert func(flat, [box], criterion="a")[0, 0] == 0.0
    no_height = [[0.0, 0.0, 0.0, 4.0, 2.0, 0.0, 0.3]]
    assert iou3d_lidar([box], no_height)[0, 0] == 0.0
    assert iou3d_lidar(no_height, no_height, criterion="a")[0, 0] == 0.0


@pytest.mark.parametrize("func", ROTATED_FUNCS)
def test_rotated_half_turn_equals_original(func):
    rng = np.random.default_rng(6)
    boxes = random_boxes_lidar(rng, 50, spread_m=30.0)
    turned = boxes.copy()
    turned[:, 6] += np.pi
    np.testing.assert_allclose(np.diag(func(boxes, turned)), 1.0, rtol=0, atol=1e-12)


def test_square_quarter_turn_equals_itself():
    square = np.array([[12.0, -3.0, -1.0, 1.7, 1.7, 1.8, 0.25]])
    turned = square.copy()
    turned[:, 6] += np.pi / 2
    assert bev_iou_lidar(square, turned)[0, 0] == pytest.approx(1.0, abs=1e-12)
    assert iou3d_lidar(square, turned)[0, 0] == pytest.approx(1.0, abs=1e-12)


def test_iou_is_symmetric_and_bounded():
    rng = np.random.default_rng(7)
    boxes_a, boxes_b = random_boxes_lidar(rng, 100), random_boxes_lidar(rng, 80)
    for func in (bev_iou_lidar, iou3d_lidar):
        iou = func(boxes_a, boxes_b)
        np.testing.assert_allclose(iou, func(boxes_b, boxes_a).T, rtol=0, atol=1e-12)
        assert iou.min() >= 0.0 and iou.max() <= 1.0


def test_camera_and_lidar_frames_agree():
    rng = np.random.default_rng(8)
    lidar_a, lidar_b = random_boxes_lidar(rng, 120), random_boxes_lidar(rng, 90)
    cam_a, cam_b = lidar_to_cam_identity(lidar_a), lidar_to_cam_identity(lidar_b)
    for criterion in ("union", "a"):
        bev_lidar = bev_iou_lidar(lidar_a, lidar_b, criterion)
        assert (bev_lidar > 0).mean() > 0.3
        np.testing.assert_allclose(bev_iou_cam(cam_a, cam_b, criterion), bev_lidar, atol=1e-9)
        iou3d = iou3d_lidar(lidar_a, lidar_b, criterion)
        np.testing.assert_allclose(iou3d_cam(cam_a, cam_b, criterion), iou3d, atol=1e-9)


# ---------------------------------------------------------------- image boxes


def test_iou_2d_values():
    boxes_a = np.array([[0.0, 0.0, 10.0, 10.0], [100.0, 50.0, 140.0, 80.0]])
    boxes_b = np.array(
        [[5.0, 5.0, 15.0, 15.0], [10.0, 0.0, 20.0, 10.0], [100.0, 50.0, 140.0, 80.0]]
    )
    expected = np.array([[25 / 175, 0.0, 0.0], [0.0, 0.0, 1.0]])  # touching at x = 10 gives 0
    np.testing.assert_array_equal(iou_2d(boxes_a, boxes_b), expected)
    expected_a = np.array([[25 / 100, 0.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(iou_2d(boxes_a, boxes_b, criterion="a"), expected_a)
    small_in_big = iou_2d([[2.0, 2.0, 4.0, 6.0]], [[0.0, 0.0, 10.0, 10.0]], criterion="a")
    assert small_in_big[0, 0] == 1.0
    assert iou_2d([[3.0, 3.0, 3.0, 8.0]], [[3.0, 3.0, 3.0, 8.0]])[0, 0] == 0.0  # no NaN


# ---------------------------------------------------------------- inputs and errors


@pytest.mark.parametrize("func", ROTATED_FUNCS)
def test_torch_input_accepted(func):
    rng = np.random.default_rng(9)
    boxes_a, boxes_b = random_boxes_lidar(rng, 6), random_boxes_lidar(rng, 4)
    tensor_a = torch.from_numpy(boxes_a).float().requires_grad_(True)
    tensor_b = torch.from_numpy(boxes_b).float()
    out = func(tensor_a, tensor_b)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == (6, 4)
    expected = func(boxes_a.astype(np.float32), boxes_b.astype(np.float32))
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(func(torch.from_numpy(boxes_a), boxes_b), func(boxes_a, boxes_b))
    iou = iou_2d(torch.tensor([[0.0, 0.0, 2.0, 2.0]]), torch.tensor([[1.0, 0.0, 3.0, 2.0]]))
    assert iou[0, 0] == pytest.approx(1 / 3)


@pytest.mark.parametrize("func", [*ROTATED_FUNCS, iou_2d, rotated_rect_intersection])
def test_empty_inputs(func):
    width = {iou_2d: 4, rotated_rect_intersection: 5}.get(func, 7)
    boxes = np.ones((3, width))
    boxes[:, :2] = 0.0
    assert func(np.zeros((0, width)), boxes).shape == (0, 3)
    assert func(boxes, np.zeros((0, width))).shape == (3, 0)
    assert func(np.zeros(0), np.zeros(0)).shape == (0, 0)


@pytest.mark.parametrize("func", ROTATED_FUNCS)
def test_bad_inputs_raise(func):
    good = np.zeros((2, 7))
    good[:, 3:6] = 1.0
    with pytest.raises(ValueError, match=r"boxes_a must be \(N, 7\), got \(3, 6\)"):
        func(np.zeros((3, 6)), good)
    with pytest.raises(ValueError, match=r"boxes_b must be \(N, 7\), got \(7,\)"):
        func(good, np.zeros(7))
    with pytest.raises(ValueError, match=r"boxes_b must be \(N, 7\), got \(1, 2, 7\)"):
        func(good, np.zeros((1, 2, 7)))
    with pytest.raises(ValueError, match="criterion must be 'union' or 'a', got 'b'"):
        func(good, good, criterion="b")
    bad = good.copy()
    bad[0, 4] = -1.0
    with pytest.raises(ValueError, match="boxes_a sizes must be >= 0"):
        func(bad, good)
    bad[0, 4] = np.nan
    with pytest.raises(ValueError, match="boxes_b must be finite"):
        func(good, bad)


def test_bad_rects_and_image_boxes_raise():
    with pytest.raises(ValueError, match=r"rects_a must be \(N, 5\), got \(2, 7\)"):
        rotated_rect_intersection(np.zeros((2, 7)), np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"boxes_b must be \(N, 4\), got \(1, 5\)"):
        iou_2d(np.zeros((1, 4)), np.zeros((1, 5)))
    with pytest.raises(ValueError, match="boxes_a must have x2 >= x1 and y2 >= y1"):
        iou_2d([[10.0, 0.0, 5.0, 8.0]], [[0.0, 0.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match="criterion must be 'union' or 'a', got 'b'"):
        iou_2d(np.zeros((1, 4)), np.zeros((1, 4)), criterion="b")
