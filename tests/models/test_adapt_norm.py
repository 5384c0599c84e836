"""AdaBN: re-estimated BatchNorm statistics are those of the target inputs."""

import pytest
import torch
from torch import nn

from perception3d.models.adapt_norm import batchnorm_layers, reestimate_batchnorm


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5))


def test_statistics_become_those_of_the_target_batches():
    net = _net()
    gen = torch.Generator().manual_seed(1)
    batches = [2.0 + 3.0 * torch.randn(2, 3, 8, 8, generator=gen) for _ in range(5)]
    n = reestimate_batchnorm(net, batches, lambda m, b: m(b))
    assert n == 5
    # hand-computed: the conv's outputs over all batches, per channel (equal batch sizes, so
    # the cumulative average of the batch means is the mean over all of them)
    with torch.no_grad():
        acts = [net[0](b) for b in batches]
    means = torch.stack([a.mean(dim=(0, 2, 3)) for a in acts]).mean(0)
    vars_ = torch.stack([a.var(dim=(0, 2, 3), unbiased=True) for a in acts]).mean(0)
    bn = net[1]
    torch.testing.assert_close(bn.running_mean, means, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(bn.running_var, vars_, rtol=1e-5, atol=1e-5)
    # the model is left in eval mode with its momentum, and its weights unchanged
    assert not net.training and not bn.training and bn.momentum == 0.1
    out1, out2 = net(batches[0]), net(batches[0])
    torch.testing.assert_close(out1, out2)  # dropout off: eval mode


def test_normalized_activations_of_the_target_are_standard():
    net = _net()
    gen = torch.Generator().manual_seed(2)
    shifted = [5.0 + 0.2 * torch.randn(4, 3, 6, 6, generator=gen) for _ in range(3)]
    reestimate_batchnorm(net, shifted, lambda m, b: m(b))
    with torch.no_grad():
        z = torch.cat([net[1](net[0](b)) for b in shifted])
    # BatchNorm's affine weight is 1 and bias 0 at init: normalized outputs ~ N(0, 1)
    assert z.mean(dim=(0, 2, 3)).abs().max() < 1e-4
    assert (z.std(dim=(0, 2, 3)) - 1).abs().max() < 0.02


def test_no_batch_or_no_batchnorm_is_an_error_and_keeps_the_statistics():
    net = _net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(ValueError, match="no batch"):
        reestimate_batchnorm(net, [], lambda m, b: m(b))
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, before[k])

    def failing(m, b):
        m(b)
        raise RuntimeError("bad batch")

    with pytest.raises(RuntimeError, match="bad batch"):
        reestimate_batchnorm(net, [torch.randn(2, 3, 4, 4)], failing)
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, before[k])
    with pytest.raises(ValueError, match="no BatchNorm"):
        reestimate_batchnorm(nn.Linear(2, 2), [torch.randn(1, 2)], lambda m, b: m(b))
    assert len(batchnorm_layers(net)) == 1
