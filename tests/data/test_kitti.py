"""KITTI object layout: reading, writing byte-for-byte, and clear errors on bad input."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.data.kitti import (
    KittiObject,
    KittiObjectDataset,
    labels_to_arrays,
    read_label_file,
    read_velodyne,
    write_label_file,
    write_velodyne,
)
from perception3d.errors import KittiFormatError, MissingFrameError

FRAMES = ["000000", "000008", "004139"]


def test_dataset_lists_and_loads_sample_frames(kitti_root):
    ds = KittiObjectDataset(kitti_root)
    assert ds.ids == FRAMES and len(ds) == 3
    f = ds.frame("000008")
    assert f.points.dtype == np.float32 and f.points.shape == (17238, 4)
    assert f.image.shape == (3, 375, 1242) and f.image.dtype == np.float32
    assert 0.0 <= f.image.min() and f.image.max() <= 1.0
    assert len(f.objects) == 10 and sum(o.is_dontcare for o in f.objects) == 4
    assert f.boxes_lidar.shape == (6, 7) and list(f.names) == ["Car"] * 6
    big = ds.frame(4139)
    assert big.image is None and big.image_shape is None
    assert big.points.shape == (123266, 4)
    assert sorted(set(big.names)) == ["Car", "Cyclist", "Pedestrian"]
    assert ds.frame("0").points.shape == (800, 4)


def test_dataset_split_files(kitti_root):
    ds = KittiObjectDataset(kitti_root, split="val")
    assert len(ds) == 3769 and ds.ids[:2] == ["000001", "000002"]
    assert len(KittiObjectDataset(kitti_root, split="train")) == 3712
    assert KittiObjectDataset(kitti_root, ids=kitti_root / "ImageSets/train.txt").ids[0] == "000000"


def test_missing_frame_and_folder(kitti_root, tmp_path):
    with pytest.raises(MissingFrameError, match=r"frame 000001: .*velodyne/000001.bin not found"):
        KittiObjectDataset(kitti_root).frame(1)
    with pytest.raises(MissingFrameError, match=r"no such folder"):
        KittiObjectDataset(tmp_path)


@pytest.mark.parametrize("fid", FRAMES)
def test_writers_round_trip_byte_for_byte(kitti_root, tmp_path, fid):
    src_label = kitti_root / f"training/label_2/{fid}.txt"
    out = write_label_file(tmp_path / "label.txt", read_label_file(src_label))
    assert out.read_bytes() == src_label.read_bytes()
    src_bin = kitti_root / f"training/velodyne/{fid}.bin"
    out = write_velodyne(tmp_path / "v.bin", read_velodyne(src_bin))
    assert out.read_bytes() == src_bin.read_bytes()


def test_result_rows_with_score_round_trip(tmp_path):
    objs = [KittiObject("Car", 0.0, 0, -1.57, (1.0, 2.0, 30.5, 40.25), (1.5, 1.6, 3.9),
                        (1.0, 1.7, 20.0), -1.5, score=0.8765),
            KittiObject("Pedestrian", 0.0, 0, 0.1, (5.0, 6.0, 7.0, 8.0), (1.8, 0.6, 0.8),
                        (-3.0, 1.6, 12.0), 0.2, score=0.12)]
    path = write_label_file(tmp_path / "000001.txt", objs)
    assert path.read_text().splitlines()[0] == (
        "Car 0.00 0 -1.57 1.00 2.00 30.50 40.25 1.50 1.60 3.90 1.00 1.70 20.00 -1.50 0.8765")
    assert read_label_file(path) == objs
    with pytest.raises(KittiFormatError, match=r"line 1: expected 15 columns, got 16"):
        read_label_file(path, allow_score=False)


def test_empty_files_are_valid(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    assert read_label_file(tmp_path / "empty.txt") == []
    write_velodyne(tmp_path / "e.bin", np.zeros((0, 4), np.float32))
    assert read_velodyne(tmp_path / "e.bin").shape == (0, 4)


def test_labels_to_arrays(kitti_root):
    arr = labels_to_arrays(read_label_file(kitti_root / "training/label_2/000008.txt"))
    assert arr["bbox"].shape == (10, 4) and arr["boxes_cam"].shape == (10, 7)
    np.testing.assert_allclose(arr["boxes_cam"][1], [-1.17, 1.65, 7.86, 3.68, 1.57, 1.50, 1.90])
    assert np.isnan(arr["score"]).all()
    assert labels_to_arrays([])["boxes_cam"].shape == (0, 7)


def test_bad_velodyne_size(tmp_path):
    (tmp_path / "bad.bin").write_bytes(b"\0" * 20)
    with pytest.raises(KittiFormatError, match=r"bad\.bin: size 20 bytes is not a multiple of 16"):
        read_velodyne(tmp_path / "bad.bin")


def test_non_finite_points(tmp_path):
    pts = np.ones((10, 4), np.float32)
    pts[7, 1] = np.nan
    pts[8, 0] = np.inf
    pts.tofile(tmp_path / "nan.bin")
    with pytest.raises(KittiFormatError, match=r"nan\.bin: point 7 \(of 10\) is not finite.*2 such"):
        read_velodyne(tmp_path / "nan.bin")


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ("Car 0.00 0 -1.57 1 2 3 4 1.5 1.6 3.9 1 1.7 20", r"line 2: expected 15 .* got 14"),
        ("Car 0.00 0 -1.57 1 2 3 4 1.5 1.6 3.9 1 abc 20 -1.5", r"line 2: column 'y'.*'abc'"),
        ("Car 0.00 0.5 -1.57 1 2 3 4 1.5 1.6 3.9 1 1.7 20 -1.5", r"line 2: column 'occluded'"),
        ("Car 0.00 0 nan 1 2 3 4 1.5 1.6 3.9 1 1.7 20 -1.5", r"line 2: column 'alpha': not finite"),
    ],
)
def test_bad_label_rows_name_file_and_line(tmp_path, row, match):
    good = "Car 0.00 0 -1.57 1.00 2.00 3.00 4.00 1.50 1.60 3.90 1.00 1.70 20.00 -1.50"
    path = tmp_path / "000123.txt"
    path.write_text(good + "\n" + row + "\n")
    with pytest.raises(KittiFormatError, match=match) as info:
        read_label_file(path)
    assert "000123.txt" in str(info.value)


def test_frame_errors_surface_with_file_names(kitti_copy):
    (kitti_copy / "training/velodyne/000000.bin").write_bytes(b"\0" * 17)
    frame = KittiObjectDataset(kitti_copy).frame(0)
    with pytest.raises(KittiFormatError, match=r"000000\.bin: size 17"):
        _ = frame.points


@pytest.mark.parametrize(
    ("type_", "vals", "match"),
    [
        ("Car", [0, 0, 0, 1, 1, 2, 2, 1.5, 1.6, 3.9, 0, 1.6, 9, 0], None),
        ("DontCare", [-1, -1, -10, 1, 1, 2, 2, -1, -1, -1, -1000, -1000, -1000, -10], None),
        ("DontCare", [0, 0, -10, 1, 1, 2, 2, 1, 1, 1, -1000, -1000, -1000, -10], None),
        ("Person_sitting", [1, 3, 0, 1, 1, 2, 2, 1.5, 1.6, 3.9, 0, 1.6, 9, 0], None),
        ("CAR", [0, 0, 0, 1, 1, 2, 2, 1.5, 1.6, 3.9, 0, 1.6, 9, 0], "did you mean 'Car'"),
        ("Car", [-1, 0, 0, 1, 1, 2, 2, 1.5, 1.6, 3.9, 0, 1.6, 9, 0], "'truncated'"),
        ("Car", [0, 0, 0, 1, 1, 2, 2, -1, -1, -1, 0, 1.6, 9, 0], "dimensions"),
        ("Tram", [0, 0, 0, 3, 1, 2, 2, 1.5, 1.6, 3.9, 0, 1.6, 9, 0], "x2 >= x1"),
        ("DontCare", [-1, -1, -10, 1, 1, 2, 2, -1, 2, -1, 0, 0, 0, 0], "dimensions"),
        ("DontCare", [-0.5, -1, -10, 1, 1, 2, 2, -1, -1, -1, 0, 0, 0, 0], "'truncated'"),
    ],
)
def test_check_label_values(type_, vals, match):
    from perception3d.data.kitti import check_label_values

    if match is None:
        check_label_values(type_, vals, "f.txt", 3)
    else:
        with pytest.raises(KittiFormatError, match=rf"f\.txt, line 3: .*{match}"):
            check_label_values(type_, vals, "f.txt", 3)


def test_label_checks_apply_to_label_files_not_result_files(tmp_path):
    # A detector's result rows may say -1 for unknown truncation/occlusion (the devkit's own
    # result format): only ground truth is held to the label rules.
    path = tmp_path / "000001.txt"
    path.write_text("Car -1 -1 0.5 1 1 50 50 1.5 1.6 3.9 0 1.6 9 0 0.8\n")
    assert read_label_file(path, allow_score=True)[0].truncated == -1
    with pytest.raises(KittiFormatError, match="expected 15 columns"):
        read_label_file(path, allow_score=False)
    path.write_text("Car -1 -1 0.5 1 1 50 50 1.5 1.6 3.9 0 1.6 9 0\n")
    with pytest.raises(KittiFormatError, match=r"line 1: column 'truncated'"):
        read_label_file(path, allow_score=False)


def test_text_files_must_be_utf8(tmp_path):
    from perception3d.data.kitti import read_split_file
    from perception3d.errors import DataFormatError

    path = tmp_path / "val.txt"
    path.write_bytes(b"000001\n\x80\x81\n")
    with pytest.raises(DataFormatError, match=r"val\.txt: expected a UTF-8 split file, got byte "
                       r"0x80 at offset 7"):  # fmt: skip
        read_split_file(path)
    with pytest.raises(DataFormatError, match="UTF-8 label file"):
        read_label_file(path)
    path.write_text("000001\n000002 000003\n")
    with pytest.raises(DataFormatError, match=r"line 2: expected one frame id per line"):
        read_split_file(path)


def test_training_frames_need_their_label_file(kitti_copy):
    (kitti_copy / "training" / "label_2" / "000008.txt").unlink()
    frame = KittiObjectDataset(kitti_copy).frame(8)
    assert not frame.has_labels and frame.points.shape == (17238, 4)  # the rest still reads
    with pytest.raises(MissingFrameError, match=r"label_2/000008\.txt not found .* testing/"):
        frame.objects  # noqa: B018
    with pytest.raises(MissingFrameError, match=r"000008\.txt not found"):
        frame.boxes_lidar  # noqa: B018


def test_unreadable_images_name_the_file(kitti_copy, tmp_path):
    from perception3d.data.kitti import image_size_hw, read_image
    from perception3d.errors import DataFormatError

    png = kitti_copy / "training" / "image_2" / "000008.png"
    png.write_bytes(png.read_bytes()[:5000])
    with pytest.raises(DataFormatError, match=r"000008\.png: not a readable image .*truncated"):
        read_image(png)
    png.write_bytes(b"not a png at all")
    for read in (read_image, image_size_hw):
        with pytest.raises(DataFormatError, match=r"000008\.png: not a readable image"):
            read(png)
    with pytest.raises(FileNotFoundError):
        read_image(tmp_path / "none.png")
