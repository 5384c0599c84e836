"""The ``perception3d frustum`` commands end to end on the real sample frames."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from perception3d.cli import main
from perception3d.data.kitti import read_label_file
from perception3d.engine.checkpoint import CheckpointError, load_checkpoint

ROOT = Path(__file__).parents[2]

TINY_3D = [
    "model.num_points=64", "model.num_object_points=32", "model.seg_local_channels=[8,16]",
    "model.seg_global_channels=[16,32]", "model.seg_head_channels=[16]",
    "model.center_channels=[16,32]", "model.center_head_channels=[32]",
    "model.box_channels=[16,32]", "model.box_head_channels=[32]", "train.epochs=1",
    "train.batch_size=4", "data.min_object_points=20",
]  # fmt: skip
TINY_2D = [
    "model.channels=[8,8,16,16]", "model.neck_channels=8", "model.head_channels=8",
    "model.input_hw=[64,208]", "train.epochs=1", "train.batch_size=2", "data.crop_width=0",
    "model.score_threshold=0.0", "model.max_detections=5", "model.pretrained_backbone=false",
]  # fmt: skip


@pytest.fixture
def tiny_root(tmp_path, kitti_root) -> Path:
    """000000 and 000008 (the sample frames with images) as both train and val split."""
    root = tmp_path / "kitti"
    for sub in ("calib", "image_2", "label_2", "velodyne"):
        (root / "training" / sub).mkdir(parents=True)
        for fid in ("000000", "000008"):
            src = next((kitti_root / "training" / sub).glob(f"{fid}.*"))
            shutil.copy(src, root / "training" / sub / src.name)
    (root / "ImageSets").mkdir()
    for split in ("train", "val"):
        (root / "ImageSets" / f"{split}.txt").write_text("000000\n000008\n")
    return root


def _train(kind: str, root: Path, out: Path, extra: list[str]) -> Path:
    config = ROOT / "configs" / "frustum" / ("detector2d.yaml" if kind == "2d" else
                                             "frustum_pointnet.yaml")  # fmt: skip
    sets = [f"data.root={root}", "data.max_train_frames=null",
            "data.max_val_frames=null", *extra]  # fmt: skip
    args = [x for s in sets for x in ("--set", s)]
    assert main(["frustum", f"train-{kind}", str(config), "--out", str(out), "--no-progress",
                 *args]) == 0  # fmt: skip
    return out / "latest.pt"


@pytest.mark.slow
def test_train_infer_evaluate(tiny_root, tmp_path, capsys):
    ckpt3d = _train("3d", tiny_root, tmp_path / "f3d", TINY_3D)
    again = _train("3d", tiny_root, tmp_path / "f3d_again", TINY_3D)
    a, b = torch.load(ckpt3d, weights_only=True), torch.load(again, weights_only=True)
    for key in a["model"]:  # seeded: the same config trains the same weights on CPU
        torch.testing.assert_close(a["model"][key], b["model"][key], rtol=0, atol=0)
    ckpt2d = _train("2d", tiny_root, tmp_path / "f2d", TINY_2D)
    assert load_checkpoint(ckpt2d, kind="detector2d")["epoch"] == 1
    with pytest.raises(CheckpointError, match="expected a 'frustum' checkpoint"):
        load_checkpoint(ckpt2d, kind="frustum")
    # 3D boxes from ground-truth 2D boxes were written and evaluated by train-3d
    rows = read_label_file(tmp_path / "f3d" / "val_gt2d" / "000008.txt")
    assert len(rows) == 6 and all(r.score is not None for r in rows)
    out = tmp_path / "pred"
    images = tmp_path / "isp_images"  # another image folder feeds the 2D detector
    shutil.copytree(tiny_root / "training" / "image_2", images)
    assert main(["frustum", "infer", "--data-root", str(tiny_root), "--split", "val",
                 "--det2d", str(ckpt2d), "--model3d", str(ckpt3d), "--out", str(out),
                 "--images", str(images), "--no-progress"]) == 0  # fmt: skip
    for fid in ("000000", "000008"):
        for row in read_label_file(out / f"{fid}.txt"):
            assert row.score is not None and row.type in ("Car", "Pedestrian", "Cyclist")
    capsys.readouterr()
    assert main(["eval", "kitti", "--gt-dir", str(tiny_root), "--pred-dir", str(out),
                 "--split", str(tiny_root / "ImageSets" / "val.txt")]) == 0  # fmt: skip
    assert "Car" in capsys.readouterr().out
    missing = tmp_path / "nowhere"
    assert main(["frustum", "infer-2d", "--data-root", str(tiny_root), "--det2d", str(ckpt2d),
                 "--out", str(out), "--images", str(missing), "--no-progress",
                 "--overwrite"]) == 2  # fmt: skip


@pytest.mark.slow
def test_infer_runs_frustum_and_2d_configs(tiny_root, tmp_path, capsys):
    """``perception3d infer CONFIG CKPT`` of the two Frustum PointNet tasks: the 3D stage behind
    a 2D detector checkpoint, and the 2D detector alone; a detector config is refused for a
    frustum checkpoint."""
    ckpt3d = _train("3d", tiny_root, tmp_path / "f3d", TINY_3D)
    ckpt2d = _train("2d", tiny_root, tmp_path / "f2d", TINY_2D)
    configs = ROOT / "configs" / "frustum"
    runs = ((configs / "frustum_pointnet.yaml", ckpt3d, TINY_3D, "p3d"),
            (configs / "detector2d.yaml", ckpt2d, TINY_2D, "p2d"))  # fmt: skip
    for config, ckpt, tiny, out in runs:
        sets = [x for s in tiny for x in ("--set", s)]
        args = ["infer", str(config), str(ckpt), "--det2d", str(ckpt2d), "--data-root",
                str(tiny_root), "--out", str(tmp_path / out), "--no-progress", *sets]  # fmt: skip
        assert main(args) == 0
        assert sorted(p.name for p in (tmp_path / out).iterdir()) == ["000000.txt", "000008.txt"]
    rows = read_label_file(tmp_path / "p2d" / "000008.txt")
    assert rows and all(r.location == (-1000.0, -1000.0, -1000.0) for r in rows)  # 2D only
    capsys.readouterr()
    lite = ROOT / "configs" / "models" / "pointpillars_lite.yaml"
    assert main(["infer", str(lite), str(ckpt3d), "--data-root", str(tiny_root),
                 "--out", str(tmp_path / "p"), "--no-progress"]) == 2  # fmt: skip
    assert "expected a 'detector' checkpoint" in capsys.readouterr().err
