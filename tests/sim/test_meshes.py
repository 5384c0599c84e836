"""Procedural meshes: exact bounding boxes, wheels and feet on the ground, closed solids."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.sim.meshes import Mesh, box, cross3, cylinder, ellipsoid, merge, torus, tube
from perception3d.sim.people import cyclist_mesh, pedestrian_mesh, sitting_mesh
from perception3d.sim.profiles import prism, triangulate_polygon
from perception3d.sim.scenery import building, street_light, tree
from perception3d.sim.vehicles import BODY_TYPES, vehicle_mesh


def _signed_volume(mesh: Mesh) -> float:
    """Divergence theorem: positive for a closed mesh wound outwards."""
    v = mesh.vertices[mesh.triangles]
    return float(np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum() / 6)


def _edges_shared_twice(mesh: Mesh) -> bool:
    """Closed (watertight) surface: every undirected edge belongs to exactly two triangles."""
    t = mesh.triangles
    edges = np.sort(np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return bool(np.all(counts == 2))


@pytest.mark.parametrize(
    "mesh, volume",
    [
        (box((2, 3, 4)), 24.0),
        (cylinder(1.0, 2.0, segments=64), 2 * 64 / 2 * np.sin(2 * np.pi / 64)),  # inscribed 64-gon
        (prism(np.array([[0, 0], [2, 0], [2, 1], [0, 1]]), 3.0), 6.0),
    ],
)
def test_primitives_are_closed_outward_solids_of_the_right_volume(mesh, volume):
    assert _edges_shared_twice(mesh)
    assert _signed_volume(mesh) == pytest.approx(volume, rel=1e-9)


@pytest.mark.parametrize(
    "mesh", [ellipsoid((1, 2, 3)), torus(1.0, 0.2), tube((0, 0, 0), (1, 2, 3), 0.1)]
)
def test_curved_primitives_are_closed(mesh):
    assert _edges_shared_twice(mesh)
    assert abs(_signed_volume(mesh)) > 0


def test_triangulate_concave_polygon_covers_its_area():
    poly = np.array([[0, 0], [4, 0], [4, 3], [2, 1], [0, 3]], float)  # a notch at the top
    tris = triangulate_polygon(poly)
    p = poly[tris]
    a, b = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    areas = 0.5 * (a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])
    assert np.all(areas > 0) and areas.sum() == pytest.approx(8.0)


def test_triangulate_rejects_degenerate_polygon():
    with pytest.raises(ValueError, match="no ear found"):
        triangulate_polygon(np.array([[0, 0], [1, 0], [2, 0], [3, 0]], float))


def test_merge_unifies_part_names():
    m = merge([box((1, 1, 1), part="a"), box((1, 1, 1), part="b"), box((1, 1, 1), part="a")])
    assert m.part_names == ("a", "b")
    assert m.part_mask("a").sum() == 24 and m.part_mask("b").sum() == 12


_SIZES = {"truck": (9.0, 2.5, 3.2), "tram": (18.0, 2.5, 3.5), "van": (5.0, 1.9, 2.2)}


@pytest.mark.parametrize("body", BODY_TYPES)
def test_vehicle_fills_its_box_and_stands_on_its_wheels(body):
    l, w, h = _SIZES.get(body, (4.1, 1.7, 1.5))
    m = vehicle_mesh(body, l, w, h)
    lo, hi = m.bounds
    # Only the mirrors stick out, and only sideways (by about 10 cm).
    np.testing.assert_allclose([lo[0], lo[2], hi[0], hi[2]], [-l / 2, 0, l / 2, h], atol=1e-12)
    assert w / 2 <= hi[1] <= w / 2 + 0.13 and -w / 2 - 0.13 <= lo[1] <= -w / 2
    inside = m.vertices[np.unique(m.triangles[~m.part_mask("mirror")])]
    np.testing.assert_allclose(np.ptp(inside, axis=0), [l, w, h], atol=1e-12)
    lowest = m.vertices[m.triangles[m.part_mask("tyre")]].reshape(-1, 3)[:, 2].min()
    assert lowest == pytest.approx(0.0, abs=1e-12)
    body_tris = m.vertices[m.triangles[m.part_mask("body")]]
    assert body_tris[..., 2].min() > 0.1  # ground clearance: only tyres touch the road
    expected = ("tail_light",) if body in ("trailer", "caravan") else ("head_light", "plate")
    for part in ("window", *expected):
        if part == "window" and body == "trailer":
            continue
        assert m.part_mask(part).any(), part


@pytest.mark.parametrize("body", ["sedan", "hatchback", "wagon", "suv", "mpv", "van"])
def test_car_silhouette_has_hood_windshield_roof_and_glass_above_the_beltline(body):
    l, w, h = _SIZES.get(body, (4.1, 1.7, 1.5))
    m = vehicle_mesh(body, l, w, h)
    body_v = m.vertices[np.unique(m.triangles[m.part_mask("body")])]

    def top_at(x_frac):  # roof line: highest body or glass point near x
        near = np.abs(m.vertices[:, 0] - (x_frac - 0.5) * l) < 0.03 * l
        return m.vertices[near, 2].max()

    hood, roof = top_at(0.9), top_at(0.5)
    assert roof == pytest.approx(h, abs=0.03 * h) and hood < 0.75 * h  # the hood is low
    glass = m.vertices[m.triangles[m.part_mask("window")]].reshape(-1, 3)
    assert glass[:, 2].min() > 0.4 * h  # windows sit above the beltline
    assert glass[:, 0].max() > 0.2 * l  # windshield ahead of the middle
    # Wheel arches: the body is higher over the wheels than between them.
    tyre = m.vertices[np.unique(m.triangles[m.part_mask("tyre")])]
    x_front = tyre[tyre[:, 0] > 0, 0].mean()  # the front axle
    low_over_wheel = body_v[np.abs(body_v[:, 0] - x_front) < 0.08, 2].min()
    low_between = body_v[np.abs(body_v[:, 0]) < 0.15, 2].min()
    assert low_over_wheel > low_between + 0.2


@pytest.mark.parametrize("body", ["sedan", "hatchback", "wagon", "suv", "mpv"])
def test_cabin_is_open_above_the_seats_and_closed_below_the_belt(body):
    """A pulse through the rear window at a shallow angle, above the seat backs, crosses the
    cabin without meeting the interior (real rear windows show as gaps); one at seat height
    meets it; and no interior part shows under the car."""
    o3d = pytest.importorskip("open3d")
    l, w, h = 4.1, 1.7, 1.5
    m = vehicle_mesh(body, l, w, h)
    inner = m.part_mask("interior")
    interior = m.vertices[m.triangles[inner]].reshape(-1, 3)
    assert interior[:, 2].min() > 0.1 * h  # above the underbody, not on the road
    assert interior[:, 2].max() < 0.95 * h  # headrests stay under the roof
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(
        o3d.core.Tensor(m.vertices[m.triangles[inner]].reshape(-1, 3).astype(np.float32)),
        o3d.core.Tensor(np.arange(3 * inner.sum(), dtype=np.uint32).reshape(-1, 3)),
    )

    def meets_interior(z_m: float, y_m: float = 0.0) -> bool:
        ray = np.array([[-l, y_m, z_m, 1.0, 0.0, -0.02]], np.float32)  # 1.1 deg down, forward
        return bool(np.isfinite(scene.cast_rays(o3d.core.Tensor(ray))["t_hit"].numpy()[0]))

    assert not meets_interior(0.93 * h)  # over the headrests: through the windscreen
    belt = m.vertices[m.triangles[m.part_mask("window")]].reshape(-1, 3)[:, 2].min()
    assert meets_interior(belt + 0.04 * h - 0.02 * l)  # just over the beltline: seat backs


def test_vehicle_rejects_unknown_body():
    with pytest.raises(ValueError, match="body_type must be one of"):
        vehicle_mesh("tank", 4, 2, 2)


@pytest.mark.parametrize("phase", [0.0, 0.25, 0.6])
def test_pedestrian_has_its_stature_and_stands_on_the_ground(phase):
    m = pedestrian_mesh(1.8, walk_phase=phase)
    lo, hi = m.bounds
    assert lo[2] == 0.0 and hi[2] == pytest.approx(1.8)
    assert lo[0] == pytest.approx(-hi[0]) and lo[1] == pytest.approx(-hi[1])  # centred
    assert 0.3 < hi[1] - lo[1] < 0.7
    assert {"skin", "shirt", "pants", "shoes", "hair"} <= set(m.part_names)


def test_walking_pedestrian_is_longer_than_standing_one():
    standing = np.ptp(pedestrian_mesh(1.75, 0.25, stride=0.0).vertices[:, 0])
    walking = np.ptp(pedestrian_mesh(1.75, 0.25, stride=0.35).vertices[:, 0])
    assert walking > standing + 0.3


@pytest.mark.parametrize("arms", ["swing", "hang", "pockets", "phone", "bag"])
def test_pedestrian_poses_stand_on_the_ground_at_their_stature(arms):
    m = pedestrian_mesh(1.7, 0.3, 0.2, arms=arms, backpack=True, coat=arms == "bag")
    lo, hi = m.bounds
    assert lo[2] == 0.0 and hi[2] == pytest.approx(1.7) and 0.35 < hi[1] - lo[1] < 0.75
    assert "bag" in m.part_names


def test_phone_pose_raises_a_hand_to_the_head():
    hang, phone = (
        pedestrian_mesh(1.75, 0, 0, arms="hang"),
        pedestrian_mesh(1.75, 0, 0, arms="phone"),
    )
    # Hands: the skin off the body's middle (the head is narrower); the phone hand is near
    # the head, far above the hanging ones.
    skin = [m.vertices[np.unique(m.triangles[m.part_mask("skin")])] for m in (hang, phone)]
    hands = [v[np.abs(v[:, 1]) > 0.12, 2].max() for v in skin]
    assert hands[0] < 0.9 and hands[1] > hands[0] + 0.5


def test_sitting_person_is_kitti_person_sitting_sized():
    lo, hi = sitting_mesh(1.75).bounds
    l, w, h = hi - lo
    assert 1.15 < h < 1.45 and 0.5 < l < 0.9 and 0.35 < w < 0.7  # KITTI: 0.80 x 0.60 x 1.27


def test_cyclist_matches_kitti_cyclist_size():
    lo, hi = cyclist_mesh(1.75).bounds
    l, w, h = hi - lo
    assert 1.6 < l < 1.95 and 0.5 < w < 0.7 and 1.5 < h < 1.9  # KITTI: about 1.8 x 0.6 x 1.7
    assert lo[2] == 0.0


def test_scenery_builders():
    assert street_light(8.0, 2.0).bounds[1, 1] == pytest.approx(2.3)  # lamp over the road
    b = building(20, 10, 12)
    assert set(b.part_names) == {"wall", "roof"} and b.bounds[1, 2] == 12
    t = tree(np.random.default_rng(0), 3.0, 2.0)
    assert set(t.part_names) == {"trunk", "foliage"} and t.bounds[1, 2] > 3.0


@pytest.mark.parametrize("shape", [(3,), (500, 3), (4, 6, 3)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross3_is_np_cross_to_the_bit(shape, dtype, rng):
    """The generator's meshes and normals must not change: cross3 is np.cross, bit for bit."""
    a = rng.normal(size=shape).astype(dtype)
    b = rng.normal(size=shape).astype(dtype) * 1e3
    expected = np.cross(a, b)
    got = cross3(a, b)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))
