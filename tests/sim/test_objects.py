"""Labelled objects: sizes follow the configured per-class distributions (KITTI's by
default), body types suit their sizes, people fit their boxes, the KITTI type is right."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.sim.config import (
    KITTI_SIZE_MEAN_M,
    KITTI_SIZE_STD_M,
    OBJECT_CLASSES,
    LabelConfig,
    ObjectsConfig,
)
from perception3d.sim.objects import KIND_LABEL, sample_class_object, sample_object
from perception3d.sim.semantics import SEMANTIC_ID

CFG, LABELS = ObjectsConfig(), LabelConfig()


def _sizes(label: str, n: int, cfg=CFG, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([sample_class_object(label, rng, cfg, LABELS).size for _ in range(n)])


@pytest.mark.parametrize("label", ["Car", "Van", "Pedestrian", "Cyclist", "Person_sitting"])
def test_sizes_follow_the_kitti_statistics(label):
    sizes = _sizes(label, 300)
    mean, std = np.array(KITTI_SIZE_MEAN_M[label]), np.array(KITTI_SIZE_STD_M[label])
    # Standard error of a 300-sample mean is std / 17; the 2.5-sigma truncation shrinks the
    # spread by 5 %; people's boxes grow a little where the body does not fit a narrow draw.
    assert np.all(np.abs(sizes.mean(0) - mean) < 4 * std / np.sqrt(300) + 0.03 * mean), sizes.mean(
        0
    )
    assert np.all(sizes.std(0) > 0.7 * std) and np.all(sizes.std(0) < 1.15 * std), sizes.std(0)
    assert np.all(np.abs(sizes - mean) <= 2.5 * std + 0.15 * mean)


def test_sizes_follow_a_configured_distribution():
    cfg = ObjectsConfig(
        size_mean_m={**CFG.size_mean_m, "Car": (4.5, 1.8, 1.4)},
        size_std_m={**CFG.size_std_m, "Car": (0.1, 0.02, 0.05)},
    )
    sizes = _sizes("Car", 200, cfg)
    np.testing.assert_allclose(sizes.mean(0), (4.5, 1.8, 1.4), atol=0.03)
    np.testing.assert_allclose(sizes.std(0), (0.1, 0.02, 0.05), rtol=0.2)


@pytest.mark.parametrize("label", OBJECT_CLASSES)
def test_every_class_fills_its_box_with_its_kitti_type(label):
    rng = np.random.default_rng(3)
    for _ in range(6):
        obj = sample_class_object(label, rng, CFG, LABELS)
        assert obj.label == label and KIND_LABEL[obj.kind] == label
        m = obj.surface.mesh
        keep = np.unique(m.triangles[~m.part_mask("mirror")])  # mirrors stick out (10 cm)
        extent = np.ptp(m.vertices[keep], axis=0)
        assert np.all(extent <= np.array(obj.size) + 1e-9)
        assert extent[2] == pytest.approx(obj.size[2])  # bodies are as tall as their boxes
        assert m.vertices[:, 2].min() == pytest.approx(0.0, abs=1e-9)
        assert set(obj.surface.materials) == set(m.part_names)
        assert len(set(obj.surface.semantics.values())) == 1


def test_vans_trucks_trams_and_misc_are_their_kitti_types():
    rng = np.random.default_rng(1)
    kinds = {sample_class_object(c, rng, CFG, LABELS).kind: c for c in ["Van"] * 12 + ["Misc"] * 12}
    assert {"van", "minibus"} <= set(kinds) and {"trailer", "caravan"} <= set(kinds)
    assert sample_object("truck", rng, LABELS).label == "Truck"
    assert sample_object("tram", rng, LABELS).label == "Tram"
    assert sample_object("van", rng, LABELS).label == "Van"
    tram = sample_object("tram", rng, LABELS)
    assert set(tram.surface.semantics.values()) == {SEMANTIC_ID["tram"]}


def test_tall_cars_are_suvs_or_mpvs_and_short_ones_hatchbacks():
    cfg = ObjectsConfig(size_std_m={**CFG.size_std_m, "Car": (0.0, 0.0, 0.0)})
    tall = ObjectsConfig(
        size_mean_m={**CFG.size_mean_m, "Car": (4.2, 1.75, 1.72)}, size_std_m=cfg.size_std_m
    )
    short = ObjectsConfig(
        size_mean_m={**CFG.size_mean_m, "Car": (3.5, 1.6, 1.48)}, size_std_m=cfg.size_std_m
    )
    rng = np.random.default_rng(0)
    tall_kinds = [sample_class_object("Car", rng, tall, LABELS).kind for _ in range(40)]
    short_kinds = [sample_class_object("Car", rng, short, LABELS).kind for _ in range(40)]
    # Expected shares from the priors and affinities: 88 % and 73 %.
    assert sum(k in ("suv", "mpv", "pickup") for k in tall_kinds) > 28
    assert sum(k == "hatchback" for k in short_kinds) > 20


def test_cyclists_bicycle_is_inside_the_cyclist_box():
    rng = np.random.default_rng(5)
    for _ in range(20):
        obj = sample_class_object("Cyclist", rng, CFG, LABELS)
        m = obj.surface.mesh
        bike = m.vertices[np.unique(m.triangles[m.part_mask("frame") | m.part_mask("tyre")])]
        half = np.array(obj.size[:2]) / 2
        assert np.all(np.abs(bike[:, :2]) <= half + 1e-9)
        assert np.ptp(bike[:, 0]) > 1.3  # a whole bicycle, wheels and all
        assert 0.0 <= bike[:, 2].min() < 1e-6 and bike[:, 2].max() <= obj.size[2]


def test_walkers_stride_shrinks_to_fit_a_short_box():
    short = ObjectsConfig(
        size_mean_m={**CFG.size_mean_m, "Pedestrian": (0.6, 0.7, 1.75)},
        size_std_m={**CFG.size_std_m, "Pedestrian": (0.0, 0.0, 0.0)},
        pedestrian_walking_probability=1.0,
    )
    rng = np.random.default_rng(2)
    for _ in range(10):
        obj = sample_class_object("Pedestrian", rng, short, LABELS)
        body = np.ptp(obj.surface.mesh.vertices, axis=0)
        assert (
            obj.size[0] == pytest.approx(0.6)
            and body[0] <= 0.6 - LABELS.pedestrian_padding_m[0] + 1e-9
        )


def test_same_generator_same_object():
    a = sample_class_object("Pedestrian", np.random.default_rng(4), CFG, LABELS)
    b = sample_class_object("Pedestrian", np.random.default_rng(4), CFG, LABELS)
    assert a.size == b.size and np.array_equal(a.surface.mesh.vertices, b.surface.mesh.vertices)


def test_unknown_class_or_kind_is_an_error():
    with pytest.raises(ValueError, match="label must be one of"):
        sample_class_object("Bus", np.random.default_rng(0), CFG, LABELS)
    with pytest.raises(ValueError, match="kind must be one of"):
        sample_object("tank", np.random.default_rng(0), LABELS)


def test_generated_labels_carry_the_kitti_types():
    """End to end: vans are labelled "Van", trucks "Truck", trams "Tram", trailers "Misc"."""
    from perception3d.sim.frame import generate_frame

    from .conftest import tiny_config

    cfg = tiny_config(
        1,
        12,
        "objects.mean_in_view={Van: 2.0, Truck: 2.0, Tram: 1.0, Misc: 2.0}",
        "objects.mean_out_of_view={}",
        "objects.mean_far={}",
        "objects.distance_bins_m=[8.0, 30.0]",
        "objects.distance_weights=[1.0]",
        "camera.image_scale=0.5",
    )
    frame = generate_frame(cfg, 0)
    rows = [o for o in frame.labels.objects if not o.is_dontcare]
    scene_labels = [frame.scene.objects[k].label for k in frame.labels.scene_index[: len(rows)]]
    assert [o.type for o in rows] == scene_labels
    assert {"Van", "Truck", "Misc"} <= {o.type for o in rows} <= {"Van", "Truck", "Tram", "Misc"}
    for obj, k in zip(rows, frame.labels.scene_index):
        kind = frame.scene.objects[k].kind
        assert KIND_LABEL[kind] == obj.type
