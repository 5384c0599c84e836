"""tools/level_ground_infer.py: without leveling it writes the rows `perception3d infer` writes;
with it, the boxes of the same frames move in height by the ground field only."""

from pathlib import Path

import numpy as np
import pytest

from perception3d.data.kitti_labels import read_label_file
from perception3d.engine.config import load_experiment
from perception3d.engine.infer import infer
from tests.tools.scripts import load_tool

ROOT = Path(__file__).parents[1] / "data" / "kitti_samples"
CONFIG = Path(__file__).parents[2] / "configs" / "models" / "pointpillars_lite.yaml"
WEIGHTS = Path(__file__).parents[2] / "perception3d/assets/weights/pointpillars_lite_synth.pt"
FRAMES = ("000000", "000008", "004139")


@pytest.fixture(scope="module")
def tool():
    return load_tool("level_ground_infer")


def _boxes(folder: Path, frame: str) -> np.ndarray:
    """(K, 8) camera-frame x, y, z, h, w, l, ry, score of a result file."""
    rows = read_label_file(folder / f"{frame}.txt")
    table = [[*o.location, *o.dimensions, o.rotation_y, o.score] for o in rows]
    return np.array(table, dtype=np.float64).reshape(-1, 8)


def test_control_matches_infer_and_leveling_moves_boxes_in_height(tool, tmp_path):
    args = [str(CONFIG), str(WEIGHTS), str(ROOT)]
    assert tool.main([*args, str(tmp_path / "raw"), "--split", "training", "--no-level"]) == 0
    assert tool.main([*args, str(tmp_path / "lvl"), "--split", "training"]) == 0
    infer(WEIGHTS, ROOT, tmp_path / "infer", split="training", cfg=load_experiment(CONFIG),
          device="cpu", progress=False)  # fmt: skip
    moved = 0
    for frame in FRAMES:
        raw, ref = _boxes(tmp_path / "raw", frame), _boxes(tmp_path / "infer", frame)
        np.testing.assert_allclose(raw, ref, atol=2e-3)  # 4-decimal rows, float rounding
        lvl = _boxes(tmp_path / "lvl", frame)
        # the strongest detections survive leveling; their boxes move up or down (camera y)
        # by at most a few decimetres and keep their ground position, size and heading
        for box in raw[raw[:, 7] >= 0.5]:
            near = lvl[np.hypot(lvl[:, 0] - box[0], lvl[:, 2] - box[2]) < 0.5]
            assert len(near), f"{frame}: a detection at {box[:3]} is lost"
            best = near[np.argmin(np.abs(near[:, 1] - box[1]))]
            assert abs(best[1] - box[1]) < 0.3
            moved += abs(best[1] - box[1]) > 1e-3
    assert moved > 0
