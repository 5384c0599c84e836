"""Pseudo-labels from the camera teacher (2D detector + Frustum PointNet) on unlabelled sweeps."""

import json
import shutil
from pathlib import Path

import pytest

from perception3d.data.kitti import KittiObject, KittiObjectDataset, read_label_file
from perception3d.experiments.sim2real.camera_teacher import camera_frames, make_camera_pseudo_root
from perception3d.experiments.sim2real.pseudo import PseudoConfig, label_rows, mix_roots

from .conftest import copy_frame

DET2D = "perception3d/assets/weights/frustum_detector2d_dense.pt"
RULE = PseudoConfig(
    positive_score={"Car": 0.5, "Pedestrian": 0.5, "Cyclist": 0.5}, ignore_score=0.2
)


def _row(kind: str, score: float, x: float) -> KittiObject:
    return KittiObject(kind, 0.3, 2, -1.0, (10.0, 20.0, 60.0, 80.0), (1.5, 1.6, 3.9),
                       (x, 1.7, 20.0), 0.4, score)  # fmt: skip


def test_scores_become_objects_dontcare_regions_or_nothing():
    teacher = [_row("Car", 0.71, 1.0), _row("Pedestrian", 0.5, 2.0), _row("Car", 0.49, 3.0),
               _row("Cyclist", 0.2, 4.0), _row("Car", 0.19, 5.0)]  # fmt: skip
    rows = label_rows(teacher, RULE)
    assert [r.type for r in rows] == ["Car", "Pedestrian", "DontCare", "DontCare"]
    for row, src in zip(rows, teacher, strict=False):
        # the 3D box and the 2D box are the teacher's; the row is unscored and fully visible
        assert (row.location, row.dimensions, row.rotation_y, row.bbox) == (
            src.location, src.dimensions, src.rotation_y, src.bbox)  # fmt: skip
        assert row.score is None and row.truncated == 0.0 and row.occluded == 0


def _unlabelled_copy(kitti_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "unlabelled"
    for fid in ("000000", "000008", "004139"):  # 004139 has no image_2
        copy_frame(kitti_root, root, fid)
    shutil.rmtree(root / "training" / "label_2")
    return root


def test_a_labelled_root_is_refused(kitti_root, tmp_path):
    with pytest.raises(ValueError, match="label_2"):
        camera_frames([kitti_root])
    with pytest.raises(ValueError, match="label_2"):
        make_camera_pseudo_root([kitti_root], tmp_path / "out", RULE, DET2D)


def test_only_frames_with_image_and_calib(kitti_root, tmp_path):
    assert camera_frames([_unlabelled_copy(kitti_root, tmp_path)]) == [(0, "000000"),
                                                                       (0, "000008")]  # fmt: skip


@pytest.mark.slow
def test_root_labels_are_the_teachers_rows_in_each_frames_own_view(kitti_root, tmp_path):
    from perception3d.engine.frustum_infer import run_frustum_inference

    real = _unlabelled_copy(kitti_root, tmp_path)
    summary = make_camera_pseudo_root([real], tmp_path / "pseudo", RULE, DET2D,
                                      heldout=("000000",))  # fmt: skip
    (real / "ImageSets").mkdir()
    (real / "ImageSets" / "all.txt").write_text("000000\n000008\n")
    # the same detections as `frustum infer` on the source frames (own image, own calib)
    run_frustum_inference(real, tmp_path / "direct", "all", DET2D, progress=False,
                          horizon_tiles=False)  # fmt: skip
    out = tmp_path / "pseudo"
    total = 0
    for fid in ("000000", "000008"):
        teacher = read_label_file(out / "teacher" / f"c0_{fid}.txt")
        assert teacher == read_label_file(tmp_path / "direct" / f"{fid}.txt")
        rows = read_label_file(out / "training" / "label_2" / f"c0_{fid}.txt")
        assert rows == label_rows(teacher, RULE)
        total += len(rows)
        calib = (out / "training" / "calib" / f"c0_{fid}.txt").read_text()
        assert calib == (real / "training" / "calib" / f"{fid}.txt").read_text()
        assert (out / "training" / "image_2" / f"c0_{fid}.png").is_file()
    assert total > 0 and sum(summary["rows"].values()) == total
    assert summary["heldout"] == ["c0_000000"] and summary["views"] == 1
    assert KittiObjectDataset(out, "train").ids == ["c0_000008"]
    # mixing lists only the training frame, `repeat` times; the held-out one is not linked
    synth = copy_frame(kitti_root, tmp_path / "synth", "004139")
    (synth / "ImageSets").mkdir()
    (synth / "ImageSets" / "train.txt").write_text("004139\n")
    (synth / "ImageSets" / "val.txt").write_text("\n")
    counts = mix_roots(synth, out, tmp_path / "mixed", repeat=3)
    assert counts == {"train": 4, "synthetic": 1, "views": 1}
    assert KittiObjectDataset(tmp_path / "mixed", "train").ids.count("c0_000008") == 3
    assert not (tmp_path / "mixed" / "training" / "velodyne" / "c0_000000.bin").exists()


def test_unknown_heldout_frame_is_refused(kitti_root, tmp_path):
    real = _unlabelled_copy(kitti_root, tmp_path)
    with pytest.raises(ValueError, match="heldout"):
        make_camera_pseudo_root([real], tmp_path / "out", RULE, DET2D, heldout=("004139",))


def test_cli_takes_one_teacher(kitti_root, tmp_path, capsys):
    from perception3d.cli import main

    real = _unlabelled_copy(kitti_root, tmp_path)
    base = ["sim2real-pseudo", "--real", str(real), "--out", str(tmp_path / "p")]
    assert main(base) == 2
    assert main([*base, "--checkpoint", "x.pt", "--camera-teacher", DET2D]) == 2
    assert "--checkpoint or --camera-teacher" in capsys.readouterr().err
    assert (
        main([*base, "--camera-teacher", DET2D, "--heldout", "000000", "--car-score", "0.5"]) == 0
    )
    summary = json.loads((tmp_path / "p" / "pseudo_labels.json").read_text())
    assert summary["heldout"] == ["c0_000000"] and summary["config"]["positive_score"]["Car"] == 0.5
