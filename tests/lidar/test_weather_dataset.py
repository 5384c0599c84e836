"""The weathered copy of a split: same frames, labels and calibration, sweeps in fog."""

from __future__ import annotations

import json

import numpy as np

from perception3d.cli import main
from perception3d.data.kitti import read_velodyne
from perception3d.lidar.weather_dataset import write_weather_copy


def _root_with_split(kitti_copy, ids):
    (kitti_copy / "ImageSets" / "val.txt").write_text("".join(f"{i}\n" for i in ids))
    return kitti_copy


def test_foggy_copy(kitti_copy, tmp_path):
    root = _root_with_split(kitti_copy, ["000008", "004139"])
    out = write_weather_copy(root, tmp_path / "fog", "val", "fog", 50.0, seed=3, progress=False)
    for frame_id in ("000008", "004139"):
        before = read_velodyne(root / "training" / "velodyne" / f"{frame_id}.bin")
        after = read_velodyne(out / "training" / "velodyne" / f"{frame_id}.bin")
        mask = np.load(out / "training" / "weather_clutter" / f"{frame_id}.npy", allow_pickle=False)
        assert mask.shape == (len(after),) and mask.any()
        assert np.linalg.norm(after[~mask, :3], axis=1).max() < 50.0  # nothing beyond the MOR
        assert len(after[~mask]) < len(before)
        for folder, ext in (("label_2", "txt"), ("calib", "txt")):
            name = f"{frame_id}.{ext}"
            assert (out / "training" / folder / name).read_bytes() == (
                root / "training" / folder / name
            ).read_bytes()
    meta = json.loads((out / "weather.json").read_text())
    assert meta["frames"] == 2 and meta["mor_m"] == 50.0 and meta["clutter"] > 0
    again = write_weather_copy(root, tmp_path / "fog2", "val", "fog", 50.0, seed=3, progress=False)
    name = "training/velodyne/004139.bin"
    assert (again / name).read_bytes() == (out / name).read_bytes()  # deterministic


def test_weather_command(kitti_copy, tmp_path, capsys):
    root = _root_with_split(kitti_copy, ["000008"])
    args = ["weather", "--data-root", str(root), "--out", str(tmp_path / "rain")]
    assert main([*args, "--rain-rate", "10"]) == 0
    assert (tmp_path / "rain" / "training" / "velodyne" / "000008.bin").is_file()
    assert main([*args, "--rain-rate", "10", "--fog-mor", "50"]) == 2
    assert "exactly one of" in capsys.readouterr().err
