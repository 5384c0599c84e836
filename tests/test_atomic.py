"""Atomic writes leave either the old file or the new one, never a partial file."""

from __future__ import annotations

import pytest

from perception3d.atomic import atomic_write, atomic_write_text


def test_failed_write_keeps_old_content_and_leaves_no_temp(tmp_path):
    target = atomic_write_text(tmp_path / "ckpt.txt", "old")

    def boom(f):
        f.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, boom)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.txt"]


def test_creates_parent_folders(tmp_path):
    p = atomic_write_text(tmp_path / "a" / "b" / "c.txt", "x")
    assert p.read_text() == "x"


def test_file_mode_follows_umask_like_open(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        p = atomic_write_text(tmp_path / "x.txt", "x")
        (tmp_path / "y.txt").write_text("y")
        assert p.stat().st_mode & 0o777 == (tmp_path / "y.txt").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)
