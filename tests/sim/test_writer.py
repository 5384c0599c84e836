"""The dataset writer: exact layout, byte-identical output whatever the worker count or
sharding, refusal to overwrite, resume after an interruption."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import yaml

from perception3d.cli import main
from perception3d.config import load_config
from perception3d.data.kitti import KittiObjectDataset, read_split_file
from perception3d.sim.config import OBJECT_CLASSES, SynthConfig
from perception3d.sim.writer import (
    FRAME_FILES,
    DatasetExistsError,
    generate_dataset,
    listed_files,
    parse_shard,
)

from .conftest import TINY, tiny_config


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_layout_is_exactly_kitti_plus_extras(tiny_dataset, tiny_cfg):
    ids = [f"{i:06d}" for i in range(tiny_cfg.frames)]
    expected = {"synth_config.yaml", "ImageSets/train.txt", "ImageSets/val.txt"}
    expected |= {f"training/{sub}/{fid}{ext}" for sub, ext in FRAME_FILES for fid in ids}
    manifest = {".synth_manifest/dataset.txt"} | {f".synth_manifest/{fid}.txt" for fid in ids}
    assert set(_digests(tiny_dataset)) == expected | manifest
    listed = {p for paths in listed_files(tiny_dataset).values() for p in paths}
    assert listed == expected  # the manifest lists every file the generator wrote
    splits = read_split_file(tiny_dataset / "ImageSets/train.txt")
    splits += read_split_file(tiny_dataset / "ImageSets/val.txt")
    assert sorted(splits) == ids


def test_written_config_reloads_to_the_same_config(tiny_dataset, tiny_cfg):
    assert load_config(tiny_dataset / "synth_config.yaml", SynthConfig) == tiny_cfg


def test_extras_have_the_contract_dtypes_and_shapes(tiny_dataset, tiny_cfg):
    from PIL import Image

    h, w = tiny_cfg.camera.image_shape_hw
    d = tiny_dataset / "training"
    radiance = np.load(d / "radiance_2/000000.npy", allow_pickle=False)
    depth = np.load(d / "depth_2/000000.npy", allow_pickle=False)
    assert radiance.dtype == np.float16 and radiance.shape == (3, h, w)
    assert depth.dtype == np.float16 and depth.shape == (h, w)
    with Image.open(d / "instance_2/000000.png") as im:
        assert im.mode.startswith("I;16") and im.size == (w, h)
    with Image.open(d / "semantic_2/000000.png") as im:
        assert im.mode == "L" and im.size == (w, h)
    with Image.open(d / "image_2/000000.png") as im:
        assert im.mode == "RGB" and im.size == (w, h)


def test_kitti_dataset_reads_the_output_unchanged(tiny_dataset):
    ds = KittiObjectDataset(tiny_dataset, split="train")
    ds_val = KittiObjectDataset(tiny_dataset, split="val")
    assert len(ds) + len(ds_val) == 3
    for frame in KittiObjectDataset(tiny_dataset):
        assert frame.points.shape[1] == 4 and len(frame.points) > 1000
        assert frame.image.shape == (3, 94, 310)
        assert len(frame.boxes_lidar) == len(frame.names)
        assert set(frame.names) <= set(OBJECT_CLASSES)


def test_same_bytes_whatever_the_worker_count(tmp_path, tiny_dataset, tiny_cfg):
    generate_dataset(tmp_path / "two", tiny_cfg, workers=2, progress=False)
    assert _digests(tmp_path / "two") == _digests(tiny_dataset)


def test_shards_together_make_the_whole_dataset(tmp_path, tiny_dataset, tiny_cfg):
    out = tmp_path / "sharded"
    for shard in ((1, 2), (0, 2)):  # any order, into the same folder
        generate_dataset(out, tiny_cfg, shard=shard, progress=False)
    assert _digests(out) == _digests(tiny_dataset)


def test_refuses_a_non_empty_folder(tmp_path, tiny_cfg):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DatasetExistsError, match="not empty"):
        generate_dataset(tmp_path, tiny_cfg, progress=False)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_refuses_to_rewrite_frames_without_resume_or_overwrite(tmp_path, tiny_cfg):
    generate_dataset(tmp_path, tiny_config(frames=1), progress=False)
    with pytest.raises(DatasetExistsError, match="--resume"):
        generate_dataset(tmp_path, tiny_config(frames=1), progress=False)
    with pytest.raises(DatasetExistsError, match="different config"):
        generate_dataset(tmp_path, tiny_config(1, 8), resume=True, progress=False)


def test_overwrite_replaces_only_synth_outputs(tmp_path, tiny_cfg):
    generate_dataset(tmp_path, tiny_config(frames=2, seed=1), progress=False)
    (tmp_path / "notes.txt").write_text("mine")
    generate_dataset(tmp_path, tiny_config(frames=1, seed=2), overwrite=True, progress=False)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "training/velodyne").iterdir()) == ["000000.bin"]
    assert yaml.safe_load((tmp_path / "synth_config.yaml").read_text())["seed"] == 2


def test_resume_completes_an_interrupted_run_identically(tmp_path, tiny_dataset, tiny_cfg):
    out = tmp_path / "resumed"
    generate_dataset(out, tiny_cfg, progress=False)
    # An interruption: frame 1 lost its last files and left a temporary of an atomic write,
    # frame 2 was never written.
    (out / "training/meta/000001.json").unlink()
    (out / "training/semantic_2/000001.png").unlink()
    (out / "training/semantic_2/.000001.png.abc123.tmp").write_bytes(b"partial")
    for sub, ext in FRAME_FILES:
        (out / "training" / sub / f"000002{ext}").unlink()
    before = (out / "training/velodyne/000000.bin").stat().st_mtime_ns
    summary = generate_dataset(out, tiny_cfg, resume=True, progress=False)
    assert summary["frames_written"] == 2 and summary["frames_skipped"] == 1
    assert (out / "training/velodyne/000000.bin").stat().st_mtime_ns == before  # kept
    assert _digests(out) == _digests(tiny_dataset)


def test_resume_can_extend_a_dataset(tmp_path, tiny_dataset, tiny_cfg):
    out = tmp_path / "grown"
    generate_dataset(out, tiny_config(frames=2), progress=False)
    generate_dataset(out, tiny_cfg, resume=True, progress=False)
    assert _digests(out) == _digests(tiny_dataset)


def test_resume_reads_a_config_older_than_the_box_convention_key(tmp_path, tiny_cfg):
    """A dataset written before labels.bbox_convention existed was made with visible-pixel
    boxes: it resumes with that convention and refuses the new default."""
    from dataclasses import replace

    visible = replace(tiny_cfg, labels=replace(tiny_cfg.labels, bbox_convention="visible"))
    out = tmp_path / "old"
    generate_dataset(out, replace(visible, frames=2), progress=False)
    stored = yaml.safe_load((out / "synth_config.yaml").read_text())
    del stored["labels"]["bbox_convention"]  # as written before the key existed
    (out / "synth_config.yaml").write_text(yaml.safe_dump(stored, sort_keys=False))
    with pytest.raises(DatasetExistsError, match="labels"):
        generate_dataset(out, tiny_cfg, resume=True, progress=False)
    summary = generate_dataset(out, visible, resume=True, progress=False)
    assert summary["frames_written"] == 1 and summary["frames_skipped"] == 2


def test_parse_shard():
    assert parse_shard("0/1") == (0, 1)
    with pytest.raises(ValueError, match="0 <= i < n"):
        parse_shard("2/2")
    with pytest.raises(ValueError, match="i/n"):
        parse_shard("half")


def test_cli_writes_the_same_dataset(tmp_path, tiny_dataset, capsys):
    argv = ["synth", "--out", str(tmp_path), "--frames", "3", "--seed", "7"]
    argv += [a for s in TINY for a in ("--set", s)]
    assert main(argv) == 0
    assert "3 frames written" in capsys.readouterr().out
    assert _digests(tmp_path) == _digests(tiny_dataset)
    assert main(argv) == 2  # a second run into the same folder is refused
    assert "--resume" in capsys.readouterr().err


def test_a_shard_leaves_other_shards_files_alone(tmp_path, tiny_dataset, tiny_cfg):
    out = tmp_path / "jobs"
    generate_dataset(out, tiny_cfg, shard=(0, 2), progress=False)
    # Shard 1 is "still writing" frame 1 (a temporary of an atomic write) when shard 0 resumes
    # and another job of the array starts over shard 0 with --overwrite.
    in_flight = out / "training/velodyne/.000001.bin.k3j4.tmp"
    in_flight.write_bytes(b"partial")
    generate_dataset(out, tiny_cfg, shard=(0, 2), resume=True, progress=False)
    generate_dataset(out, tiny_cfg, shard=(0, 2), overwrite=True, progress=False)
    assert in_flight.read_bytes() == b"partial"
    in_flight.unlink()
    generate_dataset(out, tiny_cfg, shard=(1, 2), progress=False)
    assert _digests(out) == _digests(tiny_dataset)
