"""``perception3d import-checkpoint``: OpenPCDet and mmdetection3d files in the frameworks' own
layouts become perception3d checkpoints with the same weights; every kind of bad input is
refused with an error naming the file and the keys."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from perception3d.cli import main
from perception3d.engine.checkpoint import CheckpointError, load_checkpoint
from perception3d.interop.checkpoints import convert_state_dict, import_checkpoint
from perception3d.interop.keymap import key_map
from perception3d.models.detector import build_detector
from tests.interop.conftest import config


@pytest.fixture(scope="module")
def pillar_model():
    torch.manual_seed(0)
    model = build_detector(config("openpcdet_pointpillar").model)
    with torch.no_grad():  # non-trivial BN statistics, so a wrong mapping would show
        for name, buf in model.named_buffers():
            if name.endswith(("running_mean", "running_var")):
                buf.uniform_(0.5, 1.5)
    return model


def _framework_state(model, framework):
    sd = model.state_dict()
    return {fk: sd[k].clone() for fk, k in key_map(sd, framework).items()}


def test_openpcdet_file_imports_through_the_cli(tmp_path, pillar_model, capsys):
    state = _framework_state(pillar_model, "openpcdet")
    state["global_step"] = torch.tensor(1234)
    src = tmp_path / "pointpillar_7728.pth"
    torch.save(
        {
            "model_state": state,
            "optimizer_state": {},
            "epoch": 80,
            "it": 1234,
            "version": "pcdet+0.6.0",
        },
        src,
    )
    out = tmp_path / "pp.pt"
    argv = ["import-checkpoint", "openpcdet", str(src), "--arch", "pointpillar", "--out", str(out)]
    assert main(argv) == 0
    assert "4,834,888 parameters" in capsys.readouterr().out
    ckpt = load_checkpoint(out, expected=config("openpcdet_pointpillar"))
    assert ckpt["extra"]["imported_from"]["framework"] == "openpcdet"
    for k, v in pillar_model.state_dict().items():
        assert torch.equal(ckpt["model"][k], v), k


def test_mmdet3d_file_with_numpy_metadata_and_ddp_prefix(tmp_path):
    torch.manual_seed(1)
    cfg = config("mmdet3d_pointpillars")
    model = build_detector(cfg.model)
    state = {f"module.{k}": v for k, v in _framework_state(model, "mmdet3d").items()}
    meta = {"epoch": np.int64(160), "best_score": np.float64(0.77), "CLASSES": ("Pedestrian",)}
    src = tmp_path / "pointpillars_mmdet3d.pth"
    torch.save({"meta": meta, "state_dict": state}, src)
    summary = import_checkpoint("mmdet3d", src, "pointpillar", tmp_path / "mm.pt")
    assert summary.tensors == len(state)
    ckpt = load_checkpoint(tmp_path / "mm.pt", expected=cfg)
    assert all(torch.equal(ckpt["model"][k], v) for k, v in model.state_dict().items())


def test_spconv1_weight_layout_is_permuted():
    pytest.importorskip("spconv")
    torch.manual_seed(2)
    model = build_detector(config("openpcdet_second").model)
    state = _framework_state(model, "openpcdet")
    key = "backbone_3d.conv2.0.0.weight"  # (out 32, 3, 3, 3, in 16) in spconv 2.x
    state[key] = state[key].permute(1, 2, 3, 4, 0).contiguous()  # spconv 1.x: (3, 3, 3, 16, 32)
    out = convert_state_dict(state, model, "openpcdet")
    assert torch.equal(
        out["encoder.middle.stages.1.0.0.weight"],
        model.state_dict()["encoder.middle.stages.1.0.0.weight"],
    )


def test_missing_extra_and_misshapen_keys_are_listed(pillar_model):
    good = _framework_state(pillar_model, "openpcdet")
    state = dict(good)
    del state["dense_head.conv_box.bias"]
    state["dense_head.conv_extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError) as err:
        convert_state_dict(state, pillar_model, "openpcdet", "x.pth")
    msg = str(err.value)
    assert "missing keys: dense_head.conv_box.bias" in msg
    assert "unexpected keys: dense_head.conv_extra.weight" in msg
    state = dict(good)
    state["dense_head.conv_cls.weight"] = torch.zeros(12, 384, 1, 1)
    with pytest.raises(
        CheckpointError, match=r"conv_cls.weight \(12, 384, 1, 1\) \(expected \(18, 384, 1, 1\)\)"
    ):
        convert_state_dict(state, pillar_model, "openpcdet", "x.pth")


def test_wrong_architecture_is_named(pillar_model):
    pytest.importorskip("spconv")
    second = build_detector(config("openpcdet_second").model)
    with pytest.raises(CheckpointError, match="--arch second") as err:
        convert_state_dict(
            _framework_state(second, "openpcdet"), pillar_model, "openpcdet", "s.pth"
        )
    assert "missing keys: backbone_2d." in str(err.value)
    assert "unexpected keys: " in str(err.value)


def test_foreign_and_malformed_files_are_refused(tmp_path, capsys):
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint")
    argv = [
        "import-checkpoint",
        "openpcdet",
        str(text),
        "--arch",
        "pointpillar",
        "--out",
        str(tmp_path / "o.pt"),
    ]
    assert main(argv) == 2
    assert "notes.pth: not a readable checkpoint" in capsys.readouterr().err

    mm = tmp_path / "mm.pth"
    torch.save({"meta": {}, "state_dict": {"backbone.blocks.0.0.weight": torch.zeros(1)}}, mm)
    with pytest.raises(CheckpointError, match="looks like a mmdet3d checkpoint"):
        import_checkpoint("openpcdet", mm, "pointpillar", tmp_path / "o.pt")

    ours = tmp_path / "ours.pt"
    torch.save({"model": {}, "config": {}, "version": 1}, ours)
    with pytest.raises(CheckpointError, match="perception3d checkpoint already"):
        import_checkpoint("mmdet3d", ours, "pointpillar", tmp_path / "o.pt")

    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"model_state": {}, "x": pytest.raises}, protocol=2))
    with pytest.raises(CheckpointError, match=r"evil\.pth: not a readable checkpoint"):
        import_checkpoint("openpcdet", evil, "pointpillar", tmp_path / "o.pt")

    with pytest.raises(FileNotFoundError, match=r"missing\.pth"):
        import_checkpoint("openpcdet", tmp_path / "missing.pth", "pointpillar", tmp_path / "o.pt")
    assert not (tmp_path / "o.pt").exists()
