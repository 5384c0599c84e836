"""Weight averaging (perception3d.engine.soup, tools/soup_weights.py): the mean of the weights by
hand, a soup of copies is the network itself, and ingredients of other networks are refused
by name."""

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from perception3d.checkpoint import CheckpointError, read_checkpoint, write_checkpoint
from perception3d.data.kitti import KittiObjectDataset
from perception3d.engine.detect import Detector
from perception3d.engine.soup import average_state_dicts, soup_checkpoints
from tests.tools.scripts import load_tool

REPO = Path(__file__).parents[2]
WEIGHTS = REPO / "perception3d/assets/weights/pointpillars_lite_synth.pt"
CONFIG = REPO / "configs/models/pointpillars_lite.yaml"
SAMPLES = REPO / "tests/data/kitti_samples"


def _perturbed(tmp_path: Path, name: str, seed: int) -> Path:
    """The shipped detector with every float tensor shifted by seeded noise (a second
    'fine-tune' of the same network)."""
    ckpt = read_checkpoint(WEIGHTS)
    gen = torch.Generator().manual_seed(seed)
    ckpt["model"] = {
        k: v + 0.01 * torch.randn(v.shape, generator=gen, dtype=v.dtype) if v.is_floating_point()
        else v + seed  # an integer counter that differs between ingredients
        for k, v in ckpt["model"].items()
    }  # fmt: skip
    return write_checkpoint(tmp_path / name, ckpt)


def test_weighted_mean_by_hand_and_counters_from_the_first():
    a = {"w": torch.tensor([1.0, 3.0]), "n": torch.tensor(5)}
    b = {"w": torch.tensor([4.0, -3.0]), "n": torch.tensor(9)}
    mix = average_state_dicts([a, b], weights=[3, 1])
    assert mix["w"].tolist() == [1.75, 1.5]  # 0.75 a + 0.25 b
    assert mix["n"].item() == 5 and mix["w"].dtype == torch.float32
    assert average_state_dicts([a, b])["w"].tolist() == [2.5, 0.0]


def test_soup_of_three_checkpoints_is_their_mean_with_provenance(tmp_path):
    paths = [_perturbed(tmp_path, f"{i}.pt", seed=i + 1) for i in range(3)]
    out = soup_checkpoints(paths, tmp_path / "soup.pt", note={"command": "test"})
    soup, ingredients = read_checkpoint(out, "detector"), [read_checkpoint(p) for p in paths]
    for key, value in soup["model"].items():
        if value.is_floating_point():
            mean = sum(c["model"][key].double() for c in ingredients) / 3
            # float32 rounding of the float64 mean
            torch.testing.assert_close(value.double(), mean, rtol=2e-7, atol=1e-7)
        else:
            assert torch.equal(value, ingredients[0]["model"][key])
    assert soup["config"] == ingredients[0]["config"] and not soup["optimizer"]
    listed = soup["extra"]["soup"]["ingredients"]
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    assert [e["sha256"] for e in listed] == digests
    assert [e["weight"] for e in listed] == pytest.approx([1 / 3] * 3)
    assert soup["extra"]["command"] == "test"


def test_soup_of_copies_detects_exactly_as_the_network(tmp_path):
    tool = load_tool("soup_weights")
    out = tmp_path / "copies.pt"
    assert tool.main([str(out), str(WEIGHTS), str(WEIGHTS), "--weights", "2", "5"]) == 0
    frame = KittiObjectDataset(SAMPLES, split="training").frame("000008")
    ref = Detector.from_checkpoint(CONFIG, WEIGHTS, device="cpu")(frame.points, frame.calib)
    got = Detector.from_checkpoint(CONFIG, out, device="cpu")(frame.points, frame.calib)
    assert len(ref.scores) > 0
    np.testing.assert_allclose(got.boxes_lidar, ref.boxes_lidar, rtol=0, atol=1e-5)
    np.testing.assert_allclose(got.scores, ref.scores, rtol=0, atol=1e-6)


def test_other_networks_are_refused_by_name(tmp_path):
    base = read_checkpoint(WEIGHTS)
    model_cfg = {**base["config"]["model"], "point_features": 8}
    other_model = {**base, "config": {**base["config"], "model": model_cfg}}
    odd = write_checkpoint(tmp_path / "odd.pt", other_model)
    with pytest.raises(CheckpointError, match=r"odd\.pt.*point_features"):
        soup_checkpoints([WEIGHTS, odd], tmp_path / "x.pt")
    seg = write_checkpoint(tmp_path / "seg.pt", {**base, "kind": "segnet"})
    with pytest.raises(CheckpointError, match=r"seg\.pt.*'segnet'"):
        soup_checkpoints([WEIGHTS, seg], tmp_path / "x.pt")
    key = next(iter(base["model"]))
    cut = {**base, "model": {**base["model"], key: base["model"][key][..., :1]}}
    short = write_checkpoint(tmp_path / "short.pt", cut)
    with pytest.raises(CheckpointError, match=rf"{key}.*shape"):
        soup_checkpoints([WEIGHTS, short], tmp_path / "x.pt")
    with pytest.raises(ValueError, match="weights"):
        average_state_dicts([base["model"]] * 2, weights=[1.0, -1.0])
    assert not (tmp_path / "x.pt").exists()


def test_fine_tunes_that_differ_only_in_post_processing_mix(tmp_path):
    """A detector's postprocess and loss keys do not change its weights (FREE_MODEL_KEYS): such
    ingredients mix, and the soup keeps the first one's config."""
    a = read_checkpoint(_perturbed(tmp_path, "a.pt", 1))
    post = {**a["config"]["model"]["postprocess"], "nms_iou": 0.2}
    b = read_checkpoint(_perturbed(tmp_path, "b.pt", 2))
    b["config"] = {**b["config"], "model": {**b["config"]["model"], "postprocess": post}}
    b_path = write_checkpoint(tmp_path / "b_post.pt", b)
    soup = read_checkpoint(soup_checkpoints([tmp_path / "a.pt", b_path], tmp_path / "soup.pt"))
    assert soup["config"]["model"]["postprocess"] == a["config"]["model"]["postprocess"]
    key = next(k for k, v in a["model"].items() if v.is_floating_point())
    torch.testing.assert_close(soup["model"][key], (a["model"][key] + b["model"][key]) / 2)
