"""PointNet classifier: order invariance, T-Net (the shared encoder's) starts at the identity
and can rotate."""

from __future__ import annotations

import pytest
import torch
from scipy.spatial.transform import Rotation

from perception3d.models.pointnet import TNet
from perception3d.models.pointnet_classifier import PointNetClassifier


@pytest.mark.parametrize("input_transform", [False, True])
def test_output_is_invariant_to_point_order(input_transform):
    torch.manual_seed(0)
    net = PointNetClassifier(5, input_transform=input_transform)
    net.train()
    for _ in range(3):  # move BatchNorm statistics away from their init
        net(torch.randn(8, 200, 3))
    net.eval()
    points = torch.randn(4, 200, 3)
    perm = torch.randperm(200)
    out, out_perm = net(points), net(points[:, perm])
    torch.testing.assert_close(out, out_perm, rtol=1e-5, atol=1e-5)
    # and it is not trivially constant
    assert (net(points) - net(points * 2.0)).abs().max() > 1e-3


def test_tnet_starts_as_identity_and_transforms_the_input():
    torch.manual_seed(0)
    tnet = TNet(3, widths=(64, 128, 256), hidden=(128,)).eval()
    x = torch.randn(2, 3, 50)
    torch.testing.assert_close(tnet(x), torch.eye(3).expand(2, 3, 3))
    net = PointNetClassifier(3, input_transform=True).eval()
    rot = torch.tensor(Rotation.from_euler("z", 90, degrees=True).as_matrix(), dtype=torch.float32)
    with torch.no_grad():  # a T-Net that outputs a matrix M feeds points @ M to the MLP
        net.encoder.input_tnet.regressor[-1].bias.copy_((rot - torch.eye(3)).flatten())
        plain = PointNetClassifier(3, input_transform=False).eval()
        plain.load_state_dict(net.state_dict(), strict=False)
    pts = torch.randn(2, 64, 3)
    torch.testing.assert_close(net(pts), plain(pts @ rot), rtol=1e-5, atol=1e-5)
    assert (net(pts) - plain(pts)).abs().max() > 1e-4  # the rotation matters


def test_bad_shape_is_an_error():
    with pytest.raises(ValueError, match=r"points must be \(B, N, 3\)"):
        PointNetClassifier(2)(torch.zeros(2, 3, 10))
