"""Roadside clutter: fences, hedges, walls, poles, furniture and terrain render, return LiDAR
points (porous ones only a share of the rays) and are never labelled."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.sim.camera import camera_calibration, camera_rig, render_camera
from perception3d.sim.config import CameraConfig, LabelConfig, LidarConfig, load_synth_config
from perception3d.sim.fences import fence, guard_rail, wall
from perception3d.sim.foliage import bush, hedge
from perception3d.sim.frame import frame_rng, generate_frame
from perception3d.sim.furniture import FURNITURE_VARIANTS, furniture_mesh
from perception3d.sim.labels import make_labels
from perception3d.sim.lidar import lidar_beams, simulate_lidar
from perception3d.sim.raycast import build_geometry
from perception3d.sim.roadside import SEMANTICS
from perception3d.sim.scene import road_frame, sample_scene
from perception3d.sim.scenery import ground_quad
from perception3d.sim.semantics import SEMANTIC_ID
from perception3d.sim.terrain import TerrainSide
from perception3d.sim.world import Scene, Surface
from tests.sim.bare_scenes import bare_scene

from .conftest import tiny_config

o3d = pytest.importorskip("open3d")
CAMERA = CameraConfig(image_scale=0.5, sky_occlusion=False)
CALIB = camera_calibration(CAMERA)


def _hits(mesh, origin, targets) -> np.ndarray:
    """Ray parameter (inf: miss) of rays from ``origin`` towards each of ``targets``."""
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(
        o3d.core.Tensor(mesh.vertices.astype(np.float32)),
        o3d.core.Tensor(mesh.triangles.astype(np.uint32)),
    )
    d = targets - origin
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    rays = np.concatenate([np.broadcast_to(origin, d.shape), d], 1).astype(np.float32)
    return scene.cast_rays(o3d.core.Tensor(rays))["t_hit"].numpy()


def _grid(x, z, y=0.0) -> np.ndarray:
    gx, gz = np.meshgrid(x, z, indexing="ij")
    return np.stack([gx.ravel(), np.full(gx.size, y), gz.ravel()], 1)


@pytest.mark.parametrize(
    "kind, lo, hi",
    [("mesh", 0.2, 0.6), ("picket", 0.4, 0.75), ("railing", 0.1, 0.45), ("panel", 0.85, 1.01)],
)
def test_fences_stop_the_share_of_rays_their_kind_covers(kind, lo, hi):
    m = fence(kind, 12.0, 1.6)
    assert np.ptp(m.vertices[:, 0]) == pytest.approx(12.0, abs=0.1)
    assert m.vertices[:, 2].max() == pytest.approx(1.6, abs=0.02)
    # Rays from 8 m in front, across the fence between posts' heights 0.3-1.3 m.
    targets = _grid(np.linspace(1.0, 11.0, 211), np.linspace(0.3, 1.3, 23))
    hit = np.isfinite(_hits(m, np.array([6.0, -8.0, 1.0]), targets))
    assert lo < hit.mean() < hi, hit.mean()


def test_openings_let_everything_through():
    m = fence("panel", 10.0, 1.8, openings=[(4.0, 7.0)])
    targets = _grid(np.linspace(4.3, 6.7, 20), np.linspace(0.3, 1.5, 10))
    assert np.isinf(_hits(m, np.array([5.5, -6.0, 1.0]), targets)).all()
    w = wall(10.0, 2.0, 0.3, openings=[(2.0, 5.0)])
    assert np.isinf(_hits(w, np.array([3.5, -6.0, 1.0]), targets - np.array([2.0, 0, 0]))).all()
    assert np.isfinite(_hits(w, np.array([3.5, -6.0, 1.0]), targets + np.array([2.5, 0, 0]))).all()


def test_guard_rail_beam_faces_the_road_at_its_height():
    m = guard_rail(20.0)
    beam = m.vertices[np.unique(m.triangles[m.part_mask("fence")])]
    assert beam[:, 2].min() == pytest.approx(0.44) and beam[:, 2].max() == pytest.approx(0.75)
    assert beam[:, 1].max() < -0.2  # the beam is on the road side (-y) of the posts


def test_porous_hedge_returns_from_many_depths():
    m = hedge(np.random.default_rng(0), 20.0, 1.6, 1.0, cover=0.5)
    targets = _grid(np.linspace(-8, 8, 60), np.linspace(0.2, 1.0, 12), y=0.0)
    t = _hits(m, np.array([0.0, -10.0, 1.2]), targets)
    hit = np.isfinite(t)
    assert hit.mean() > 0.9  # dense inside: the core stops what the leaves let through
    # The leaves stop rays at different depths: a spread of decimetres, not a flat wall.
    depth = t[hit] - np.linalg.norm(targets[hit] - [0.0, -10.0, 1.2], axis=1)
    assert np.std(depth) > 0.08 and np.ptp(np.percentile(depth, [10, 90])) > 0.2


def test_porous_bush_lets_a_share_of_rays_through():
    rng = np.random.default_rng(1)
    shares = []
    for _ in range(5):
        m = bush(rng, 1.5, cover=0.35)
        lo, hi = m.bounds
        targets = _grid(
            np.linspace(lo[0] * 0.5, hi[0] * 0.5, 15), np.linspace(0.2, hi[2] * 0.7, 15)
        )
        shares.append(np.isfinite(_hits(m, np.array([0.0, -8.0, 0.6]), targets)).mean())
    assert 0.3 < np.mean(shares) < 0.97, shares
    solid = bush(rng, 1.5, cover=0.35, detail=False)
    targets = _grid(np.linspace(-0.2, 0.2, 5), np.linspace(0.3, 0.6, 5))
    assert np.isfinite(_hits(solid, np.array([0.0, -8.0, 0.6]), targets)).all()


@pytest.mark.parametrize("kind", sorted(FURNITURE_VARIANTS))
def test_furniture_stands_on_the_ground_and_is_shared(kind):
    for v in range(FURNITURE_VARIANTS[kind]):
        m = furniture_mesh(kind, v)
        assert m.vertices[:, 2].min() == pytest.approx(0.0, abs=1e-9)
        assert 0.5 < m.vertices[:, 2].max() < 4.0
        assert set(m.part_names) <= set(SEMANTICS)
        assert furniture_mesh(kind, v) is m and not m.vertices.flags.writeable
    with pytest.raises(ValueError, match="kind must be one of"):
        furniture_mesh("statue", 0)


def test_terrain_is_flat_by_the_sidewalk_then_slopes():
    t = TerrainSide(side=-1, y0=-8.0, base_z=0.1, flat_m=4.0, slope=0.25, bumps_m=0.0)
    y = np.array([-8.0, -11.0, -14.0, -20.0])
    np.testing.assert_allclose(t.height(np.zeros(4), y), [0.1, 0.1, 0.1 + 0.5, 0.1 + 2.0])
    kept = TerrainSide(-1, -8.0, 0.1, 4.0, 0.25, 0.0, flat_x=((20.0, 30.0),))
    assert kept.height(np.array([25.0]), np.array([-20.0]))[0] == pytest.approx(0.1)
    m = t.mesh(np.random.default_rng(0), (-50.0, 50.0))
    assert m.vertices[:, 1].max() == pytest.approx(-8.0) and m.vertices[:, 1].min() < -100


def _clutter_scene() -> Scene:
    """A road and, 8-15 m ahead on the right, a fence, a hedge, a wall and a bollard."""
    road_to_lidar = road_frame(CALIB)
    rng = np.random.default_rng(3)
    pieces = [
        (ground_quad(-200, 200, -200, 200, 0.0, "road"), "road"),
        (fence("picket", 6.0, 1.4).transformed(np.eye(3), (8.0, -4.0, 0.0)), "fence"),
        (hedge(rng, 5.0, 1.5, 0.9).transformed(np.eye(3), (12.0, -4.5, 0.0)), "hedge"),
        (wall(4.0, 1.2).transformed(np.eye(3), (16.0, -4.0, 0.0)), "wall"),
        (furniture_mesh("bollard", 1).transformed(np.eye(3), (10.0, 3.0, 0.0)), "bollard"),
    ]
    from perception3d.sim import materials as mat

    surfaces = []
    for mesh, _ in pieces:
        mesh = mesh.transformed(road_to_lidar.rotation, road_to_lidar.translation)
        materials = {p: mat.CONCRETE for p in mesh.part_names}
        surfaces.append(Surface(mesh, materials, {p: SEMANTICS[p] for p in mesh.part_names}))
    return bare_scene(surfaces, road_to_lidar.rotation[:, 2], road_to_lidar, road_y=(-3, 3))


def test_clutter_returns_lidar_points_renders_and_is_never_labelled():
    scene = _clutter_scene()
    geom = build_geometry(scene)
    sweep = simulate_lidar(
        geom, LidarConfig(), lidar_beams(LidarConfig()), np.random.default_rng(0)
    )
    road = scene.road_to_lidar.inverse().apply(sweep.points[:, :3].astype(np.float64))
    above = road[:, 2] > 0.15
    regions = (
        (8, 14, -4.1, -3.9, "fence"),
        (9.5, 14.5, -5.0, -3.9, "hedge"),
        (16, 20, -4.2, -3.8, "wall"),
        (9.8, 10.2, 2.8, 3.2, "bollard"),
    )
    for x0, x1, y0, y1, name in regions:
        inside = above & (road[:, 0] > x0) & (road[:, 0] < x1)
        inside &= (road[:, 1] > y0) & (road[:, 1] < y1)
        assert inside.sum() > 20, name
    assert (sweep.instance == 0).all()
    rig = camera_rig(CALIB, CAMERA.image_shape_hw)
    frame = render_camera(geom, scene, rig, CAMERA)
    labels = make_labels(scene, frame.instance, CALIB, rig.rays, LabelConfig())
    assert labels.objects == [] and not labels.instance_map.any()
    for name in ("fence", "vegetation", "wall", "other_object"):
        assert (frame.semantic == SEMANTIC_ID[name]).sum() > 50, name


def test_generated_frames_label_only_objects_never_clutter():
    cfg = tiny_config(
        1,
        21,
        "objects.mean_in_view={}",
        "objects.mean_out_of_view={}",
        "objects.mean_far={}",
        "clutter.frontage_weights={fence: 1.0, hedge: 1.0, wall: 1.0}",
        "scene.urban_probability=1.0",
    )
    frame = generate_frame(cfg, 0)
    assert frame.scene.objects == () and frame.labels.objects == []
    seen = set(np.unique(frame.camera.semantic))
    assert {SEMANTIC_ID["fence"], SEMANTIC_ID["vegetation"]} <= seen or SEMANTIC_ID["wall"] in seen
    assert len(frame.sweep.points) > 1000 and (frame.sweep.instance == 0).all()


@pytest.fixture(scope="module")
def scenes():
    cfg = load_synth_config(None, ["objects.driveway_probability=1.0"])
    return [sample_scene(cfg, frame_rng(4, i, 0), CALIB) for i in range(8)]


def test_objects_never_stand_in_clutter(scenes):
    from perception3d.geometry.iou import bev_iou_lidar

    for scene in scenes:
        boxes = np.array([o.box_lidar for o in scene.objects])
        lay = scene.layout
        obstacles = lay.obstacles.copy()
        obstacles[:, :3] = scene.road_to_lidar.apply(obstacles[:, :3])
        obstacles[:, 6] += np.arctan2(
            scene.road_to_lidar.rotation[1, 0], scene.road_to_lidar.rotation[0, 0]
        )
        assert bev_iou_lidar(boxes, obstacles).max() == 0.0


def test_cars_stand_in_driveways_across_the_road(scenes):
    across = 0
    for scene in scenes:
        walks = scene.layout.sidewalks
        beyond = (walks[0, 1], walks[1, 1])
        to_road = scene.road_to_lidar.inverse()
        for o in scene.objects:
            if o.label not in ("Car", "Van"):
                continue
            y = to_road.apply(o.box_lidar[None, :3])[0, 1]
            if y < beyond[0] or y > beyond[1]:  # behind a sidewalk: in a driveway
                front = to_road.rotation @ [np.cos(o.box_lidar[6]), np.sin(o.box_lidar[6]), 0]
                assert abs(front[0]) < 0.3  # across the road's direction
                across += 1
    assert across >= 2


def test_sitting_people_sit_on_benches():
    cfg = load_synth_config(None, ["objects.mean_in_view={Person_sitting: 3.0}"])
    seen = 0
    for i in range(4):
        scene = sample_scene(cfg, frame_rng(2, i, 0), CALIB)
        benches = [
            s for s in scene.surfaces if "furniture" in s.materials and len(s.mesh.vertices) < 200
        ]
        for o in scene.objects:
            if o.label != "Person_sitting":
                continue
            seen += 1
            # A bench's seat lies under the person's hips, within the box's footprint.
            near = [
                b
                for b in benches
                if np.linalg.norm(b.mesh.vertices.mean(0) - o.box_lidar[:3]) < 1.0
            ]
            assert near, o.box_lidar
    assert seen >= 3
