"""Key names and shapes of the frameworks' state dicts: our four framework configs build
networks whose renamed state dicts are exactly the frameworks' (the three fixtures' key lists
with shapes, and mmdetection3d SECOND's from its SparseEncoder / SECOND / SECONDFPN /
Anchor3DHead code, written out below)."""

from __future__ import annotations

import pytest

from perception3d.interop.keymap import IGNORED_KEYS, framework_key, key_map
from perception3d.models.detector import build_detector
from tests.interop.conftest import ROOT, config, expected


def _shapes(model, framework):
    sd = model.state_dict()
    return {fk: list(sd[k].shape) for fk, k in key_map(sd, framework).items()}


@pytest.mark.parametrize(
    ("name", "framework"),
    [
        ("openpcdet_pointpillar", "openpcdet"),
        ("openpcdet_second", "openpcdet"),
        ("mmdet3d_pointpillars", "mmdet3d"),
    ],
)
def test_renamed_state_dict_is_the_frameworks(name, framework):
    if name == "openpcdet_second":
        pytest.importorskip("spconv")
    theirs = {
        k: v for k, v in expected(name)["state_dict"].items() if k not in IGNORED_KEYS[framework]
    }
    assert _shapes(build_detector(config(name).model), framework) == theirs


def _mmdet3d_second_keys() -> dict[str, list[int]]:
    """mmdetection3d 1.x SECOND (second_hv_secfpn_kitti.py): SparseEncoder conv_input and
    encoder_layer1..4 of make_sparse_convmodule (conv, BN1d, ReLU), conv_out (3, 1, 1); spconv
    2.x weights (out, kz, ky, kx, in); SECOND backbone (conv, BN, ReLU) x (1 + 5) per block,
    SECONDFPN ConvTranspose2d (in, out, k, k) + BN; Anchor3DHead 1x1 convs."""
    keys: dict[str, list[int]] = {}

    def bn(prefix, c):
        for p in ("weight", "bias", "running_mean", "running_var"):
            keys[f"{prefix}.{p}"] = [c]
        keys[f"{prefix}.num_batches_tracked"] = []

    def sparse(prefix, c_in, c_out, k=(3, 3, 3)):
        keys[f"{prefix}.0.weight"] = [c_out, *k, c_in]
        bn(f"{prefix}.1", c_out)

    m = "middle_encoder"
    sparse(f"{m}.conv_input", 4, 16)
    layers = [(16, [16]), (16, [32, 32, 32]), (32, [64, 64, 64]), (64, [64, 64, 64])]
    for i, (c_in, outs) in enumerate(layers):
        for j, c in enumerate(outs):
            sparse(f"{m}.encoder_layers.encoder_layer{i + 1}.{j}", c_in, c)
            c_in = c
    sparse(f"{m}.conv_out", 64, 128, (3, 1, 1))
    for b, (c_in, c, n) in enumerate([(256, 128, 5), (128, 256, 5)]):
        for j in range(n + 1):
            keys[f"backbone.blocks.{b}.{3 * j}.weight"] = [c, c_in if j == 0 else c, 3, 3]
            bn(f"backbone.blocks.{b}.{3 * j + 1}", c)
    for b, (c_in, k) in enumerate([(128, 1), (256, 2)]):
        keys[f"neck.deblocks.{b}.0.weight"] = [c_in, 256, k, k]
        bn(f"neck.deblocks.{b}.1", 256)
    for name, c in (("conv_cls", 18), ("conv_reg", 42), ("conv_dir_cls", 12)):
        keys[f"bbox_head.{name}.weight"] = [c, 512, 1, 1]
        keys[f"bbox_head.{name}.bias"] = [c]
    return keys


def test_mmdet3d_second_key_names_and_shapes():
    pytest.importorskip("spconv")
    from perception3d.engine.config import load_experiment

    cfg = load_experiment(ROOT / "configs/models/mmdet3d/second.yaml")
    assert cfg.model.classes == ("Pedestrian", "Cyclist", "Car")
    assert _shapes(build_detector(cfg.model), "mmdet3d") == _mmdet3d_second_keys()


def test_framework_key_examples_and_errors():
    assert framework_key("head.box.bias", "mmdet3d") == "bbox_head.conv_reg.bias"
    assert framework_key("head.dir.weight", "openpcdet") == "dense_head.conv_dir_cls.weight"
    assert framework_key("encoder.middle.stages.2.0.1.weight", "openpcdet") == (
        "backbone_3d.conv3.0.1.weight"
    )
    assert framework_key("encoder.middle.out_conv.0.weight", "mmdet3d") == (
        "middle_encoder.conv_out.0.weight"
    )
    with pytest.raises(ValueError, match="no openpcdet counterpart"):
        framework_key("encoder.feature_net.tnet.weight", "openpcdet")
    with pytest.raises(ValueError, match="framework must be"):
        framework_key("head.box.bias", "detectron")
