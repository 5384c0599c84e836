"""Evaluating folders of files: ``evaluate_kitti_dirs``, the table, the JSON and the CLI."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from perception3d.cli import main
from perception3d.errors import KittiFormatError, MissingFrameError
from perception3d.eval.kitti import (
    KittiEvalWarning,
    evaluate_kitti_dirs,
    format_kitti_table,
    read_predictions,
)
from tests.eval.test_kitti_evaluate import CAR_KEYS, PED_KEYS

SCENES = Path(__file__).parents[1] / "data" / "kitti_eval" / "scenes"


@pytest.fixture
def scenes(tmp_path) -> tuple[Path, Path]:
    """A writable copy of the scenes set: (label_2, pred)."""
    shutil.copytree(SCENES / "label_2", tmp_path / "label_2")
    shutil.copytree(SCENES / "pred", tmp_path / "pred")
    return tmp_path / "label_2", tmp_path / "pred"


def test_missing_prediction_files_are_counted_in_one_warning(scenes):
    gt_dir, pred_dir = scenes
    full = evaluate_kitti_dirs(gt_dir, pred_dir)
    for fid in ("000003", "000007", "000100"):
        (pred_dir / f"{fid}.txt").unlink()
    with pytest.warns(KittiEvalWarning, match=r"3 of 120 frames have no prediction file") as rec:
        result = evaluate_kitti_dirs(gt_dir, pred_dir)
    assert len(rec) == 1 and "000003, 000007, 000100" in str(rec[0].message)
    assert result["meta"]["missing_prediction_files"] == 3
    # the same as empty prediction files
    for fid in ("000003", "000007", "000100"):
        (pred_dir / f"{fid}.txt").write_text("")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        empty = evaluate_kitti_dirs(gt_dir, pred_dir)
    assert empty["Car"] == result["Car"] and empty["Car"] != full["Car"]


def test_split_ids_and_dataset_root(scenes, tmp_path):
    gt_dir, pred_dir = scenes
    split = tmp_path / "val.txt"
    split.write_text("000001\n000002\n\n000005\n")
    by_file = evaluate_kitti_dirs(gt_dir, pred_dir, ids=split)
    by_list = evaluate_kitti_dirs(gt_dir, pred_dir, ids=[1, "2", "000005"])
    assert by_file["meta"]["frames"] == by_list["meta"]["frames"] == 3
    assert by_file["Car"] == by_list["Car"]
    root = tmp_path / "kitti"
    (root / "training").mkdir(parents=True)
    shutil.copytree(gt_dir, root / "training" / "label_2")
    assert evaluate_kitti_dirs(root, pred_dir, ids=split)["Car"] == by_file["Car"]


def test_malformed_prediction_row_names_file_and_line(scenes):
    gt_dir, pred_dir = scenes
    path = pred_dir / "000004.txt"
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace(lines[1].split()[5], "abc", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(KittiFormatError, match=r"000004\.txt, line 2: column 'bbox y1'"):
        evaluate_kitti_dirs(gt_dir, pred_dir)
    lines[1] = " ".join(lines[0].split()[:15])  # a label row: no score
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(KittiFormatError, match=r"line 2: expected 16 columns .* got 15"):
        read_predictions(path)
    cols = lines[0].split()
    cols[4], cols[6] = cols[6], cols[4]  # x1 > x2
    lines[1] = " ".join(cols)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(KittiFormatError, match="line 2: bbox must have x2 >= x1"):
        read_predictions(path)


def test_missing_inputs_are_clear_errors(scenes, tmp_path):
    gt_dir, pred_dir = scenes
    with pytest.raises(MissingFrameError, match="prediction folder not found"):
        evaluate_kitti_dirs(gt_dir, tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingFrameError, match="no label files"):
        evaluate_kitti_dirs(tmp_path / "empty", pred_dir)
    # swapped folders: a result row read as a label row
    with pytest.raises(KittiFormatError, match=r"000000\.txt, line 1: expected 15 columns, got 16"):
        evaluate_kitti_dirs(pred_dir, gt_dir)
    with pytest.raises(MissingFrameError, match=r"frame 999999: label file .* not found"):
        evaluate_kitti_dirs(gt_dir, pred_dir, ids=["999999"])
    with pytest.raises(MissingFrameError, match="split file not found"):
        evaluate_kitti_dirs(gt_dir, pred_dir, ids=tmp_path / "none.txt")


def test_table_lists_every_class_and_overlap_set():
    result = evaluate_kitti_dirs(SCENES / "label_2", SCENES / "pred")
    lines = format_kitti_table(result).splitlines()
    assert lines[0].startswith("KITTI evaluation: 120 frames, ")
    headers = [line for line in lines if line.endswith(":")]
    assert headers == [
        f"{c} {ap}@{s}:"
        for c, sets in (
            ("Car", ("0.70, 0.70, 0.70", "0.70, 0.50, 0.50")),
            ("Pedestrian", ("0.50, 0.50, 0.50", "0.50, 0.25, 0.25")),
            ("Cyclist", ("0.50, 0.50, 0.50", "0.50, 0.25, 0.25")),
        )
        for s in sets
        for ap in ("AP", "AP_R40", "AP_all")
    ]
    moderate = result["Car"]["R40"]["3d@0.5"][1]
    assert lines[lines.index("Car AP_R40@0.70, 0.50, 0.50:") + 3].startswith("3d   AP:")
    assert f"{moderate:.4f}" in lines[lines.index("Car AP_R40@0.70, 0.50, 0.50:") + 3]


def test_cli_prints_table_and_writes_the_json(scenes, tmp_path, capsys):
    gt_dir, pred_dir = scenes
    (pred_dir / "000010.txt").unlink()
    out = tmp_path / "metrics.json"
    argv = ["eval", "kitti", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir)]
    assert main([*argv, "--classes", "Car,Cyclist", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "Car AP_R40@0.70, 0.50, 0.50:" in captured.out and "Pedestrian" not in captured.out
    assert "warning: 1 of 120 frames have no prediction file" in captured.err
    metrics = json.loads(out.read_text())
    assert list(metrics) == ["Car", "Cyclist", "meta"]
    assert list(metrics["Car"]["R40"]) == CAR_KEYS
    assert list(metrics["Cyclist"]["R11"]) == PED_KEYS
    assert all(len(v) == 3 for v in metrics["Car"]["R11"].values())
    assert metrics["meta"]["frames"] == 120 and metrics["meta"]["missing_prediction_files"] == 1


def test_cli_errors_are_messages(scenes, capsys):
    gt_dir, pred_dir = scenes
    (pred_dir / "000002.txt").write_text("Car 0 0 0 1 2 3\n")
    argv = ["eval", "kitti", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "000002.txt, line 1: expected 15 (label) or 16 (result with score) columns" in err
    assert "Traceback" not in err
    with pytest.raises(SystemExit):
        main([*argv, "--classes", "Car,Van"])
    assert "expected a comma-separated subset of Car,Pedestrian,Cyclist" in capsys.readouterr().err
