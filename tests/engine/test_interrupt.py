"""Ctrl-C during training: a SIGINT whose KeyboardInterrupt some library swallowed still stops
the run at the next step, and the guard leaves an ignored SIGINT and the previous handler alone."""

from __future__ import annotations

import os
import signal
import time

import pytest

from perception3d.checkpoint import read_checkpoint
from perception3d.engine.interrupt import sigint_guard
from perception3d.engine.tasks.isp import IspTask
from perception3d.engine.train import train
from tests.engine.test_fit import _tiny_isp


@pytest.fixture
def python_sigint():
    """Python's own SIGINT handler, as in a process started from a terminal (a test worker may
    run with SIGINT ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _sigint_self() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)  # the handler runs at the next bytecode of the main thread


def test_sigint_raises_at_once_and_is_recorded(python_sigint):
    with sigint_guard() as stop:
        with pytest.raises(KeyboardInterrupt):
            _sigint_self()
        assert stop.requested
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_swallowed_interrupt_is_raised_again_by_check(python_sigint):
    with sigint_guard() as stop:
        stop.check()  # nothing arrived yet
        try:
            _sigint_self()
        except KeyboardInterrupt:
            pass  # what a C API that clears every exception does
        with pytest.raises(KeyboardInterrupt):
            stop.check()


def test_an_ignored_sigint_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with sigint_guard() as stop:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            _sigint_self()  # ignored: no exception
            stop.check()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_training_stops_at_the_next_step_after_a_swallowed_interrupt(
    python_sigint, tmp_path, monkeypatch
):
    steps = {"n": 0}
    loss = IspTask.loss

    def loss_in_a_library_that_swallows_ctrl_c(self, model, batch):
        steps["n"] += 1
        if steps["n"] == 1:
            try:
                _sigint_self()
            except KeyboardInterrupt:
                pass
        return loss(self, model, batch)

    monkeypatch.setattr(IspTask, "loss", loss_in_a_library_that_swallows_ctrl_c)
    with pytest.raises(KeyboardInterrupt, match="training stopped in epoch 1; no epoch completed"):
        train(_tiny_isp(epochs=3), tmp_path / "run", progress=False)
    assert steps["n"] == 1  # 3 epochs of 2 steps without the guard
    assert not (tmp_path / "run" / "latest.pt").exists()


def _ctrl_c_while_writing(monkeypatch, module, name: str) -> None:
    """SIGINT to this process as ``module.write_checkpoint`` starts writing a file ``name``."""
    write = module.write_checkpoint

    def write_while_ctrl_c(path, ckpt):
        if path.name == name:
            _sigint_self()
        return write(path, ckpt)

    monkeypatch.setattr(module, "write_checkpoint", write_while_ctrl_c)


def test_ctrl_c_while_a_checkpoint_is_written_stops_after_it(python_sigint, tmp_path, monkeypatch):
    # A KeyboardInterrupt inside torch.save tears its zip writer, whose clean-up then raises a
    # RuntimeError instead (exit status 1, a traceback); the epoch's files are finished first.
    import perception3d.engine.fit as fit_module

    _ctrl_c_while_writing(monkeypatch, fit_module, "latest.pt")
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt, match=r"in epoch 2; resume with --resume .*latest\.pt"):
        train(_tiny_isp(epochs=3), out, progress=False)
    assert read_checkpoint(out / "latest.pt")["progress"]["epoch"] == 1
    assert (out / "checkpoint_epoch_001.pt").is_file() and (out / "history.json").is_file()


def test_ctrl_c_while_the_release_is_written_leaves_a_whole_model_pt(
    python_sigint, tmp_path, monkeypatch
):
    # model.pt is written after the last epoch, outside the epoch loop; a Ctrl-C inside its
    # torch.save tore the file's zip writer the same way.
    import perception3d.checkpoint as checkpoint_module

    _ctrl_c_while_writing(monkeypatch, checkpoint_module, "model.pt")
    out = tmp_path / "run"
    done = r"after its last epoch \(2\); .*model\.pt was written"
    with pytest.raises(KeyboardInterrupt, match=done):
        train(_tiny_isp(epochs=2), out, progress=False)
    assert read_checkpoint(out / "model.pt")["progress"]["epoch"] == 2
