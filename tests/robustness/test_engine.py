"""Training and inference misuse (issue 19), by the command a user types: result folders of
another run, a run folder reused without --resume, an empty sweep, bad train values, a resume
with another schedule, weight files of another kind, missing ISP weights, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from perception3d.cli import main
from tests.models.conftest import CONFIGS, TINY_OVERRIDES, tiny_config
from tests.robustness.conftest import digests
from tests.toy_scenes import write_toy_kitti

ROOT = Path(__file__).parents[2]
WEIGHTS = ROOT / "perception3d" / "assets" / "weights"
LITE = CONFIGS / "pointpillars_lite.yaml"
TINY = [a for o in TINY_OVERRIDES for a in ("--set", o)]


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory) -> Path:
    return write_toy_kitti(tmp_path_factory.mktemp("toy") / "kitti", 4, seed=1)


def _train_args(root: Path, out: Path, *extra: str) -> list[str]:
    sets = ["train.epochs=1", "train.batch_size=2", "train.validate_every=0", *extra]
    return ["train", str(LITE), "--data-root", str(root), "--out", str(out), "--no-progress",
            *TINY, *[a for s in sets for a in ("--set", s)]]  # fmt: skip


@pytest.fixture
def checkpoint(tmp_path, kitti_root) -> Path:
    """A random-weight tiny detector that keeps every box (score threshold 0)."""
    cfg = tiny_config(kitti_root, "model.postprocess.score_threshold=0.0")
    from perception3d.engine.checkpoint import save_checkpoint
    from perception3d.models.detector import build_detector

    torch.manual_seed(0)
    return save_checkpoint(tmp_path / "m.pt", build_detector(cfg.model), None, 0, cfg)


def _infer(root: Path, ckpt: Path, out: Path, *extra: str) -> list[str]:
    return ["infer", str(LITE), str(ckpt), "--data-root", str(root), "--split", "training",
            "--out", str(out), "--device", "cpu", "--no-progress", *TINY,
            "--set", "model.postprocess.score_threshold=0.0", *extra]  # fmt: skip


def test_infer_refuses_a_folder_with_another_runs_results(
    run_cli, kitti_root, checkpoint, tmp_path
):
    out = tmp_path / "pred"
    out.mkdir()
    (out / "999999.txt").write_text("Car 0 0 0 1 1 2 2 1 1 1 1 1 1 0 0.9\n")
    before = digests(out)
    status, _, err = run_cli(*_infer(kitti_root, checkpoint, out))
    assert status == 2 and "already holds 1 result files" in err and "--overwrite" in err
    assert digests(out) == before  # nothing written, nothing removed
    status, _, _ = run_cli(*_infer(kitti_root, checkpoint, out, "--overwrite"))
    assert status == 0
    assert sorted(p.name for p in out.iterdir()) == ["000000.txt", "000008.txt", "004139.txt"]
    (out / "notes.md").write_text("mine")  # never deleted: the folder is refused instead
    status, _, err = run_cli(*_infer(kitti_root, checkpoint, out, "--overwrite"))
    assert status == 2 and "other files than results (notes.md)" in err
    assert (out / "notes.md").read_text() == "mine" and (out / "000000.txt").is_file()


def test_infer_on_an_empty_sweep_gives_no_detections(run_cli, kitti_copy, checkpoint, tmp_path):
    (kitti_copy / "training" / "velodyne" / "000008.bin").write_bytes(b"")  # valid: 0 points
    status, out, err = run_cli(*_infer(kitti_copy, checkpoint, tmp_path / "pred"))
    assert status == 0, err
    assert (tmp_path / "pred" / "000008.txt").read_text() == ""
    assert (tmp_path / "pred" / "000000.txt").read_text() != ""  # the others still detect
    assert "detections in 3 frames" in out


def test_train_refuses_an_existing_run_without_resume(run_cli, toy_root, tmp_path):
    out = tmp_path / "run"
    assert run_cli(*_train_args(toy_root, out))[0] == 0
    before = digests(out)
    status, _, err = run_cli(*_train_args(toy_root, out))
    assert status == 2 and "already holds a training run" in err
    assert f"--resume {out / 'latest.pt'}" in err
    assert digests(out) == before


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.lr_max=-0.001", "lr_max must be >= 0, got -0.001"),
        ("train.epochs=0", "epochs must be >= 1, got 0"),
        ("train.batch_size=0", "batch_size must be >= 1, got 0"),
        ("train.grad_clip_norm=0", "grad_clip_norm must be > 0 or null"),
        ("train.pct_start=1.5", "pct_start must be in (0, 1)"),
        ("train.weight_decay=-1", "weight_decay must be >= 0"),
        ("train.optimizer=sgd", "'train.optimizer' must be one of ['adamw', 'adam']"),
        ("data.max_train_frames=0", "max_train_frames must be >= 1"),
    ],
)
def test_bad_train_values_are_config_errors(run_cli, toy_root, tmp_path, override, message):
    status, _, err = run_cli(*_train_args(toy_root, tmp_path / "run", override))
    assert status == 2 and message in err and str(LITE) in err
    assert not (tmp_path / "run").exists()


def test_resume_with_another_schedule_is_refused_before_any_step(run_cli, toy_root, tmp_path):
    out = tmp_path / "run"
    assert run_cli(*_train_args(toy_root, out))[0] == 0
    before = digests(out)
    resume = ["--resume", str(out / "latest.pt")]
    status, _, err = run_cli(*_train_args(toy_root, out, "train.epochs=3"), *resume)
    assert status == 2
    assert "resuming needs the checkpoint's schedule: train.epochs 3 (checkpoint: 1)" in err
    assert "train.init_weights=" in err  # how to train longer
    assert digests(out) == before  # refused up front: no epoch ran
    status, _, err = run_cli(*_train_args(toy_root, out, "data.max_train_frames=2"), *resume)
    assert status == 2 and "the checkpoint's schedule has 2 steps, this run 1" in err
    status, _, err = run_cli(*_train_args(toy_root, out), "--resume", str(out / "model.pt"))
    assert status == 2 and "weights only" in err


def test_files_of_another_kind_are_named(run_cli, kitti_root, tmp_path):
    frustum = WEIGHTS / "frustum_pointnet_synth.pt"
    status, _, err = run_cli(*_infer(kitti_root, frustum, tmp_path / "pred"))
    assert status == 2
    assert "expected a 'detector' checkpoint" in err and "got a 'frustum' checkpoint" in err
    detector = WEIGHTS / "pointpillars_lite_synth.pt"
    status, _, err = run_cli("fusion", "paint", "--data-root", kitti_root, "--seg", detector,
                             "--out", tmp_path / "painted", "--split", "training")  # fmt: skip
    assert status == 2 and "not a SegNet file" in err and "got a 'detector' checkpoint" in err
    hdr = WEIGHTS / "isp_hdr.pt"
    status, _, err = run_cli("isp", "run", "configs/isp/learned.yaml", "--data-root", kitti_root,
                             "--out", tmp_path / "isp", "--set", f"weights.raw={hdr}")  # fmt: skip
    assert status == 2 and "expected a 'isp_raw' checkpoint" in err and "'isp_hdr'" in err


def test_an_old_format_file_names_the_converter(run_cli, kitti_root, tmp_path):
    old = tmp_path / "old.pt"
    torch.save({"info": {"stage": "raw", "width": 4}, "state_dict": {}}, old)
    status, _, err = run_cli("isp", "run", "configs/isp/learned.yaml", "--data-root", kitti_root,
                             "--out", tmp_path / "isp", "--set", f"weights.raw={old}")  # fmt: skip
    assert status == 2 and "tools/convert_checkpoint.py" in err


def test_a_missing_isp_weight_file_is_said_to_be_missing(run_cli, kitti_root, tmp_path):
    missing = tmp_path / "nowhere" / "isp_raw.pt"
    for command in (["isp", "run", "configs/isp/learned.yaml", "--data-root", kitti_root,
                     "--out", tmp_path / "isp"],
                    ["isp", "eval", "configs/isp/eval_procedural.yaml", "--out", tmp_path / "ev",
                     "--set", "data.procedural=1"]):  # fmt: skip
        status, _, err = run_cli(*command, "--set", f"weights.raw={missing}")
        assert status == 2
        assert f"weights of the learned raw stage not found: {missing} is missing" in err


def test_ctrl_c_is_one_line_exit_130_and_leaves_resumable_state(
    toy_root, tmp_path, monkeypatch, capsys
):
    from perception3d.engine.tasks.detector import DetectorTask

    out = tmp_path / "run"
    calls = {"n": 0}
    loss = DetectorTask.loss

    def interrupted(self, model, batch):
        calls["n"] += 1
        if calls["n"] == 3:  # in the second epoch (2 steps per epoch)
            raise KeyboardInterrupt
        return loss(self, model, batch)

    monkeypatch.setattr(DetectorTask, "loss", interrupted)
    assert main(_train_args(toy_root, out, "train.epochs=2")) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "perception3d train: interrupted" in err[0]
    assert f"resume with --resume {out / 'latest.pt'}" in err[0]
    monkeypatch.setattr(DetectorTask, "loss", loss)
    resume = ["--resume", str(out / "latest.pt")]
    assert main(_train_args(toy_root, out, "train.epochs=2") + resume) == 0
    assert (out / "checkpoint_epoch_002.pt").is_file()


def test_ctrl_c_in_any_command_is_one_line(kitti_root, monkeypatch, capsys):
    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("perception3d.eval.kitti.evaluate_kitti_dirs", stop)
    assert (
        main(["eval", "kitti", "--gt-dir", str(kitti_root), "--pred-dir", str(kitti_root)]) == 130
    )
    assert capsys.readouterr().err.strip() == "perception3d eval: interrupted"


def _as_from_a_terminal() -> None:
    """SIGINT as a shell started from a terminal leaves it: default action, not blocked. A
    child inherits an ignored or blocked SIGINT from its parent (the test worker, or whatever
    started it), and Python then never raises KeyboardInterrupt: the run would go on to its
    last epoch and exit 0."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.mark.slow
def test_sigint_to_a_training_process(toy_root, tmp_path):
    """The real signal, as a terminal sends it: one line on stderr, status 130, and the run
    resumes from what it left."""
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    args = _train_args(toy_root, out, "train.epochs=200")
    proc = subprocess.Popen([sys.executable, "-m", "perception3d", *args], cwd=ROOT, env=env,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=_as_from_a_terminal)  # fmt: skip
    deadline = time.time() + 300
    while not (out / "latest.pt").is_file() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith("perception3d train: interrupted") and "Traceback" not in err
    from perception3d.checkpoint import read_checkpoint

    assert read_checkpoint(out / "latest.pt", "detector")["progress"]["epoch"] >= 1
    assert np.isfinite(read_checkpoint(out / "latest.pt")["extra"]["history"]["epochs"][0]["loss"])
