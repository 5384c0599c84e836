"""Training options of the HDR stage: the true response given to the model, the loss on the
response estimate's linearization, and both through the engine's tasks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from perception3d.engine.config import defaults_with
from perception3d.engine.isp_config import CrfExperiment, IspData, IspExperiment, IspLoss
from perception3d.engine.train import train
from perception3d.isp import conditions as cond
from perception3d.isp.color import linear_to_srgb
from perception3d.isp.losses import crf_pixel_loss, hdr_loss, log_l1, masked_log_l1, mu_law_l1
from perception3d.isp.models import HdrNet
from perception3d.isp.weights import IspModelConfig, load_isp_stage


def test_hdr_net_inverts_a_given_response_without_the_estimator():
    torch.manual_seed(0)
    model = HdrNet(width=4, crf="stats").eval()
    with torch.no_grad():
        for p in model.crf_estimator.parameters():
            p.fill_(float("nan"))  # would poison the output if it were used
    lin = torch.rand(2, 3, 24, 32) * 0.6  # codes below 0.95: no highlight boost
    ldr = torch.cat([linear_to_srgb(lin[:1]), lin[1:].pow(1 / 2.4)])
    w, g = torch.tensor([[1.0], [0.0]]), torch.tensor([[2.2], [2.4]])
    with torch.no_grad():
        out = model(ldr, crf=(w, g))
    assert torch.allclose(out, lin, atol=1e-4)


def test_true_crf_and_pixels_of_hdr_samples():
    rng = np.random.default_rng(3)
    rad = torch.rand(1, 3, 32, 48) * 5.0
    samples = [cond.make_hdr_sample(rad, rng) for _ in range(6)]
    w, g = cond.true_crf(samples)
    gammas = [float(s.extras["crf_gamma"][0]) for s in samples]
    assert w.flatten().tolist() == [1.0 if v == 0 else 0.0 for v in gammas]
    for s, wi, gi in zip(samples, w, g, strict=True):
        ldr, ref, peak = cond.sample_hdr_pixels(s, 256, rng)
        # the true response linearizes the sampled codes to their reference within 8-bit
        # quantization and the capture's noise (mu-law L1 below 1 %)
        assert float(crf_pixel_loss(wi[None], gi[None], ldr[None], ref[None], peak[None])) < 0.01


def test_crf_pixel_loss_is_zero_at_the_true_response_and_has_gradients():
    h = torch.linspace(0.001, 0.9, 500)[None]
    v = h.pow(1 / 2.0)  # a gamma-2 power law, unquantized
    peak = torch.tensor([1.0])
    right = crf_pixel_loss(torch.zeros(1, 1), torch.tensor([[2.0]]), v, h, peak)
    assert float(right) < 1e-6
    w = torch.zeros(1, 1, requires_grad=True)
    g = torch.tensor([[2.4]], requires_grad=True)
    wrong = crf_pixel_loss(w, g, v, h, peak)
    assert float(wrong.detach()) > 0.01
    wrong.backward()
    assert float(g.grad) > 0 and w.grad is not None  # a lower gamma would do better


def test_hdr_loss_is_the_stage_loss():
    pred, ref = torch.rand(1, 3, 8, 8) * 3, torch.rand(1, 3, 8, 8) * 3
    sat = (torch.rand(1, 1, 8, 8) > 0.5).float()
    expected = log_l1(pred, ref) + 4.0 * mu_law_l1(pred, ref) + masked_log_l1(pred, ref, sat)
    assert torch.allclose(hdr_loss(pred, ref, sat, 4.0), expected)


@pytest.mark.slow
def test_true_response_training_leaves_the_estimator_and_pixel_loss_trains_it(tmp_path):
    base = IspExperiment(model=IspModelConfig("hdr", width=4, crf="stats"))
    cfg = dataclasses.replace(
        base,
        data=IspData(procedural=1, crop=32),
        train=dataclasses.replace(base.train, epochs=1, steps_per_epoch=2, batch_size=2),
        loss=IspLoss(hdr_true_crf=True),
    )
    torch.manual_seed(0)
    train(cfg, tmp_path / "hdr", progress=False)
    hdr = load_isp_stage(tmp_path / "hdr" / "model.pt", "hdr")
    torch.manual_seed(0)
    init = HdrNet(width=4, crf="stats")  # the estimator's initial values (same seed)
    before = init.crf_estimator.state_dict()
    after = hdr.crf_estimator.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # no gradient reached it
    init_weights = tmp_path / "hdr" / "model.pt"
    sets = ["model.width=4", "train.epochs=1", "train.steps_per_epoch=5", "train.batch_size=8",
            "data.captures_per_scene=3", "data.procedural=3", "data.pixels_per_capture=64",
            "loss.pixel_weight=5.0", f"train.init_weights={init_weights}"]  # fmt: skip
    result = train(defaults_with(CrfExperiment, sets), tmp_path / "crf", progress=False)
    val = result.history["epochs"][-1]["val"]
    assert 0.0 <= val["held_out_accuracy"]["pixel_mu_l1"] < 1.0
    assert isinstance(load_isp_stage(tmp_path / "crf" / "model.pt", "hdr"), HdrNet)
