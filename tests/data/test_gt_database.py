"""Ground-truth database: every labelled object's points, stored without pickle, loaded back
exactly; the KITTI difficulty of each object; the create-db command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from perception3d.cli import main
from perception3d.data.gt_database import GtDatabase, create_gt_database, kitti_difficulty
from perception3d.data.kitti import KittiObjectDataset, parse_label_line
from perception3d.errors import DataFormatError
from perception3d.geometry.boxes import points_in_boxes


@pytest.fixture(scope="module")
def database(kitti_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("db") / "training"
    return GtDatabase.load(create_gt_database(kitti_root, "training", out, progress=False))


def test_every_labelled_object_with_its_exact_points(database, kitti_root):
    dataset = KittiObjectDataset(kitti_root)
    assert len(database) == 1 + 6 + 22  # 000000, 000008, 004139 without DontCare
    for k in range(len(database)):
        frame = dataset.frame(database.frame_ids[k])
        labelled = [i for i, o in enumerate(frame.objects) if not o.is_dontcare]
        j = labelled.index(database.label_index[k])  # its row among the boxes
        np.testing.assert_array_equal(database.boxes_lidar[k], frame.boxes_lidar[j])
        assert database.names[k] == frame.names[j]
        inside = points_in_boxes(frame.points, frame.boxes_lidar, return_mask=True)[:, j]
        np.testing.assert_array_equal(database.object_points(k), frame.points[inside])
        assert database.num_points[k] == inside.sum()
    assert database.num_points.sum() == len(database.points)


def test_stored_without_pickle(database):
    with (database.path / "points.npy").open("rb") as f:
        points = np.load(f, allow_pickle=False)
    assert points.dtype == np.float32 and points.shape[1] == 4
    index = json.loads((database.path / "index.json").read_text())
    assert index["meta"]["format_version"] == 1 and index["meta"]["num_objects"] == len(database)


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("Pedestrian 0.00 0 -1.37 289.06 157.61 310.06 214.16 1.82 0.78 0.94 -9.94 1.08 23.30 -1.77", 0),
        ("Car 0.05 2 0.89 1097.43 183.53 1223.00 230.25 1.44 1.50 3.80 19.15 1.57 24.49 1.54", 2),
        ("Car 0.00 1 -2.16 960.72 180.90 1068.97 229.09 1.48 1.56 3.33 13.75 1.51 23.97 -1.64", 1),
        ("Pedestrian 0.00 0 -1.2 289 150 304 190 1.9 0.6 0.7 -15 0.7 34 -1.6", 1),  # 40 px: not >
        ("Car 0.60 0 0.0 0 150 100 250 1.4 1.6 3.9 0 1.6 10 0", -1),  # truncated 0.6
    ],
)  # fmt: skip
def test_kitti_difficulty_hand_values(line, level):
    assert kitti_difficulty(parse_label_line(line)) == level


def test_select_filters(database):
    cars = database.select("Car", min_points=100, difficulties=(0, 1, 2), max_occluded=3)
    assert np.all(database.names[cars] == "Car") and np.all(database.num_points[cars] >= 100)
    assert len(cars) == np.sum((database.names == "Car") & (database.num_points >= 100)
                               & (database.difficulty >= 0))  # fmt: skip
    assert len(database.select("Car", 0, (0,), 0)) < len(database.select("Car", 0, (0, 1, 2), 3))


def test_corrupt_database_errors_name_the_file(database, tmp_path):
    for name in ("points.npy", "index.json"):
        (tmp_path / name).write_bytes((database.path / name).read_bytes())
    index = json.loads((tmp_path / "index.json").read_text())
    index["objects"]["num_points"][0] += 1
    (tmp_path / "index.json").write_text(json.dumps(index))
    with pytest.raises(DataFormatError, match=r"index\.json: offsets/num_points do not tile"):
        GtDatabase.load(tmp_path)
    (tmp_path / "index.json").write_text("{nope")
    with pytest.raises(DataFormatError, match="not valid JSON"):
        GtDatabase.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="perception3d create-db"):
        GtDatabase.load(tmp_path / "missing")


def test_create_db_command(kitti_root, tmp_path, capsys):
    out = tmp_path / "db"
    assert main(["create-db", "--data-root", str(kitti_root), "--split", "training",
                 "--out", str(out)]) == 0  # fmt: skip
    assert "29 objects (Car 11, Cyclist 1, Pedestrian 17)" in capsys.readouterr().out
    assert len(GtDatabase.load(out)) == 29
    # the standard train split names frames the samples do not hold: a clear error
    assert main(["create-db", "--data-root", str(kitti_root), "--out", str(tmp_path / "x")]) == 2
    assert "not found" in capsys.readouterr().err
