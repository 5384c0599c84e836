"""Disk use of a synthetic dataset: ``raw_camera: false`` leaves out radiance_2 and depth_2 and
nothing else, and a run that would not fit on its disk says so before it starts."""

from __future__ import annotations

import hashlib
import shutil
from collections import namedtuple
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from perception3d.cli import main
from perception3d.sim.disk import frame_bytes, space_warning
from perception3d.sim.writer import generate_dataset, listed_files

from .conftest import TINY

RAW = ("radiance_2", "depth_2")


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((root / "training").rglob("*"))
        if p.is_file()
    }


def test_without_raw_camera_the_other_files_are_the_same_bytes(tmp_path, tiny_dataset, tiny_cfg):
    out = tmp_path / "lean"
    lean = replace(tiny_cfg, raw_camera=False)
    generate_dataset(out, lean, progress=False)
    full = {k: v for k, v in _digests(tiny_dataset).items() if k.split("/")[1] not in RAW}
    assert _digests(out) == full and len(full) == 7 * tiny_cfg.frames
    listed = {p for paths in listed_files(out).values() for p in paths}
    assert not any(p.split("/")[1] in RAW for p in listed if p.startswith("training/"))
    # the run resumes under its own config, and refuses the other value of the key
    (out / "training/meta/000002.json").unlink()
    assert generate_dataset(out, lean, resume=True, progress=False)["frames_written"] == 1
    with pytest.raises(FileExistsError, match="raw_camera"):
        generate_dataset(out, tiny_cfg, resume=True, progress=False)


def test_a_dataset_older_than_the_key_resumes_with_raw_camera(tmp_path, tiny_cfg):
    out = tmp_path / "old"
    generate_dataset(out, replace(tiny_cfg, frames=2), progress=False)
    stored = yaml.safe_load((out / "synth_config.yaml").read_text())
    del stored["raw_camera"]  # as written before the key existed
    (out / "synth_config.yaml").write_text(yaml.safe_dump(stored, sort_keys=False))
    summary = generate_dataset(out, tiny_cfg, resume=True, progress=False)
    assert summary["frames_written"] == 1 and (out / "training/radiance_2/000002.npy").is_file()


def test_the_estimate_is_close_to_what_a_frame_writes(tmp_path, tiny_dataset, tiny_cfg):
    written = sum(p.stat().st_size for p in (tiny_dataset / "training").rglob("*") if p.is_file())
    per_frame = written / tiny_cfg.frames
    assert 0.7 * per_frame < frame_bytes(tiny_cfg) < 1.6 * per_frame


def test_a_run_that_does_not_fit_is_announced(tmp_path, tiny_cfg, monkeypatch, capsys):
    usage = namedtuple("usage", "total used free")
    free = 2 * frame_bytes(tiny_cfg)  # room for 2 of 3 frames
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(10 * free, 9 * free, free))
    assert space_warning(tmp_path / "new" / "root", tiny_cfg, 2) is None
    message = space_warning(tmp_path / "new" / "root", tiny_cfg, 3)
    assert "3 frames need about" in message and "raw_camera=false" in message
    argv = ["synth", "--out", str(tmp_path / "ds"), "--frames", "1", "--seed", "7"]
    argv += [a for s in TINY for a in ("--set", s)]
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(10, 10, 0))
    assert main(argv) == 0  # a warning, not a refusal: the run is resumable
    assert "perception3d synth: warning: 1 frames need about" in capsys.readouterr().err
