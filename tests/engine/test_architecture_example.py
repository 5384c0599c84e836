"""docs/architecture.md's example of a new model family is real: its task module and config,
as the page prints them, train through ``perception3d train`` with nothing else but the
``TASKS`` entry the page shows."""

from __future__ import annotations

import re
from pathlib import Path

from perception3d.checkpoint import read_checkpoint
from perception3d.cli import main
from perception3d.engine.config import TASKS
from tests.toy_scenes import write_toy_kitti

DOC = Path(__file__).parents[2] / "docs" / "architecture.md"


def _example(name: str) -> str:
    """The code block of the page that follows ``<!-- example: NAME -->``."""
    match = re.search(rf"<!-- example: {re.escape(name)} -->\n```\w+\n(.*?)```", DOC.read_text(),
                      re.S)  # fmt: skip
    assert match, f"no example {name} in {DOC}"
    return match.group(1)


def test_the_documented_model_family_trains(tmp_path, monkeypatch):
    package = tmp_path / "example"
    package.mkdir()
    (package / "pointcls.py").write_text(_example("perception3d/engine/tasks/pointcls.py"))
    config = tmp_path / "pointcls.yaml"
    config.write_text(_example("configs/pointcls.yaml"))
    monkeypatch.syspath_prepend(str(package))
    monkeypatch.setitem(
        TASKS,
        "pointcls",
        ("pointcls:PointClsExperiment", "pointcls:PointClsTask"),
    )
    root = write_toy_kitti(tmp_path / "kitti", 6, seed=2)
    out = tmp_path / "out"
    sets = ["train.epochs=2", "train.validate_every=1", "train.num_threads=1"]
    args = ["train", str(config), "--data-root", str(root), "--out", str(out), "--no-progress"]
    assert main(args + [a for s in sets for a in ("--set", s)]) == 0
    ckpt = read_checkpoint(out / "model.pt", "pointcls")
    assert ckpt["config"]["task"] == "pointcls" and ckpt["progress"]["epoch"] == 2
    assert 0.0 <= ckpt["extra"]["metrics"]["accuracy"] <= 1.0
    assert (out / "latest.pt").is_file() and (out / "history.json").is_file()
