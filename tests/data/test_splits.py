"""The shipped KITTI splits and ``perception3d kitti-splits``: the standard id lists, written
to ImageSets/, an identical file left alone, a different one refused unless --force."""

from __future__ import annotations

import pytest

from perception3d.cli import main
from perception3d.data.kitti import KittiObjectDataset, read_split_file
from perception3d.data.splits import SplitFileConflict, kitti_split_ids, write_kitti_splits


def test_shipped_splits_are_the_standard_ones(kitti_root):
    train, val = kitti_split_ids("train"), kitti_split_ids("val")
    assert (len(train), len(val), len(kitti_split_ids("test"))) == (3712, 3769, 7518)
    assert not set(train) & set(val)
    assert kitti_split_ids("trainval") == [f"{i:06d}" for i in range(7481)]
    for name in ("train", "val", "test"):  # the ImageSets the field uses, as in kitti_samples
        assert kitti_split_ids(name) == read_split_file(kitti_root / "ImageSets" / f"{name}.txt")
    with pytest.raises(ValueError, match="split must be one of"):
        kitti_split_ids("minival")


def test_write_then_keep_then_refuse_then_force(tmp_path):
    results = write_kitti_splits(tmp_path)
    assert [(r.name, r.status, r.num_ids) for r in results] == [
        ("train", "written", 3712), ("val", "written", 3769), ("trainval", "written", 7481),
        ("test", "written", 7518),
    ]  # fmt: skip
    val = tmp_path / "ImageSets" / "val.txt"
    assert read_split_file(val) == kitti_split_ids("val")
    val.write_text("\n".join(kitti_split_ids("val")) + "\n\n")  # same ids, other whitespace
    assert {r.status for r in write_kitti_splits(tmp_path)} == {"unchanged"}
    val.write_text("000001\n000002\n")
    before = (tmp_path / "ImageSets" / "train.txt").stat().st_mtime_ns
    with pytest.raises(SplitFileConflict, match=r"val\.txt holds 2 ids.*3769.*--force"):
        write_kitti_splits(tmp_path)
    assert (tmp_path / "ImageSets" / "train.txt").stat().st_mtime_ns == before  # nothing written
    (replaced,) = write_kitti_splits(tmp_path, ("val",), force=True)
    assert (replaced.status, replaced.previous_ids) == ("replaced", 2)
    assert read_split_file(val) == kitti_split_ids("val")


def test_cli_counts_the_sweeps_present(kitti_copy, capsys):
    (kitti_copy / "ImageSets" / "val.txt").write_text("000008\n")
    assert main(["kitti-splits", "--data-root", str(kitti_copy)]) == 2
    assert "val.txt holds 1 ids" in capsys.readouterr().err
    assert main(["kitti-splits", "--data-root", str(kitti_copy), "--force"]) == 0
    out = capsys.readouterr().out
    assert "train.txt: unchanged, 3712 ids, 2 with a velodyne sweep here" in out
    assert "val.txt: replaced (was 1 ids), 3769 ids, 1 with a velodyne sweep here" in out
    ds = KittiObjectDataset(kitti_copy, "trainval")
    assert len(ds) == 7481
