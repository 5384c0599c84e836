"""Files that are not what they should be give a message naming the file and what was expected,
never a traceback (issue 19): binary text files, a truncated PNG; and the temporaries of killed
atomic writes are removed by the next run."""

from __future__ import annotations

import subprocess

import pytest

NOT_UTF8 = b"Car 0.00 1 2.04 \xff\xfe 178.94\n"


def _pred_dir(tmp_path, kitti_root):
    pred = tmp_path / "pred"
    pred.mkdir()
    for fid in ("000000", "000008", "004139"):
        rows = (kitti_root / "training" / "label_2" / f"{fid}.txt").read_text().splitlines()
        (pred / f"{fid}.txt").write_text("".join(f"{r} 0.5\n" for r in rows))
    return pred


@pytest.mark.parametrize("what", ["label", "prediction", "split"])
def test_eval_names_a_file_that_is_not_utf8(run_cli, kitti_copy, tmp_path, what):
    pred = _pred_dir(tmp_path, kitti_copy)
    split = tmp_path / "ids.txt"
    split.write_text("000000\n000008\n004139\n")
    bad = {
        "label": kitti_copy / "training" / "label_2" / "000008.txt",
        "prediction": pred / "000008.txt",
        "split": split,
    }[what]
    bad.write_bytes(NOT_UTF8)
    status, _, err = run_cli(
        "eval", "kitti", "--gt-dir", kitti_copy, "--pred-dir", pred, "--split", split
    )
    assert status == 2
    assert f"{bad}: expected a UTF-8" in err and "0xff at offset 16" in err


@pytest.mark.parametrize("what", ["calib", "label", "prediction"])
def test_viz_names_a_file_that_is_not_utf8(run_cli, kitti_copy, tmp_path, what):
    pred = _pred_dir(tmp_path, kitti_copy)
    bad = {
        "calib": kitti_copy / "training" / "calib" / "000008.txt",
        "label": kitti_copy / "training" / "label_2" / "000008.txt",
        "prediction": pred / "000008.txt",
    }[what]
    bad.write_bytes(NOT_UTF8)
    status, _, err = run_cli(
        "viz", "--data-root", kitti_copy, "--frame", "000008", "--views", "bev",
        "--pred-dir", pred, "--out", tmp_path / "v.png",
    )  # fmt: skip
    assert status == 2 and f"{bad}" in err and "UTF-8" in err
    assert "Traceback" not in err


def test_create_db_names_a_label_file_that_is_not_utf8(run_cli, kitti_copy):
    bad = kitti_copy / "training" / "label_2" / "004139.txt"
    bad.write_bytes(NOT_UTF8)
    status, _, err = run_cli("create-db", "--data-root", kitti_copy, "--split", "training")
    assert status == 2 and f"{bad}: expected a UTF-8 label file" in err


def test_viz_names_a_truncated_png(run_cli, kitti_copy, tmp_path):
    png = kitti_copy / "training" / "image_2" / "000008.png"
    png.write_bytes(png.read_bytes()[: png.stat().st_size // 2])
    status, _, err = run_cli(
        "viz", "--data-root", kitti_copy, "--frame", "000008", "--views", "image",
        "--out", tmp_path / "v.png",
    )  # fmt: skip
    assert status == 2 and f"{png}: not a readable image" in err and "truncated" in err


def test_a_killed_writers_temporary_is_removed_by_the_next_run(run_cli, kitti_root, tmp_path):
    from perception3d.atomic import _HOST

    dead = subprocess.Popen(["true"])
    dead.wait()
    out = tmp_path / "metrics"
    out.mkdir()
    leftover = out / f".metrics.json.{_HOST}-{dead.pid}.x7k2_q.tmp"
    leftover.write_bytes(b'{"Car": ')  # what a killed `eval kitti --out` leaves behind
    pred = _pred_dir(tmp_path, kitti_root)
    status, _, _ = run_cli(
        "eval", "kitti", "--gt-dir", kitti_root, "--pred-dir", pred, "--out", out / "metrics.json"
    )
    assert status == 0
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json"]
