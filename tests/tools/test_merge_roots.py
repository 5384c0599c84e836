"""tools/merge_roots.py: a merged root reads back the same sweeps and labels under the new ids,
and a collision or a missing sweep is refused without leaving a partial root."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from perception3d.data.kitti import KittiObjectDataset
from tests.tools.scripts import load_tool

ROOT = Path(__file__).parents[1] / "data" / "kitti_samples"


@pytest.fixture(scope="module")
def tool():
    return load_tool("merge_roots")


@pytest.fixture
def splits(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("000008\n004139\n")
    b.write_text("000008\n")
    return a, b


def test_merged_root_reads_the_same_frames_under_new_ids(tool, tmp_path, splits):
    out = tmp_path / "mix"
    tool.main([str(out), "--part", str(ROOT), str(splits[0]), "0",
               "--part", str(ROOT), str(splits[1]), "100000"])  # fmt: skip
    ids = (out / "ImageSets" / "train.txt").read_text().split()
    assert ids == ["000008", "004139", "100008"]
    src, dst = KittiObjectDataset(ROOT, ids=["000008", "004139"]), KittiObjectDataset(out, ids=ids)
    for old, new in (("000008", "000008"), ("004139", "004139"), ("000008", "100008")):
        a, b = src.frame(old), dst.frame(new)
        np.testing.assert_array_equal(a.points, b.points)
        np.testing.assert_array_equal(a.boxes_lidar, b.boxes_lidar)
        assert a.names.tolist() == b.names.tolist()
    assert all(os.path.islink(p) for p in (out / "training" / "velodyne").iterdir())
    record = json.loads((out / "merge.json").read_text())["parts"]
    assert [(p["offset"], p["frames"]) for p in record] == [(0, 2), (100000, 1)]


def test_colliding_ids_and_an_existing_out_are_refused(tool, tmp_path, splits):
    out = tmp_path / "mix"
    with pytest.raises(ValueError, match="frame id 000008 comes from both"):
        tool.main([str(out), "--part", str(ROOT), str(splits[0]), "0",
                   "--part", str(ROOT), str(splits[1]), "0"])  # fmt: skip
    assert not out.exists()
    out.mkdir()
    with pytest.raises(FileExistsError, match="exists"):
        tool.main([str(out), "--part", str(ROOT), str(splits[1]), "0"])


def test_a_frame_without_a_sweep_is_named_and_leaves_nothing(tool, tmp_path, splits):
    root = tmp_path / "root"
    shutil.copytree(ROOT, root)
    (root / "training" / "velodyne" / "004139.bin").unlink()
    out = tmp_path / "mix"
    with pytest.raises(ValueError, match=r"velodyne: no file for frame 004139"):
        tool.main([str(out), "--part", str(root), str(splits[0]), "0"])
    assert not out.exists() and not (tmp_path / "mix.partial").exists()
