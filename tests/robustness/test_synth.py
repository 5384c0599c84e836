"""``perception3d synth`` never deletes or replaces a file it did not write (issue 19, items 1
and 6): --overwrite removes only what its manifest lists, a folder holding anything else where
the generator writes is refused (without suggesting --overwrite), --resume never shrinks."""

from __future__ import annotations

import shutil

import pytest

from tests.robustness.conftest import digests

pytest.importorskip("open3d")

from tests.sim.conftest import TINY  # after the open3d skip

SETS = [a for s in TINY for a in ("--set", s)]


@pytest.fixture
def real_kitti_root(tmp_path, kitti_root):
    """A user's real KITTI root (the sample frames), plus a file of their own."""
    root = tmp_path / "kitti"
    shutil.copytree(kitti_root, root)
    (root / "training" / "velodyne" / "notes.txt").write_text("mine")
    return root


@pytest.mark.parametrize("flags", [[], ["--overwrite"], ["--resume"]])
def test_a_real_kitti_root_is_refused_and_untouched(run_cli, real_kitti_root, flags):
    before = digests(real_kitti_root)
    status, _, err = run_cli("synth", "--out", real_kitti_root, "--frames", "1", *SETS, *flags)
    assert status == 2
    assert "refusing to write" in err and "--overwrite" not in err
    assert digests(real_kitti_root) == before


@pytest.fixture
def small_synth(tmp_path, run_cli):
    out = tmp_path / "synth"
    status, _, _ = run_cli("synth", "--out", out, "--frames", "2", "--seed", "1", *SETS)
    assert status == 0
    return out


@pytest.mark.slow
def test_overwrite_removes_only_the_manifest_files(run_cli, small_synth, kitti_root):
    # A user's own files beside the dataset stay; a user's frame copied into a generator folder
    # makes --overwrite refuse before anything is removed.
    (small_synth / "notes.txt").write_text("mine")
    (small_synth / "training" / "velodyne_painted").mkdir()
    (small_synth / "training" / "velodyne_painted" / "000000.npy").write_bytes(b"painted")
    user_frame = small_synth / "training" / "velodyne" / "004139.bin"
    shutil.copy(kitti_root / "training" / "velodyne" / "004139.bin", user_frame)
    before = digests(small_synth)
    status, _, err = run_cli("synth", "--out", small_synth, "--frames", "1", *SETS, "--overwrite")
    assert status == 2 and "training/velodyne/004139.bin" in err and "--overwrite" not in err
    assert digests(small_synth) == before
    user_frame.unlink()
    status, _, _ = run_cli("synth", "--out", small_synth, "--frames", "1", *SETS, "--overwrite")
    assert status == 0
    after = digests(small_synth)
    assert after["notes.txt"] == before["notes.txt"]
    assert (
        after["training/velodyne_painted/000000.npy"]
        == before["training/velodyne_painted/000000.npy"]
    )
    assert "training/velodyne/000001.bin" not in after  # the old run's second frame: removed
    assert "training/velodyne/000000.bin" in after


def test_resume_never_shrinks_a_dataset(run_cli, tmp_path):
    # A 3-frame dataset (config and splits only: the refusal comes before any frame).
    out = tmp_path / "synth"
    status, _, _ = run_cli("synth", "--out", out, "--frames", "3", *SETS, "--shard", "2/3")
    assert status == 0
    before = digests(out)
    status, _, err = run_cli("synth", "--out", out, "--frames", "2", *SETS, "--resume")
    assert status == 2 and "3 frames" in err and "never shrinks" in err
    assert digests(out) == before
    status, _, err = run_cli("synth", "--out", out, "--frames", "4", *SETS, "--shard", "3/4")
    assert status == 2 and "--resume" in err  # growing needs --resume
    assert digests(out) == before


def test_resume_adopts_a_dataset_written_before_the_manifest(run_cli, tmp_path):
    out = tmp_path / "synth"
    assert run_cli("synth", "--out", out, "--frames", "3", *SETS, "--shard", "2/3")[0] == 0
    shutil.rmtree(out / ".synth_manifest")  # as an older version left it
    stray = out / "training" / "velodyne" / "004139.bin"  # not a frame of this dataset
    stray.write_bytes(b"\0" * 16)
    status, _, err = run_cli("synth", "--out", out, "--frames", "3", *SETS, "--shard", "2/3",
                             "--overwrite")  # fmt: skip
    assert status == 2 and "--resume adopts" in err and stray.exists()
    status, _, err = run_cli("synth", "--out", out, "--frames", "3", *SETS, "--resume")
    assert status == 2 and "training/velodyne/004139.bin" in err  # adopted only its own files
    assert not (out / ".synth_manifest").exists()  # a refusal changes nothing
    stray.unlink()
    argv = ("synth", "--out", out, "--frames", "3", *SETS, "--shard", "2/3", "--resume")
    status, stdout, _ = run_cli(*argv)
    assert status == 0 and "0 frames written, 1 already complete" in stdout
    from perception3d.sim.manifest import listed_files

    assert "training/velodyne/000002.bin" in listed_files(out)["000002"]
