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


def _fresh_module(monkeypatch):
    import perception3d.atomic as atomic

    monkeypatch.setattr(atomic, "_swept", set())
    return atomic


def test_leftovers_of_killed_writers_are_removed_on_the_next_write(tmp_path, monkeypatch):
    import os
    import subprocess
    import time

    atomic = _fresh_module(monkeypatch)
    dead = subprocess.Popen(["true"])
    dead.wait()  # a finished process: its pid is free
    host = atomic._HOST
    killed = tmp_path / f".ckpt.pt.{host}-{dead.pid}.abc123.tmp"
    live = tmp_path / f".ckpt.pt.{host}-{os.getpid()}.def456.tmp"  # in flight, this process
    other_host = tmp_path / ".ckpt.pt.otherhost-1.gh789.tmp"
    old_name = tmp_path / ".ckpt.pt.zz99.tmp"  # the name before host and pid were added
    user_file = tmp_path / ".mine.tmp"  # not an atomic write's name
    for p in (killed, live, other_host, old_name, user_file):
        p.write_bytes(b"partial")
    old = time.time() - 3600
    os.utime(old_name, (old, old))  # older than this process
    monkeypatch.setattr(atomic, "_PROCESS_START", time.time())
    atomic_write_text(tmp_path / "ckpt.pt", "new")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["ckpt.pt", live.name, other_host.name, user_file.name])
    day_old = time.time() - 2 * 24 * 3600
    os.utime(other_host, (day_old, day_old))  # another host's, abandoned for a day
    monkeypatch.setattr(atomic, "_swept", set())
    atomic_write_text(tmp_path / "other.txt", "x")  # any target in the folder sweeps it
    assert not other_host.exists() and live.exists() and user_file.exists()


def test_temporary_names_point_to_their_target(tmp_path):
    from perception3d.atomic import temporary_target

    seen = []

    def spy(f):
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        f.write(b"x")

    atomic_write(tmp_path / "000012.png", spy)
    (tmp_name,) = seen[0]
    assert temporary_target(tmp_name) == "000012.png"
    assert temporary_target("000012.png") is None and temporary_target(".x.tmp") is None


def test_replace_symlink_replaces_a_file_or_a_link_and_makes_parents(tmp_path):
    from perception3d.atomic import replace_symlink

    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"a")
    b.write_bytes(b"b")
    link = replace_symlink(a, tmp_path / "new" / "dir" / "x.bin")
    assert link.is_symlink() and link.read_bytes() == b"a" and link.readlink() == a.resolve()
    assert replace_symlink(b, link).read_bytes() == b"b"  # an existing link
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"old")
    assert replace_symlink(a, plain).is_symlink() and plain.read_bytes() == b"a"  # a file
