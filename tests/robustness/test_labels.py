"""Labels mean what KITTI says or are refused (issue 19, items 3 and 4), and viz reads result
files as strictly as eval (item 5): by the commands a user types, on a copy of the real frames.
"""

from __future__ import annotations

import pytest


def _set_row(root, frame_id, row, line=0):
    path = root / "training" / "label_2" / f"{frame_id}.txt"
    lines = path.read_text().splitlines()
    lines[line] = row
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_training_frame_without_its_label_file_is_an_error(run_cli, kitti_copy, tmp_path):
    (kitti_copy / "training" / "label_2" / "000008.txt").unlink()
    status, _, err = run_cli("create-db", "--data-root", kitti_copy, "--split", "training")
    assert status == 2 and "label_2/000008.txt not found" in err and "testing/" in err
    assert not (kitti_copy / "gt_database").exists()
    status, _, err = run_cli(
        "viz", "--data-root", kitti_copy, "--frame", "000008", "--views", "bev",
        "--out", tmp_path / "v.png",
    )  # fmt: skip
    assert status == 2 and "label_2/000008.txt not found" in err
    assert not (tmp_path / "v.png").exists()


def test_a_testing_frame_may_lack_labels(run_cli, kitti_copy, tmp_path):
    (kitti_copy / "training").rename(kitti_copy / "testing")
    (kitti_copy / "testing" / "label_2" / "000008.txt").unlink()
    from perception3d.data.kitti import KittiObjectDataset

    assert KittiObjectDataset(kitti_copy, "testing").frame(8).objects == []


BAD_ROWS = [
    ("car 0.00 1 2.04 334.85 178.94 624.50 372.04 1.57 1.50 3.68 -1.17 1.65 7.86 1.90",
     r"class 'car' is not one of KITTI's .* did you mean 'Car'"),
    ("Bus 0.00 1 2.04 334.85 178.94 624.50 372.04 1.57 1.50 3.68 -1.17 1.65 7.86 1.90",
     r"class 'Bus' is not one of KITTI's"),
    ("Car 0.00 1 2.04 334.85 178.94 624.50 372.04 1.57 -1.50 3.68 -1.17 1.65 7.86 1.90",
     r"dimensions .* expected positive metres, got 1.57 -1.5 3.68"),
    ("Car 0.00 1 2.04 334.85 178.94 624.50 372.04 0 1.50 3.68 -1.17 1.65 7.86 1.90",
     r"dimensions .* expected positive"),
    ("Car 0.00 4 2.04 334.85 178.94 624.50 372.04 1.57 1.50 3.68 -1.17 1.65 7.86 1.90",
     r"column 'occluded': expected 0, 1, 2 or 3, got 4"),
    ("Car 0.00 -1 2.04 334.85 178.94 624.50 372.04 1.57 1.50 3.68 -1.17 1.65 7.86 1.90",
     r"column 'occluded'"),
    ("Car 1.50 1 2.04 334.85 178.94 624.50 372.04 1.57 1.50 3.68 -1.17 1.65 7.86 1.90",
     r"column 'truncated': expected a value in \[0, 1\], got 1.5"),
    ("DontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -2 -1000 -1000 -1000 -10",
     r"dimensions .* \(or -1, unknown, on a DontCare row\)"),
]  # fmt: skip


@pytest.mark.parametrize(("row", "message"), BAD_ROWS)
def test_create_db_and_eval_refuse_labels_outside_kitti_rules(run_cli, kitti_copy, row, message):
    path = _set_row(kitti_copy, "000008", row, line=1)
    status, _, err = run_cli("create-db", "--data-root", kitti_copy, "--split", "training")
    assert status == 2
    assert f"{path}, line 2" in err
    import re

    assert re.search(message, err), err
    assert not (kitti_copy / "gt_database").exists()


def test_kittis_own_dontcare_rows_are_accepted(run_cli, kitti_copy):
    # Both spellings KITTI uses: "-1.00 -1 -10.00 ..." and the integer one.
    _set_row(kitti_copy, "000008", "DontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -1 "
             "-1000 -1000 -1000 -10", line=4)  # fmt: skip
    status, out, _ = run_cli("create-db", "--data-root", kitti_copy, "--split", "training")
    assert status == 0 and "Car" in out


def test_eval_refuses_a_miscased_ground_truth_class(run_cli, kitti_copy, tmp_path):
    path = _set_row(kitti_copy, "000008", "car 0.00 1 2.04 334.85 178.94 624.50 372.04 1.57 "
                    "1.50 3.68 -1.17 1.65 7.86 1.90", line=1)  # fmt: skip
    pred = tmp_path / "pred"
    pred.mkdir()
    status, _, err = run_cli("eval", "kitti", "--gt-dir", kitti_copy, "--pred-dir", pred)
    assert status == 2 and f"{path}, line 2: class 'car'" in err


def test_viz_refuses_result_rows_without_score(run_cli, kitti_root, tmp_path):
    pred = tmp_path / "pred"
    pred.mkdir()
    label = (kitti_root / "training" / "label_2" / "000008.txt").read_text().splitlines()
    (pred / "000008.txt").write_text(f"{label[1]} 0.9\n{label[3]}\n")  # row 2 lacks its score
    status, _, err = run_cli(
        "viz", "--data-root", kitti_root, "--frame", "000008", "--views", "bev",
        "--pred-dir", pred, "--score-threshold", "0.5", "--out", tmp_path / "v.png",
    )  # fmt: skip
    assert status == 2
    assert f"{pred / '000008.txt'}, line 2: expected 16 columns" in err
    assert not (tmp_path / "v.png").exists()
