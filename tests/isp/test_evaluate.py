"""``perception3d.isp.evaluate``: captures seeded per (seed, frame, condition)."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.isp.data import Scene
from perception3d.isp.evaluate import evaluate
from perception3d.isp.scenes import procedural_scene


def _scenes(n: int = 2) -> list[Scene]:
    rng = np.random.default_rng(5)
    return [Scene(f"p{i}", *procedural_scene(24, 40, rng)) for i in range(n)]


def test_a_run_of_one_condition_draws_the_full_runs_captures(tmp_path):
    scenes = _scenes()
    models = {"raw": None, "hdr": None, "dehaze": None}
    full = evaluate(
        scenes,
        models,
        tmp_path / "a",
        conditions=("lowlight", "hdr"),
        denoise="bilateral",
        log=lambda *_: 0,
    )
    one = evaluate(scenes, models, tmp_path / "b", conditions=("hdr",), log=lambda *_: 0)
    got, want = one["conditions"]["hdr"], full["conditions"]["hdr"]
    assert got["frame_info"] == want["frame_info"]
    assert got["per_frame"] == want["per_frame"]
    with pytest.raises(ValueError, match="condition must be one of"):
        evaluate(scenes, models, tmp_path / "c", conditions=("fog",), log=lambda *_: 0)
