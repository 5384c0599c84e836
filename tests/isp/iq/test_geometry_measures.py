"""Vignetting and distortion measures on charts with a known fall-off / barrel distortion."""

from __future__ import annotations

import numpy as np
import pytest

from perception3d.isp.iq import charts
from perception3d.isp.iq.distortion import dot_centroids, fit_radial_distortion, tv_distortion_pct
from perception3d.isp.iq.optics import Lens, image_chart, undistort_points
from perception3d.isp.iq.vignetting import flat_field_falloff
from perception3d.isp.sensor import vignetting_map


def test_vignetting_of_known_falloff():
    # the sensor model's 1 - k r^2 with r = 1 at the corners: corners at 1 - k
    k = 0.3
    flat = vignetting_map(400, 600, k)[0, 0].double().numpy()
    result = flat_field_falloff(flat, window=0.02)
    assert result["falloff_pct"] == pytest.approx(100 * k, abs=1.0)
    assert result["falloff_stops"] == pytest.approx(-np.log2(1 - k), abs=0.03)


@pytest.mark.parametrize("k1", [-0.08, 0.05])
def test_distortion_recovered_under_noise(k1):
    w, h = 192, 128
    img = image_chart(charts.dot_chart(w, h), w, h, Lens(distortion_k1=k1))[0]
    img = img + np.random.default_rng(0).normal(0.0, 0.05, img.shape)
    fit = fit_radial_distortion(dot_centroids(img), charts.dot_centres(w, h, 16.0), w, h)
    assert fit["k1"] == pytest.approx(k1, abs=0.005)
    assert fit["dots"] == 77
    assert np.sign(fit["tv_distortion_pct"]) == np.sign(k1)  # barrel < 0


def test_undistort_inverts_the_model():
    x_u, y_u = np.array([10.0, 150.0]), np.array([20.0, 100.0])
    w, h, k1 = 192, 128, -0.1
    norm = np.hypot(w, h) / 2
    xn, yn = (x_u - w / 2) / norm, (y_u - h / 2) / norm
    f = 1 + k1 * (xn**2 + yn**2)
    x_d, y_d = w / 2 + xn * f * norm, h / 2 + yn * f * norm
    np.testing.assert_allclose(undistort_points(x_d, y_d, w, h, k1), (x_u, y_u), atol=1e-6)


def test_tv_distortion_zero_and_sign():
    assert tv_distortion_pct(0.0, 192, 128) == 0.0
    assert tv_distortion_pct(-0.1, 192, 128) < 0 < tv_distortion_pct(0.1, 192, 128)


def test_too_few_dots():
    with pytest.raises(ValueError, match="need >= 6"):
        fit_radial_distortion(np.zeros((0, 2)), charts.dot_centres(192, 128, 16.0), 192, 128)
