"""Pseudo-labelled real views and their 3D DontCare regions."""

import numpy as np
import pytest

from perception3d.data.kitti import KittiObjectDataset, read_label_file
from perception3d.experiments.sim2real.pseudo import (
    PseudoConfig,
    make_pseudo_root,
    mix_roots,
    write_turned_views,
)
from perception3d.models.anchors import BACKGROUND, IGNORE, AnchorTargetAssigner

from .conftest import WEIGHTS, copy_frame, unlabelled_root


def test_config_is_checked():
    with pytest.raises(ValueError, match="ignore_score"):
        PseudoConfig(ignore_score=0.9)
    with pytest.raises(ValueError, match="rotations_deg"):
        PseudoConfig(rotations_deg=())


def test_heldout_sweeps_are_left_out(kitti_root, tmp_path):
    import shutil

    real = unlabelled_root(kitti_root, tmp_path)
    shutil.copy(kitti_root / "training/velodyne/000008.bin", real / "training/velodyne")
    ids = write_turned_views([real], tmp_path / "views", (0.0, 90.0), 100, heldout=("004139",))
    assert ids == ["r0v0_000008", "r0v1_000008"]
    written = sorted(p.stem for p in (tmp_path / "views/training/velodyne").iterdir())
    assert written == ids  # nothing of the held-out sweep was written
    with pytest.raises(ValueError, match=r"heldout sweeps \['000123'\] are not in"):
        write_turned_views([real], tmp_path / "other", (0.0,), 100, heldout=("000123",))


@pytest.mark.slow
def test_views_labels_and_mixing(kitti_root, tmp_path):
    real = unlabelled_root(kitti_root, tmp_path)
    cfg = PseudoConfig(rotations_deg=(0.0, 180.0), ignore_score=0.15)
    summary = make_pseudo_root(WEIGHTS, [real], tmp_path / "pseudo", cfg)
    assert summary["views"] == 2 and set(summary["rows"]) <= {"Car", "Pedestrian", "Cyclist",
                                                                "DontCare"}  # fmt: skip
    assert summary["rows"].get("DontCare", 0) > 0
    ds = KittiObjectDataset(tmp_path / "pseudo", "train")
    assert ds.ids == ["r0v0_004139", "r0v1_004139"]
    turned = ds.frame("r0v1_004139").points
    original = ds.frame("r0v0_004139").points
    np.testing.assert_allclose(turned[:, :2], -original[:, :2], atol=1e-4)  # 180 degrees
    frame = ds.frame("r0v0_004139")
    rows = read_label_file(frame.label_path)
    regions = frame.dontcare_boxes_lidar
    assert len(regions) == sum(o.is_dontcare for o in rows) > 0
    assert (regions[:, 3:6] > 0).all()
    # training samples carry the regions (they follow the augmentation); inference ones do not
    from perception3d.engine.config import load_experiment
    from perception3d.lidar.dataset import LidarDetectionDataset

    grid = load_experiment("configs/models/pointpillars_lite.yaml").model.voxel
    train = LidarDetectionDataset(tmp_path / "pseudo", "train", grid, training=True)
    infer = LidarDetectionDataset(tmp_path / "pseudo", "train", grid)
    assert "DontCare" in set(train[0]["gt_names"]) and "DontCare" not in set(infer[0]["gt_names"])
    # a labelled root is refused
    with pytest.raises(ValueError, match="label_2"):
        make_pseudo_root(WEIGHTS, [kitti_root], tmp_path / "refused", cfg)
    # a second run into the same folder is refused (the first run's labels would stay beside)
    before = sorted(p.name for p in (tmp_path / "pseudo" / "training" / "label_2").iterdir())
    with pytest.raises(ValueError, match="already holds 2 label files"):
        make_pseudo_root(WEIGHTS, [real], tmp_path / "pseudo", cfg)
    after = sorted(p.name for p in (tmp_path / "pseudo" / "training" / "label_2").iterdir())
    assert after == before
    # mixing with a synthetic root: its train ids, then the views twice
    synth = copy_frame(kitti_root, tmp_path / "synth")
    (synth / "ImageSets").mkdir()
    (synth / "ImageSets" / "train.txt").write_text("000008\n")
    (synth / "ImageSets" / "val.txt").write_text("\n")
    counts = mix_roots(synth, tmp_path / "pseudo", tmp_path / "mixed", repeat=2)
    assert counts == {"train": 5, "synthetic": 1, "views": 2}
    mixed = KittiObjectDataset(tmp_path / "mixed", "train")
    assert mixed.ids.count("r0v1_004139") == 2 and len(mixed.frame("000008").points) == 17238


def test_kittis_own_dontcare_rows_carry_no_region(kitti_root):
    frame = KittiObjectDataset(kitti_root, ids=["000008"]).frame("000008")
    assert any(o.is_dontcare for o in frame.objects)
    assert frame.dontcare_boxes_lidar.shape == (0, 7)


def test_background_anchors_in_a_dontcare_region_are_ignored():
    from perception3d.engine.config import load_experiment

    cfg = load_experiment("configs/models/pointpillars_lite.yaml").model
    assign = AnchorTargetAssigner(cfg)
    car = np.array([[20.0, 0.0, -0.9, 3.9, 1.6, 1.56, 0.0]])
    region = np.array([[30.0, 5.0, -0.9, 3.9, 1.6, 1.56, 0.0]])
    plain = assign(car, np.array(["Car"], dtype=object))["anchor_labels"]
    both = assign(np.concatenate([car, region]), np.array(["Car", "DontCare"], dtype=object))
    changed = both["anchor_labels"] != plain
    assert changed.any()
    assert (plain[changed] == BACKGROUND).all() and (both["anchor_labels"][changed] == IGNORE).all()
    assert (both["anchor_labels"] > 0).sum() == (plain > 0).sum()  # positives untouched
