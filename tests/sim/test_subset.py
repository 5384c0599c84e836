"""Chosen frames of a synthetic set (``perception3d synth --frame-ids``): the same bytes as the
same frames of the full set, split files consistent with it, grown or completed later."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from perception3d.cli import main
from perception3d.data.kitti import read_split_file
from perception3d.errors import DataFormatError, MissingFrameError
from perception3d.sim.subset import SUBSET_NAME, parse_frame_ids, read_frame_ids_file
from perception3d.sim.writer import FRAME_FILES, generate_dataset, listed_files

from .conftest import TINY


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): _digest(p) for p in sorted(root.rglob("*")) if p.is_file()}


def _frame_files(fid: str) -> list[str]:
    return [f"training/{sub}/{fid}{ext}" for sub, ext in FRAME_FILES]


def _split(root: Path, name: str) -> list[str]:
    return read_split_file(root / "ImageSets" / f"{name}.txt")


def test_chosen_frames_are_byte_identical_and_split_like_the_full_set(tmp_path, tiny_dataset):
    # tiny_dataset: the full set (seed 7, 3 frames, tiny sizes).
    out = tmp_path / "subset"
    argv = ["synth", "--out", str(out), "--frames", "3", "--seed", "7"]
    argv += [a for s in TINY for a in ("--set", s)]
    assert main([*argv, "--frame-ids", "000002,000000"]) == 0
    for fid in ("000000", "000002"):
        for rel in _frame_files(fid):
            assert _digest(out / rel) == _digest(tiny_dataset / rel), rel
    assert not any((out / rel).exists() for rel in _frame_files("000001"))
    assert _digest(out / "synth_config.yaml") == _digest(tiny_dataset / "synth_config.yaml")
    assert (out / SUBSET_NAME).read_text() == "000000\n000002\n"
    for name in ("train", "val"):  # each chosen frame in its split of the full set, in order
        assert _split(out, name) == [f for f in _split(tiny_dataset, name) if f != "000001"]
    listed = {p for paths in listed_files(out).values() for p in paths}
    assert listed == set(_tree(out)) - {p for p in _tree(out) if p.startswith(".synth_manifest")}

    # A later run with another frame joins the subset; completing it gives the full set.
    generate_dataset(out, _cfg_of(tiny_dataset), frame_ids=[1], progress=False)
    assert read_frame_ids_file(out / SUBSET_NAME) == [0, 1, 2]
    assert _split(out, "train") == _split(tiny_dataset, "train")
    summary = generate_dataset(out, _cfg_of(tiny_dataset), resume=True, progress=False)
    assert summary["frames_written"] == 0 and summary["frames_skipped"] == 3
    assert _tree(out) == _tree(tiny_dataset)  # synth_frame_ids.txt gone, manifest the same


def _cfg_of(root: Path):
    from perception3d.config import load_config
    from perception3d.sim.config import SynthConfig

    return load_config(root / "synth_config.yaml", SynthConfig)


def test_ids_beyond_the_frame_count_are_refused(tmp_path, tiny_cfg):
    with pytest.raises(MissingFrameError, match="000003 are outside the dataset of 3 frames"):
        generate_dataset(tmp_path, tiny_cfg, frame_ids=[3], progress=False)
    assert not any(tmp_path.iterdir())


def test_frame_id_parsing_names_the_bad_token_and_line(tmp_path, capsys):
    assert parse_frame_ids("10 000011,10") == [10, 11]
    with pytest.raises(ValueError, match="'x1'"):
        parse_frame_ids("000010,x1")
    ids = tmp_path / "ids.txt"
    ids.write_text("# held out\n000004\n000002, 000003\n")
    assert read_frame_ids_file(ids) == [2, 3, 4]
    ids.write_text("000004\n-1\n")
    with pytest.raises(DataFormatError, match=r"ids.txt, line 2: .*'-1'"):
        read_frame_ids_file(ids)
    argv = ["synth", "--out", str(tmp_path / "o"), "--frame-ids", "1,b"]
    with pytest.raises(SystemExit):
        main(argv)
    assert "'b'" in capsys.readouterr().err
