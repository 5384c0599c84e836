"""tools/vertical_curve_root.py: a root bent by a vertical curve keeps every labelled object's
points inside its box and moves a box x metres ahead by k x^2."""

import json
from pathlib import Path

import numpy as np
import pytest

from perception3d.data.kitti import KittiObjectDataset
from perception3d.geometry.boxes import points_in_boxes
from tests.tools.scripts import load_tool

ROOT = Path(__file__).parents[1] / "data" / "kitti_samples"


@pytest.fixture(scope="module")
def tool():
    return load_tool("vertical_curve_root")


def test_bent_root_moves_points_and_boxes_together(tool, tmp_path):
    out, split = tmp_path / "bent", tmp_path / "three.txt"
    split.write_text("000000\n000008\n004139\n")
    tool.main([str(ROOT), str(out), "--split", str(split), "--max-k", "3e-4", "--seed", "3"])
    ks = json.loads((out / "curve.json").read_text())["k"]
    src, dst = KittiObjectDataset(ROOT, ids=list(ks)), KittiObjectDataset(out, ids=list(ks))
    moved = 0
    for fid, k in ks.items():
        a, b = src.frame(fid), dst.frame(fid)
        assert abs(k) <= 3e-4 and b.names.tolist() == a.names.tolist()
        x = a.points[:, 0].astype(np.float64)
        np.testing.assert_allclose(b.points[:, 2] - a.points[:, 2], k * x * x, atol=1e-4)
        # label rows keep 4 decimals: centres move by k x^2 (to 1e-4 m), nothing else changes
        np.testing.assert_allclose(b.boxes_lidar[:, 2] - a.boxes_lidar[:, 2],
                                   k * a.boxes_lidar[:, 0] ** 2, atol=2e-4)  # fmt: skip
        np.testing.assert_allclose(b.boxes_lidar[:, [0, 1, 3, 4, 5, 6]],
                                   a.boxes_lidar[:, [0, 1, 3, 4, 5, 6]], atol=2e-4)  # fmt: skip
        inside_a = points_in_boxes(a.points, a.boxes_lidar)
        inside_b = points_in_boxes(b.points, b.boxes_lidar)
        assert (inside_a != inside_b).mean() < 0.01
        moved += int((np.abs(b.boxes_lidar[:, 2] - a.boxes_lidar[:, 2]) > 0.05).sum())
    assert moved > 0  # the far boxes of the sample frames moved visibly


def test_missing_split_is_a_clear_error(tool, tmp_path, capsys):
    with pytest.raises(SystemExit):
        tool.main([str(ROOT), str(tmp_path / "o"), "--split", "nosuch"])
    assert "ImageSets/nosuch.txt" in capsys.readouterr().err
