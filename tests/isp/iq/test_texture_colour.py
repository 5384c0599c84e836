"""Dead-leaves texture MTF (known blur, noise corrected) and ColorChecker colour errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from perception3d.isp.iq import charts, colorchecker
from perception3d.isp.iq.optics import Lens, image_chart
from perception3d.isp.iq.texture import texture_mtf


@pytest.fixture(scope="module")
def ideal_leaves():
    disks = charts.dead_leaves_disks(128, np.random.default_rng(0))
    return image_chart(charts.dead_leaves_chart(256, 128, disks), 256, 128, Lens(0.0))[0]


@pytest.mark.parametrize("sigma", [0.7, 1.2])
def test_texture_mtf_of_gaussian_blur_with_noise(ideal_leaves, sigma):
    out = ndimage.gaussian_filter(ideal_leaves, sigma, mode="reflect")
    out = out + np.random.default_rng(1).normal(0.0, 0.02, out.shape)
    freq, mtf = texture_mtf(out[:, :128], out[:, 128:], ideal_leaves[:, :128])
    expected = np.exp(-2 * math.pi**2 * sigma**2 * freq**2)
    keep = expected > 0.3
    # a 128 x 128 chart leaves a few % of statistical error per frequency bin
    np.testing.assert_allclose(mtf[keep], expected[keep], atol=0.07)


def test_noise_correction_matters(ideal_leaves):
    out = ideal_leaves + np.random.default_rng(2).normal(0.0, 0.05, ideal_leaves.shape)
    ideal = ideal_leaves[:, :128]
    _, corrected = texture_mtf(out[:, :128], out[:, 128:], ideal)
    _, uncorrected = texture_mtf(out[:, :128], np.zeros((128, 128)), ideal)
    assert np.abs(corrected[-6:] - 1).mean() < 0.15  # noise is not texture
    assert uncorrected[-6:].mean() > 1.5


def test_colour_errors_known_answers():
    ideal = colorchecker.patch_reflectance()
    ok = colorchecker.colour_errors(ideal * 0.7)  # exposure is corrected out
    assert ok["mean"] == pytest.approx(colorchecker.gamut_floor().mean(), abs=1e-6)
    assert ok["worst_patch"] == "cyan"
    assert ok["exposure_scale"] == pytest.approx(1 / 0.7)
    tinted = colorchecker.colour_errors(ideal * np.array([1.1, 1.0, 0.9]))
    assert tinted["mean"] > 2.0
    with pytest.raises(ValueError, match=r"\(24, 3\)"):
        colorchecker.colour_errors(np.ones((23, 3)))


def test_patch_means_read_the_rendered_chart():
    img = image_chart(lambda x, y: colorchecker.render(x, y, 192, 128), 192, 128, Lens())
    np.testing.assert_allclose(colorchecker.patch_means(img), colorchecker.patch_reflectance(),
                               atol=1e-6)  # fmt: skip
