"""The camera randomization of the camera networks' training images
(perception3d.data.image_augment)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from perception3d.data.image_augment import ImageAugmentConfig, augment_image

NEUTRAL = ImageAugmentConfig(
    exposure_range=(1.0, 1.0), white_balance_range=(1.0, 1.0), texture_probability=0.0,
    vignetting_probability=0.0, noise_probability=0.0, gamma_range=(2.2, 2.2),
    s_curve_range=(0.0, 0.0), contrast_range=(1.0, 1.0), saturation_range=(1.0, 1.0),
    blur_probability=0.0, chromatic_probability=0.0, downscale_probability=0.0,
    jpeg_probability=0.0,
)  # fmt: skip


def _image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (3, 24, 40)).astype(np.float32)


def test_same_generator_state_same_bytes_and_range():
    img = _image()
    a = augment_image(img, ImageAugmentConfig(), np.random.default_rng(7))
    b = augment_image(img, ImageAugmentConfig(), np.random.default_rng(7))
    c = augment_image(img, ImageAugmentConfig(), np.random.default_rng(8))
    assert a.tobytes() == b.tobytes() and a.tobytes() != c.tobytes()
    assert a.shape == img.shape and a.dtype == np.float32
    assert a.min() >= 0.0 and a.max() <= 1.0


def test_neutral_camera_returns_the_image_and_disabled_is_identity():
    img = _image()
    out = augment_image(img, NEUTRAL, np.random.default_rng(0))
    np.testing.assert_allclose(out, img, atol=1e-5)  # x ** 2.2 then ** (1 / 2.2)
    off = dataclasses.replace(ImageAugmentConfig(), enabled=False)
    assert augment_image(img, off, np.random.default_rng(0)) is img


def test_exposure_white_balance_and_noise_act_as_stated():
    grey = np.full((3, 32, 32), 0.5, np.float32)
    bright = dataclasses.replace(NEUTRAL, exposure_range=(2.0, 2.0))
    out = augment_image(grey, bright, np.random.default_rng(0))
    np.testing.assert_allclose(out, 0.5 * 2.0 ** (1 / 2.2), atol=1e-5)  # linear gain 2
    red = dataclasses.replace(NEUTRAL, white_balance_range=(1.2, 1.2))
    out = augment_image(grey, red, np.random.default_rng(0))
    assert out[0].mean() > 0.5 and out[2].mean() > 0.5 and abs(out[1].mean() - 0.5) < 1e-5
    noisy = dataclasses.replace(NEUTRAL, noise_probability=1.0, shot_noise_range=(4e-3, 4e-3),
                                read_noise_range=(1e-12, 1e-12))  # fmt: skip
    out = augment_image(grey, noisy, np.random.default_rng(0))
    # linear std sqrt(a x) at x = 0.5 ** 2.2, through the gamma's slope
    lin = 0.5**2.2
    expected = np.sqrt(4e-3 * lin) * (1 / 2.2) * lin ** (1 / 2.2 - 1)
    assert out.std() == pytest.approx(expected, rel=0.1)


def test_every_option_on_keeps_shape():
    all_on = dataclasses.replace(
        ImageAugmentConfig(), texture_probability=1.0, vignetting_probability=1.0,
        noise_probability=1.0, blur_probability=1.0, chromatic_probability=1.0,
        downscale_probability=1.0, jpeg_probability=1.0,
    )  # fmt: skip
    out = augment_image(_image(), all_on, np.random.default_rng(3))
    assert out.shape == (3, 24, 40) and np.isfinite(out).all()


def test_bad_input_and_config_are_named():
    with pytest.raises(ValueError, match=r"image_srgb must be \(3, H, W\)"):
        augment_image(np.zeros((24, 40), np.float32), ImageAugmentConfig(),
                      np.random.default_rng(0))  # fmt: skip
    with pytest.raises(ValueError, match="exposure_range"):
        ImageAugmentConfig(exposure_range=(2.0, 1.0))
    with pytest.raises(ValueError, match="jpeg_probability"):
        ImageAugmentConfig(jpeg_probability=1.5)
