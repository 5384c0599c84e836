"""Which synthetic frames each weight file saw: the records of the shipped weights, and the
check that flags an evaluation on frames the weights were trained on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from perception3d.data.training_frames import (
    SeenFrameWarning,
    dataset_seed,
    decode_ids,
    encode_ids,
    held_out_check,
    read_training_frames,
    source_record,
)
from perception3d.errors import DataFormatError

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "perception3d" / "assets" / "weights"


def test_bitmap_round_trip_and_errors():
    for frames, ids in ((1, [0]), (9, []), (2400, list(range(0, 2400, 7)))):
        assert decode_ids(encode_ids(ids, frames), frames) == ids
    assert len(encode_ids(range(2400), 2400)) == 600  # 2,400 frames in 600 hex digits
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        encode_ids([4], 4)
    with pytest.raises(ValueError, match="beyond frame 3"):
        decode_ids("10", 4)
    with pytest.raises(ValueError, match="has 1 bytes"):
        decode_ids("0000", 4)


def test_every_shipped_weight_file_records_its_synthetic_frames():
    files = sorted(WEIGHTS.glob("*.pt"))
    assert len(files) >= 10
    for pt in files:
        sources = read_training_frames(pt)
        assert sources, f"{pt.with_suffix('.json').name}: no training_frames record"
        for s in sources:
            assert s.ids and max(s.ids) < s.frames and s.rule, pt.name


def test_records_equal_the_generators_split_rule():
    """The stored ids are the ones the generator's per-frame split rule draws today (the tool
    recomputes them): a change of that rule cannot go unnoticed."""
    pytest.importorskip("open3d")  # perception3d.sim
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, str(REPO / "tools/record_training_frames.py"), "--check"],
        capture_output=True, text=True, env=env, cwd=REPO,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr


def _synth_root(path: Path, seed: int | None) -> Path:
    path.mkdir(parents=True)
    if seed is not None:
        (path / "synth_config.yaml").write_text(f"seed: {seed}\nframes: 2400\n")
    return path


def test_held_out_check_names_the_weights_and_the_seen_frames(tmp_path):
    seg = WEIGHTS / "segnet_synth.pt"
    (source,) = read_training_frames(seg)
    trained = [f"{i:06d}" for i in sorted(source.ids)[:3]]
    held_out = [f"{i:06d}" for i in range(source.frames) if i not in source.ids][:3]
    root = _synth_root(tmp_path / "same_seed", source.seed)
    assert dataset_seed(root) == source.seed
    assert held_out_check([seg], root, held_out) == []
    with pytest.warns(SeenFrameWarning, match="segnet_synth.pt was trained on 2 of the 5"):
        (message,) = held_out_check([seg, seg, None], root, held_out + trained[:2])
    assert trained[0] in message and held_out[0] not in message
    other_seed = _synth_root(tmp_path / "other_seed", source.seed + 1)
    assert held_out_check([seg], other_seed, trained) == []
    assert held_out_check([seg], _synth_root(tmp_path / "real", None), trained) == []


def test_a_malformed_record_is_named(tmp_path):
    weights = tmp_path / "w.pt"
    record = {"sources": [source_record(3, 16, [1, 2], "rule")]}
    weights.with_suffix(".json").write_text(json.dumps({"training_frames": record}))
    assert read_training_frames(weights)[0].ids == {1, 2}
    record["sources"][0]["count"] = 3
    weights.with_suffix(".json").write_text(json.dumps({"training_frames": record}))
    with pytest.raises(DataFormatError, match=r"w.json: training_frames.sources.*count 3"):
        read_training_frames(weights)
    weights.with_suffix(".json").write_text("{}")
    assert read_training_frames(weights) is None


def _tiny_frames_of(root: Path, seed: int, indices: list[int]) -> Path:
    """Tiny frames (quarter-size image, 16 lasers) of a synthetic set of ``seed``: same seed and
    ids as the frames the shipped weights record, so the check applies to them."""
    from perception3d.sim.config import load_synth_config
    from perception3d.sim.writer import generate_dataset
    from tests.sim.conftest import TINY

    cfg = load_synth_config(None, [*TINY, "frames=2400", f"seed={seed}"])
    generate_dataset(root, cfg, frame_ids=indices, progress=False)
    return root


def test_the_demo_warns_in_its_output_and_summary(tmp_path, capsys):
    pytest.importorskip("open3d")
    from perception3d.demo import WEIGHTS, run_demo

    (source,) = read_training_frames(WEIGHTS)
    trained = min(source.ids)
    root = _tiny_frames_of(tmp_path / "synth", source.seed, [trained])
    with pytest.warns(SeenFrameWarning):
        summary = run_demo(tmp_path / "demo", data_root=root, progress=False)
    (message,) = summary["trained_on_evaluated_frames"]
    assert message.startswith("pointpillars_lite_synth.pt was trained on 1 of the 1 evaluated")
    assert f"WARNING: {message}" in capsys.readouterr().out
    saved = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert saved["trained_on_evaluated_frames"] == [message]


def test_isp_eval_warns_in_its_table_and_metrics(tmp_path):
    pytest.importorskip("open3d")
    pytest.importorskip("kornia")
    from perception3d.config import load_config
    from perception3d.isp.eval_config import EvalConfig
    from perception3d.isp.evaluate import evaluate_config, format_table

    (source,) = read_training_frames(WEIGHTS / "isp_raw.pt")  # seed 0, 23 frames of 48
    held_out = next(i for i in range(source.frames) if i not in source.ids)
    root = _tiny_frames_of(tmp_path / "synth", source.seed, [min(source.ids), held_out])
    overrides = [f"data.root={root}", "data.val_split=null", "conditions=[lowlight, hdr]"]
    cfg = load_config(REPO / "configs/isp/eval.yaml", EvalConfig, overrides)
    with pytest.warns(SeenFrameWarning):
        result = evaluate_config(cfg, tmp_path / "out", log=lambda *a: None)
    seen = result["trained_on_evaluated_frames"]
    assert [m.split()[0] for m in seen] == ["isp_raw.pt", "isp_hdr.pt"]  # no dehaze: no haze
    assert "trained on 1 of the 2 evaluated frames (seed 0" in seen[0]
    assert format_table(result).startswith(f"WARNING: {seen[0]}\n")
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved["trained_on_evaluated_frames"] == seen
