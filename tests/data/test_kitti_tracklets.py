"""tracklet_labels.xml: write -> read round trip, the raw devkit's layout, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.data.kitti_tracklets import Tracklet, read_tracklets, write_tracklets
from perception3d.errors import KittiFormatError


def _tracklet(first: int, n: int, kind: str = "Car") -> Tracklet:
    poses = np.zeros((n, 6))
    poses[:, 0] = 10.0 + np.arange(n)
    poses[:, 2] = -1.7
    poses[:, 5] = 0.25
    ints = np.zeros(n, np.int64)
    return Tracklet(kind, np.array([1.5, 1.6, 4.0]), first, poses, ints + 2, ints, ints, ints)


def test_round_trip(tmp_path):
    tracks = [_tracklet(0, 3), _tracklet(2, 1, "Person (sitting)")]
    path = write_tracklets(tmp_path / "tracklet_labels.xml", tracks)
    text = path.read_text()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>')
    assert "<!DOCTYPE boost_serialization>" in text and "<count>2</count>" in text
    back = read_tracklets(path)
    assert [t.object_type for t in back] == ["Car", "Person (sitting)"]
    np.testing.assert_allclose(back[0].poses, tracks[0].poses, atol=1e-6)
    assert back[1].first_frame == 2 and back[1].frames.tolist() == [2]
    np.testing.assert_allclose(back[0].size_hwl_m, [1.5, 1.6, 4.0])


def test_boxes_lidar_lift_the_bottom_centre():
    box = _tracklet(0, 1).boxes_lidar()[0]
    # tracklet z is the bottom face (the devkit draws the box from tz to tz + h)
    np.testing.assert_allclose(box, [10.0, 0.0, -1.7 + 0.75, 4.0, 1.6, 1.5, 0.25])


def test_errors_name_the_file(tmp_path):
    bad = tmp_path / "t.xml"
    bad.write_text("<tracklets><count>1</count></tracklets")
    with pytest.raises(KittiFormatError, match="t.xml: not valid XML"):
        read_tracklets(bad)
    path = write_tracklets(tmp_path / "u.xml", [_tracklet(0, 2)])
    path.write_text(path.read_text().replace("<count>2</count>", "<count>3</count>"))
    with pytest.raises(KittiFormatError, match="poses/count says 3, found 2"):
        read_tracklets(path)
    path = write_tracklets(tmp_path / "v.xml", [_tracklet(0, 2)])
    path.write_text(path.read_text().replace("<tx>10.000000</tx>", "<tx>ten</tx>"))
    with pytest.raises(KittiFormatError, match=r"<tx>: expected a number"):
        read_tracklets(path)
